/**
 * Certificates: `Auth.checkVoteCert` and `Auth.checkCheckpointCert` against forged certificates,
 * each refused with its specific reason; and a DECISION (a shipped commit certificate) at a
 * lagging replica, which executes only with a valid certificate. n = 4, f = 1, q = 3.
 */
import { describe, expect, it } from 'vitest';
import type { VoteCert } from '../../src/core/messages.ts';
import { batchDigest, Harness, kvResult } from './harness.ts';

const Q = 3;

describe('Auth.checkVoteCert', () => {
  const h = new Harness();
  const auth = h.r(1).auth; // a replica's own Auth: its config, its verifier
  const D = batchDigest([h.put(0, 'a', '1')]);
  const D2 = batchDigest([h.put(1, 'b', '1')]);
  const valid = (kind: 'accept' | 'commit' = 'commit') => h.voteCert(kind, 3, 7, D, [0, 1, 2]);

  it('a valid certificate (any q members, either kind) returns null', () => {
    expect(auth.checkVoteCert('commit', valid('commit'), Q)).toBeNull();
    expect(auth.checkVoteCert('accept', valid('accept'), Q)).toBeNull();
    expect(auth.checkVoteCert('commit', h.voteCert('commit', 3, 7, D, [3, 1, 0]), Q)).toBeNull();
    expect(auth.checkVoteCert('commit', h.voteCert('commit', 3, 7, D, [0, 1, 2, 3]), Q)).toBeNull();
  });

  it('a bad signature', () => {
    const c = valid();
    const forged: VoteCert = { ...c, sigs: [c.sigs[0]!, { from: 1, sig: h.voteSig('commit', 3, 3, 7, D) }, c.sigs[2]!] };
    expect(auth.checkVoteCert('commit', forged, Q)).toBe('commit certificate: bad signature from replica 1');
    const zero: VoteCert = { ...c, sigs: [c.sigs[0]!, c.sigs[1]!, { from: 2, sig: new Uint8Array(64) }] };
    expect(auth.checkVoteCert('commit', zero, Q)).toBe('commit certificate: bad signature from replica 2');
  });

  it('too few signatures', () => {
    expect(auth.checkVoteCert('commit', h.voteCert('commit', 3, 7, D, [0, 1]), Q)).toBe('commit certificate has 2 signatures, needs 3');
    expect(auth.checkVoteCert('accept', h.voteCert('accept', 3, 7, D, []), Q)).toBe('accept certificate has 0 signatures, needs 3');
  });

  it('a duplicated signer (q entries, q−1 replicas)', () => {
    const c = h.voteCert('commit', 3, 7, D, [0, 1, 1]);
    expect(auth.checkVoteCert('commit', c, Q)).toBe('certificate names replica 1 twice');
  });

  it('a non-member signer id', () => {
    const c = valid();
    const outsider: VoteCert = { ...c, sigs: [c.sigs[0]!, c.sigs[1]!, { from: 4, sig: c.sigs[2]!.sig }] };
    expect(auth.checkVoteCert('commit', outsider, Q)).toBe('certificate signer 4 is not a member of epoch 0');
  });

  it('a certificate whose view, slot or digest differs from what was signed', () => {
    expect(auth.checkVoteCert('commit', { ...valid(), view: 4 }, Q)).toBe('commit certificate: bad signature from replica 0');
    expect(auth.checkVoteCert('commit', { ...valid(), slot: 8 }, Q)).toBe('commit certificate: bad signature from replica 0');
    expect(auth.checkVoteCert('commit', { ...valid(), digest: D2 }, Q)).toBe('commit certificate: bad signature from replica 0');
  });

  it('an ACCEPT certificate presented as a COMMIT certificate, and the reverse', () => {
    expect(auth.checkVoteCert('commit', valid('accept'), Q)).toBe('commit certificate: bad signature from replica 0');
    expect(auth.checkVoteCert('accept', valid('commit'), Q)).toBe('accept certificate: bad signature from replica 0');
  });

  it('signatures made for another cluster id (same keys)', () => {
    const other = new Harness({ clusterId: 'another-cluster' });
    const foreign = other.voteCert('commit', 3, 7, D, [0, 1, 2]);
    expect(other.r(0).auth.checkVoteCert('commit', foreign, Q)).toBeNull(); // valid there
    expect(auth.checkVoteCert('commit', foreign, Q)).toBe('commit certificate: bad signature from replica 0');
  });
});

