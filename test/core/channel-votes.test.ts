/**
 * Votes from their authors' own channels are counted unchecked; signatures are checked when a
 * certificate becomes a promise or proof (src/core/channel-votes.ts). In each test replica 3 is
 * faulty and sends authentic frames whose signatures are invalid, trying to make the correct
 * replicas commit on, forward or lose a certificate that convinces nobody.
 */
import { describe, expect, it } from 'vitest';
import type { AcceptMsg, CommitMsg } from '../../src/core/messages.ts';
import type { Envelope } from './harness.ts';
import { Harness, batchDigest, hex } from './harness.ts';

function spoiled<M extends AcceptMsg | CommitMsg>(m: M): M {
  const sig = new Uint8Array(m.sig);
  sig[0]! ^= 0x01;
  return { ...m, sig };
}

/** Holds replica 3's votes of `type`; `spoilHeld` delivers them with invalid signatures on 3's own channel. */
function faultyVoter(h: Harness, type: 'accept' | 'commit'): { spoilHeld: () => void } {
  const is3 = (e: Envelope) => e.from === 3 && e.message.type === type;
  h.holdWhere(is3);
  return {
    spoilHeld: () => {
      for (const e of h.takeHeld(is3)) h.inject(e.to, spoiled(e.message as AcceptMsg | CommitMsg), 3);
    },
  };
}

const culprits = (h: Harness, id: number) => h.eventsOf(id, 'misbehaviour').map((e) => e.culprit);

