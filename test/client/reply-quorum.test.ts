/**
 * The client's acceptance rule against lying replicas: a result counts only with f+1 matching,
 * correctly signed replies from distinct replicas; a liar cannot push a wrong result or a fake
 * view onto the client.
 */
import { describe, expect, it } from 'vitest';
import { ReplyQuorum } from '../../src/client/reply-quorum.ts';
import { Auth } from '../../src/core/auth.ts';
import type { ClusterConfig } from '../../src/core/config.ts';
import type { ReplyMsg } from '../../src/core/messages.ts';
import { signReplies } from '../../src/core/replies.ts';
import { deterministicKeyPair } from '../../src/crypto/keys.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';

const replicaKeys = [0, 1, 2, 3, 4, 5, 6].map((i) => deterministicKeyPair(`rq-replica-${i}`));
const clientKey = deterministicKeyPair('rq-client-0');
const config: ClusterConfig = {
  clusterId: 'reply-quorum-test',
  n: 7,
  f: 2,
  replicas: replicaKeys.map((k, id) => ({ id, publicKey: k.publicKey })),
  clients: [{ id: 0, publicKey: clientKey.publicKey }],
};
const signers = replicaKeys.map((k) => new Signer(k.seed));
const clientAuth = new Auth(config, new Signer(clientKey.seed), new SignatureVerifier());

function reply(from: number, o: { view?: number; slot?: number; result?: string; ts?: number; signAs?: number } = {}): ReplyMsg {
  const m = { view: o.view ?? 3, clientId: 0, ts: o.ts ?? 100, result: new TextEncoder().encode(o.result ?? 'right'), slot: o.slot ?? 9 };
  // Signed as replica `signAs` would sign its slot's replies (a one-leaf tree), then attributed to `from`.
  const signer = new Auth(config, signers[o.signAs ?? from]!, new SignatureVerifier());
  return { ...signReplies(signer, from, m.view, m.slot, [m])[0]!, from };
}

const quorum = () => new ReplyQuorum(clientAuth, 0, 100, config.f + 1);

describe('ReplyQuorum (f = 2: three matching replies)', () => {
  it('accepts on the third matching reply, not before', () => {
    const q = quorum();
    expect(q.add(reply(0)).kind).toBe('pending');
    expect(q.add(reply(1)).kind).toBe('pending');
    const v = q.add(reply(2));
    expect(v).toMatchObject({ kind: 'accepted', slot: 9, view: 3 });
    expect(new TextDecoder().decode((v as { result: Uint8Array }).result)).toBe('right');
  });

  it('f colluding liars with one wrong answer do not reach a quorum; the correct answer still wins', () => {
    const q = quorum();
    expect(q.add(reply(5, { result: 'wrong' })).kind).toBe('pending');
    expect(q.add(reply(6, { result: 'wrong' })).kind).toBe('pending');
    expect(q.add(reply(0)).kind).toBe('pending');
    expect(q.add(reply(1)).kind).toBe('pending');
    expect(q.add(reply(2))).toMatchObject({ kind: 'accepted' });
  });

  it('the same result claimed for another slot does not match', () => {
    const q = quorum();
    q.add(reply(5, { slot: 10 }));
    q.add(reply(6, { slot: 10 }));
    expect(q.add(reply(0)).kind).toBe('pending');
  });

  it('rejects a second reply from one replica, a forged signature, an unknown replica, another request', () => {
    const q = quorum();
    q.add(reply(0));
    expect(q.add(reply(0))).toEqual({ kind: 'rejected', reason: 'second reply from the same replica' });
    expect(q.add(reply(1, { signAs: 5 }))).toEqual({ kind: 'rejected', reason: 'reply with a bad signature' });
    expect(q.add({ ...reply(1), from: 9 })).toEqual({ kind: 'rejected', reason: 'reply from unknown replica 9' });
    expect(q.add(reply(2, { ts: 99 }))).toEqual({ kind: 'rejected', reason: 'reply for another request' });
    // None of the rejected ones counted: two more genuine replies are still needed.
    expect(q.add(reply(1)).kind).toBe('pending');
    expect(q.add(reply(2)).kind).toBe('accepted');
  });

  it('liars claiming a huge view cannot redirect the client: the view is one f+1 replies reached', () => {
    const q = quorum();
    q.add(reply(5, { view: 1_000_000 }));
    q.add(reply(6, { view: 1_000_000 }));
    q.add(reply(0, { view: 3 }));
    q.add(reply(1, { view: 4 }));
    expect(q.add(reply(2, { view: 3 }))).toMatchObject({ kind: 'accepted', view: 4 });
  });
});

describe('ReplyQuorum with replies from their senders\' own channels (checked when they decide)', () => {
  it('checks only the deciding f+1 signatures; an unsigned reply among them is refused and the next good one completes the quorum', () => {
    const verifier = new SignatureVerifier({ cacheEntries: 0 });
    const q = new ReplyQuorum(new Auth(config, new Signer(clientKey.seed), verifier), 0, 100, config.f + 1);
    const forged = { ...reply(1), sig: new Uint8Array(64) };
    expect(q.add(reply(0), true).kind).toBe('pending');
    expect(q.add(forged, true).kind).toBe('pending');
    expect(verifier.stats.verified + verifier.stats.failures).toBe(0); // nothing checked yet
    expect(q.add(reply(2), true)).toEqual({ kind: 'rejected', reason: 'reply with a bad signature' });
    expect(q.add(reply(1), true)).toEqual({ kind: 'rejected', reason: 'second reply from the same replica' });
    expect(q.add(reply(3), true)).toMatchObject({ kind: 'accepted', slot: 9, view: 3 });
    expect(verifier.stats.verified).toBe(4); // 0, 1 (bad), 2, 3: never the replies that decide nothing
  });

  it('without a channel vouching for the sender, a reply in another replica\'s name is refused on arrival and does not take its place', () => {
    const q = quorum();
    expect(q.add(reply(1, { signAs: 5 }))).toEqual({ kind: 'rejected', reason: 'reply with a bad signature' });
    expect(q.add(reply(0)).kind).toBe('pending');
    expect(q.add(reply(1)).kind).toBe('pending');
    expect(q.add(reply(2))).toMatchObject({ kind: 'accepted' });
  });
});