describe('Auth.checkCheckpointCert', () => {
  const h = new Harness({ params: { checkpointInterval: 4, window: 8 } });
  const auth = h.r(2).auth;
  const genesis = h.genesisDigest();
  const S = new Uint8Array(32).fill(7);
  const S2 = new Uint8Array(32).fill(8);

  it('a valid certificate returns null', () => {
    expect(auth.checkCheckpointCert(h.checkpointCert(4, S, [0, 1, 2]), Q, genesis)).toBeNull();
    expect(auth.checkCheckpointCert(h.checkpointCert(8, S, [1, 2, 3]), Q, genesis)).toBeNull();
  });

  it('a bad signature, too few, a duplicated signer, a non-member', () => {
    const c = h.checkpointCert(4, S, [0, 1, 2]);
    const bad = { ...c, sigs: [c.sigs[0]!, { from: 1, sig: h.sign(3, h.auth.statements.checkpoint(4, S)) }, c.sigs[2]!] };
    expect(auth.checkCheckpointCert(bad, Q, genesis)).toBe('checkpoint certificate: bad signature from replica 1');
    expect(auth.checkCheckpointCert(h.checkpointCert(4, S, [0, 1]), Q, genesis)).toBe('checkpoint certificate has 2 signatures, needs 3');
    expect(auth.checkCheckpointCert(h.checkpointCert(4, S, [2, 2, 0]), Q, genesis)).toBe('certificate names replica 2 twice');
    const outsider = { ...c, sigs: [...c.sigs.slice(0, 2), { from: 9, sig: c.sigs[2]!.sig }] };
    expect(auth.checkCheckpointCert(outsider, Q, genesis)).toBe('certificate signer 9 is not a member of epoch 0');
  });

  it('a certificate whose seq or digest differs from what was signed', () => {
    const c = h.checkpointCert(4, S, [0, 1, 2]);
    expect(auth.checkCheckpointCert({ ...c, seq: 8 }, Q, genesis)).toBe('checkpoint certificate: bad signature from replica 0');
    expect(auth.checkCheckpointCert({ ...c, stateDigest: S2 }, Q, genesis)).toBe('checkpoint certificate: bad signature from replica 0');
  });

  it('signatures made for another cluster id', () => {
    const other = new Harness({ clusterId: 'another-cluster', params: { checkpointInterval: 4, window: 8 } });
    expect(auth.checkCheckpointCert(other.checkpointCert(4, S, [0, 1, 2]), Q, genesis)).toBe('checkpoint certificate: bad signature from replica 0');
  });

  it('genesis rules: seq 0 is certified by the initial digest alone, with no signatures', () => {
    expect(auth.checkCheckpointCert({ epoch: 0, seq: 0, stateDigest: genesis, sigs: [] }, Q, genesis)).toBeNull();
    expect(auth.checkCheckpointCert({ epoch: 0, seq: 0, stateDigest: S, sigs: [] }, Q, genesis)).toBe('genesis checkpoint does not match the initial state');
    // Even q valid signatures do not make a different genesis state acceptable...
    expect(auth.checkCheckpointCert(h.checkpointCert(0, S, [0, 1, 2]), Q, genesis)).toBe('genesis checkpoint does not match the initial state');
    // ...and the right digest must come without signatures.
    expect(auth.checkCheckpointCert(h.checkpointCert(0, genesis, [0, 1, 2]), Q, genesis)).toBe('genesis checkpoint does not match the initial state');
    // Any other seq needs q signatures, even over the genesis digest.
    expect(auth.checkCheckpointCert({ epoch: 0, seq: 4, stateDigest: genesis, sigs: [] }, Q, genesis)).toBe('checkpoint certificate has 0 signatures, needs 3');
  });
});

describe('DECISION at a lagging replica', () => {
  /** Replicas 0–2 decide and execute slot 1 while replica 3 hears nothing. */
  function lagging() {
    const h = new Harness();
    const undo = h.isolate(3);
    const req = h.put(0, 'k', 'v');
    h.order(req);
    undo();
    expect(h.r(0).executed).toBe(1);
    expect(h.r(3).executed).toBe(0);
    const decided = h.persisted(0).find((p) => p.kind === 'decided');
    if (!decided || decided.kind !== 'decided') throw new Error('replica 0 did not persist its decision');
    return { h, req, cert: decided.cert };
  }

  it('the shipped commit certificate is valid, and with it the lagging replica executes', () => {
    const { h, req, cert } = lagging();
    expect(h.auth.checkVoteCert('commit', cert, Q)).toBeNull();
    const out = h.inject(3, h.decision(0, [req], cert));
    expect(out.events).toEqual([]);
    expect(out.executed.map((e) => e.slot)).toEqual([1]);
    expect(kvResult(out.executed[0]!.applied[0]!.result)).toEqual({ value: null });
    expect(out.persist.map((p) => p.kind)).toEqual(['decided']);
    expect(h.r(3).executed).toBe(1);
    expect(Buffer.from(h.r(3).stateDigest())).toEqual(Buffer.from(h.r(0).stateDigest()));
  });

  it('forged commit certificates are dropped with their reason and nothing executes', () => {
    const { h, req, cert } = lagging();
    const D = cert.digest;
    const cases: [VoteCert, string][] = [
      [h.voteCert('commit', 0, 1, D, [0, 1]), 'DECISION: commit certificate has 2 signatures, needs 3'],
      [h.voteCert('commit', 0, 1, D, [0, 0, 1]), 'DECISION: certificate names replica 0 twice'],
      [{ ...cert, sigs: [cert.sigs[0]!, cert.sigs[1]!, { from: 2, sig: h.voteSig('commit', 3, 0, 1, D) }] }, 'DECISION: commit certificate: bad signature from replica 2'],
      [h.voteCert('accept', 0, 1, D, [0, 1, 2]), 'DECISION: commit certificate: bad signature from replica 0'],
      [{ ...h.voteCert('commit', 5, 1, D, [0, 1, 2]), view: 0 }, 'DECISION: commit certificate: bad signature from replica 0'],
    ];
    for (const [forged, reason] of cases) {
      const out = h.inject(3, h.decision(0, [req], forged));
      expect(out.events).toEqual([{ type: 'drop', reason, from: 0 }]);
      expect(out.executed).toEqual([]);
      expect(out.persist).toEqual([]);
    }
    // A valid certificate for another batch than the one shipped.
    const other = [h.put(1, 'x', 'y')];
    const out = h.inject(3, h.decision(0, other, cert));
    expect(out.events).toEqual([{ type: 'drop', reason: 'DECISION whose batch does not match its certificate', from: 0 }]);
    expect(h.r(3).executed).toBe(0);
    expect(h.executed(3)).toEqual([]);

    // And the genuine one still works afterwards.
    expect(h.inject(3, h.decision(1, [req], cert)).executed.map((e) => e.slot)).toEqual([1]);
  });
});