describe('votes counted unchecked from their authors\' channels', () => {
  it('a fast certificate holding a spoiled ACCEPT decides and executes; a view change leaves it out, keeps the value, and finds the culprit', () => {
    const h = new Harness({ params: { mode: 'fast', commitPolicy: 'deferred', deferTicks: 50 } });
    const bad = faultyVoter(h, 'accept');
    const req = h.put(0, 'k', 'v');
    h.submit(req, 'all');
    h.deliverAll();
    bad.spoilHeld();
    h.deliverAll();
    for (const id of [0, 1, 2]) {
      const [e] = h.executed(id);
      expect(e?.cert.kind).toBe('fast');
      // Not proof: replica 3's signature in it is invalid.
      expect(h.auth.checkDecisionCert(e!.cert)).toBe('accept certificate: bad signature from replica 3');
    }
    h.clearRules();
    // Depose the leader: the VIEW-CHANGEs must not carry the spoiled certificate, yet keep slot 1.
    h.isolate(0);
    h.submit(h.put(1, 'after', 'x'), 'all');
    h.run(80);
    for (const id of [1, 2]) expect([h.r(id).view > 0, h.r(id).status]).toEqual([true, 'normal']);
    for (const id of [1, 2]) {
      const mine = h.sentBy(id, 'view-change').find((vc) => vc.from === id)!;
      expect(mine.slots.find((s) => s.slot === 1)?.decided).toBeUndefined();
      expect(mine.slots.find((s) => s.slot === 1)?.prepared?.sigs.map((s) => s.from)).toEqual([0, 1, 2]);
      expect(culprits(h, id)).toContain(3);
      expect(h.executed(id).map((e) => hex(e.digest))).toEqual([hex(batchDigest([req])), expect.any(String)]);
    }
  });

  it('no COMMIT rests on a prepare certificate with a spoiled ACCEPT: it waits for one that checks', () => {
    const h = new Harness(); // classic
    const bad = faultyVoter(h, 'accept');
    const from2to1 = (e: Envelope) => e.from === 2 && e.to === 1 && e.message.type === 'accept';
    h.holdWhere(from2to1);
    h.submit(h.put(0, 'k', 'v'), 'all');
    h.deliverAll();
    bad.spoilHeld(); // replica 1 now holds ACCEPTs from 0 (the proposal), itself and 3: q = 3
    h.deliverAll();
    expect(h.sentBy(1, 'commit')).toEqual([]);
    expect(culprits(h, 1)).toEqual([3]);
    h.release(from2to1);
    h.deliverAll();
    expect(h.sentBy(1, 'commit')).toHaveLength(1);
    const prepared = h.persisted(1).filter((p) => p.kind === 'prepared');
    expect(prepared.at(-1)?.kind === 'prepared' && prepared.at(-1)!.cert.sigs.map((s) => s.from)).toEqual([0, 1, 2]);
    for (const id of [0, 1, 2]) expect(h.r(id).executed).toBe(1);
  });

  it('a replica caught spoiling is checked on arrival from then on', () => {
    const h = new Harness();
    const bad = faultyVoter(h, 'accept');
    h.holdWhere((e) => e.from === 2 && e.to === 1 && e.message.type === 'accept');
    h.submit(h.put(0, 'k', 'v'), 'all');
    h.deliverAll();
    bad.spoilHeld();
    expect(culprits(h, 1)).toEqual([3]);
    const before = h.drops(1).filter((d) => d === 'ACCEPT with a bad signature').length;
    h.inject(1, spoiled(h.accept(3, 0, 2, batchDigest([]))), 3);
    expect(h.drops(1).filter((d) => d === 'ACCEPT with a bad signature')).toHaveLength(before + 1);
  });

  it('a vote naming another sender than the channel it came on is checked, and a forged one dropped', () => {
    const h = new Harness();
    const D = batchDigest([h.put(0, 'k', 'v')]);
    const out = h.inject(1, h.accept(2, 0, 1, D, 3), 3); // on 3's channel, claiming to be 2's, signed by 3
    expect(out.events).toEqual([{ type: 'drop', reason: 'ACCEPT with a bad signature', from: 2 }]);
  });

  it('a replica that missed a slot whose every certificate is spoiled catches up on f+1 DECISIONs, not on one', () => {
    const h = new Harness(); // classic: the certificates are {0, 1, 3} COMMITs
    const bad = faultyVoter(h, 'commit');
    const undo = h.isolate(2);
    const req = h.put(0, 'k', 'v');
    h.submit(req, 0);
    h.deliverAll();
    bad.spoilHeld();
    h.deliverAll();
    for (const id of [0, 1]) expect(h.r(id).executed).toBe(1);
    undo();
    h.clearRules();
    const shipped = (from: number) => h.sentBy(from, 'decision').filter((d) => d.cert.slot === 1).at(-1);
    h.step(0, { kind: 'message', message: h.status(2, 0, 0, 0), from: 2 });
    h.step(1, { kind: 'message', message: h.status(2, 0, 0, 0), from: 2 });
    const d0 = shipped(0)!;
    const d1 = shipped(1)!;
    expect(h.auth.checkDecisionCert(d0.cert)).toBe('commit certificate: bad signature from replica 3');
    h.takeHeld();
    const first = h.inject(2, d0, 0);
    expect(first.executed).toEqual([]);
    expect(h.drops(2)).toContain('DECISION: commit certificate: bad signature from replica 3');
    const second = h.inject(2, d1, 1);
    expect(second.executed.map((e) => [e.slot, e.attested, hex(e.digest)])).toEqual([[1, true, hex(batchDigest([req]))]]);
  });

  it('a decision taken on f+1 DECISIONs, restored from disk, blames nobody for the signature that fails in its certificate', () => {
    const h = new Harness();
    const req = h.put(0, 'k', 'v');
    const D = batchDigest([req]);
    const cert = h.decisionCert('commit', 0, 1, D, [0, 1, 3]);
    // Replica 1's signature spoiled in transit by whoever assembled the certificate: replica 1 is correct.
    const spoiledCert = { ...cert, sigs: cert.sigs.map((g) => (g.from === 1 ? { ...g, sig: spoiled({ sig: g.sig } as AcceptMsg).sig } : g)) };
    h.inject(2, h.decision(0, [req], spoiledCert), 0);
    const out = h.inject(2, h.decision(3, [req], spoiledCert), 3);
    expect(out.executed.map((e) => e.attested)).toEqual([true]);
    h.restart(2);
    h.step(2, { kind: 'message', message: h.status(3, 0, 0, 0), from: 3 });
    expect(h.sentBy(2, 'decision').length).toBeGreaterThan(0);
    expect(h.eventsOf(2, 'misbehaviour')).toEqual([]);
  });
});
