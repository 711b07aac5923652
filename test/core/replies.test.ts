/**
 * Replies signed once per slot: one signature covers every reply of a slot, each reply verifies
 * alone, and changing anything a reply vouches for — result, request, slot, view, position, tree
 * size, signer — makes it fail.
 */
import { describe, expect, it } from 'vitest';
import { Auth } from '../../src/core/auth.ts';
import type { ClusterConfig } from '../../src/core/config.ts';
import type { ReplyMsg } from '../../src/core/messages.ts';
import { signReplies, verifyReply } from '../../src/core/replies.ts';
import { deterministicKeyPair } from '../../src/crypto/keys.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';

const keys = [0, 1, 2, 3].map((i) => deterministicKeyPair(`replies-${i}`));
const config: ClusterConfig = {
  clusterId: 'replies-test',
  n: 4,
  f: 1,
  replicas: keys.map((k, id) => ({ id, publicKey: k.publicKey })),
  clients: [0, 1, 2, 3, 4].map((id) => ({ id, publicKey: deterministicKeyPair(`replies-client-${id}`).publicKey })),
};
const enc = (s: string) => new TextEncoder().encode(s);
const answers = [0, 1, 2, 3, 4].map((c) => ({ clientId: c, ts: 100 + c, result: enc(`result ${c}`) }));

function signerAuth(id: number): Auth {
  return new Auth(config, new Signer(keys[id]!.seed), new SignatureVerifier());
}

describe('replies signed once per slot', () => {
  it('one signature for all five replies of a slot; each verifies on its own', () => {
    const auth = signerAuth(2);
    const replies = signReplies(auth, 2, 7, 42, answers);
    expect(auth.counters.signed).toBe(1);
    expect(replies.map((r) => [r.clientId, r.ts, r.index, r.size, r.slot, r.view, r.from])).toEqual(answers.map((a, i) => [a.clientId, a.ts, i, 5, 42, 7, 2]));
    expect(new Set(replies.map((r) => Buffer.from(r.sig).toString('hex'))).size).toBe(1);
    const verifier = new SignatureVerifier();
    const checker = new Auth(config, new Signer(keys[0]!.seed), verifier);
    for (const r of replies) expect(verifyReply(checker, r)).toBe(true);
    // A client process with one verifier checks the slot's signature once for all its sessions.
    expect(verifier.stats).toMatchObject({ verified: 1, cacheHits: 4 });
  });

  it('changing what a reply vouches for makes it fail', () => {
    const [r] = signReplies(signerAuth(1), 1, 3, 9, answers).slice(3) as [ReplyMsg];
    const checker = signerAuth(0);
    expect(verifyReply(checker, r)).toBe(true);
    const tampered: [string, ReplyMsg][] = [
      ['result', { ...r, result: enc('a lie') }],
      ['client', { ...r, clientId: 4 }],
      ['request', { ...r, ts: r.ts + 1 }],
      ['slot', { ...r, slot: 10 }],
      ['view', { ...r, view: 4 }],
      ['index', { ...r, index: 2 }],
      ['size', { ...r, size: 6 }],
      ['size (same root shape)', { ...r, size: 4 }],
      ['path', { ...r, path: r.path.slice(1) }],
      ['signer', { ...r, from: 2 }],
    ];
    for (const [what, m] of tampered) expect([what, verifyReply(checker, m)]).toEqual([what, false]);
  });

  it('a slot without answers signs nothing', () => {
    const auth = signerAuth(0);
    expect(signReplies(auth, 0, 0, 1, [])).toEqual([]);
    expect(auth.counters.signed).toBe(0);
  });
});
