import { describe, expect, it } from 'vitest';
import { nobleEd25519, nodeEd25519, type Ed25519Backend } from '../../src/crypto/ed25519.ts';
import { deterministicKeyPair } from '../../src/crypto/keys.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { DEFAULT_VERIFIER_CACHE_ENTRIES, SignatureVerifier } from '../../src/crypto/verifier.ts';

const enc = new TextEncoder();
const alice = new Signer(deterministicKeyPair('alice').seed);
const bob = new Signer(deterministicKeyPair('bob').seed);

function triple(signer: Signer, text: string): [Uint8Array, Uint8Array, Uint8Array] {
  const m = enc.encode(text);
  return [signer.publicKey, m, signer.sign(m)];
}

/** Counts calls that reach the backend, independently of the verifier's own stats. */
function countingBackend(inner: Ed25519Backend = nodeEd25519): Ed25519Backend & { calls: number } {
  const b = {
    name: inner.name,
    calls: 0,
    publicKey: (s: Uint8Array) => inner.publicKey(s),
    sign: (s: Uint8Array, m: Uint8Array) => inner.sign(s, m),
    verify(k: Uint8Array, m: Uint8Array, s: Uint8Array) {
      b.calls++;
      return inner.verify(k, m, s);
    },
  };
  return b;
}

describe('SignatureVerifier', () => {
  it('defaults', () => {
    const v = new SignatureVerifier();
    expect(v.backend).toBe(nodeEd25519);
    expect(v.capacity).toBe(DEFAULT_VERIFIER_CACHE_ENTRIES);
    expect(DEFAULT_VERIFIER_CACHE_ENTRIES).toBe(65536);
    expect(v.stats).toEqual({ verified: 0, cacheHits: 0, failures: 0 });
  });

  it('second verification of the same triple is a cache hit, also for equal copies', () => {
    const backend = countingBackend();
    const v = new SignatureVerifier({ backend });
    const [k, m, s] = triple(alice, 'vote 1');
    expect(v.verify(k, m, s)).toBe(true);
    expect(v.verify(k, m, s)).toBe(true);
    expect(v.verify(new Uint8Array(k), new Uint8Array(m), new Uint8Array(s))).toBe(true);
    expect(v.stats).toEqual({ verified: 1, cacheHits: 2, failures: 0 });
    expect(backend.calls).toBe(1);
    expect(v.size).toBe(1);
  });

  it('a tampered signature, message or key after a cached success still fails', () => {
    const v = new SignatureVerifier();
    const [k, m, s] = triple(alice, 'vote 2');
    expect(v.verify(k, m, s)).toBe(true);
    const badSig = new Uint8Array(s);
    badSig[10]! ^= 0x01;
    expect(v.verify(k, m, badSig)).toBe(false);
    expect(v.verify(k, enc.encode('vote 3'), s)).toBe(false);
    expect(v.verify(bob.publicKey, m, s)).toBe(false);
    expect(v.stats).toEqual({ verified: 4, cacheHits: 0, failures: 3 });
    expect(v.verify(k, m, s)).toBe(true); // the genuine one is still cached
    expect(v.stats.cacheHits).toBe(1);
  });

  it('failures are not cached', () => {
    const backend = countingBackend();
    const v = new SignatureVerifier({ backend });
    const [k, m, s] = triple(alice, 'vote 4');
    const bad = new Uint8Array(s);
    bad[0]! ^= 0x80;
    for (let i = 0; i < 3; i++) expect(v.verify(k, m, bad)).toBe(false);
    expect(v.stats).toEqual({ verified: 3, cacheHits: 0, failures: 3 });
    expect(backend.calls).toBe(3);
    expect(v.size).toBe(0);
  });

  it('malformed input is rejected without reaching the backend and without throwing', () => {
    const backend = countingBackend();
    const v = new SignatureVerifier({ backend });
    const [k, m, s] = triple(alice, 'vote 5');
    expect(v.verify(k.subarray(0, 31), m, s)).toBe(false);
    expect(v.verify(k, m, s.subarray(0, 63))).toBe(false);
    expect(v.verify(new Uint8Array(0), m, new Uint8Array(0))).toBe(false);
    expect((v.verify as (...a: unknown[]) => boolean)(k, 'not bytes', s)).toBe(false);
    expect((v.verify as (...a: unknown[]) => boolean)(null, m, s)).toBe(false);
    expect(backend.calls).toBe(0);
    expect(v.stats).toEqual({ verified: 0, cacheHits: 0, failures: 5 });
  });

  it('cache is bounded and evicts the least recently used entry', () => {
    const backend = countingBackend();
    const v = new SignatureVerifier({ backend, cacheEntries: 4 });
    const ts = Array.from({ length: 10 }, (_, i) => triple(alice, `vote ${i}`));
    for (const [k, m, s] of ts) {
      expect(v.verify(k, m, s)).toBe(true);
      expect(v.size).toBeLessThanOrEqual(4);
    }
    expect(v.size).toBe(4);
    expect(v.capacity).toBe(4);
    // Entries 6..9 are cached, 0..5 were evicted.
    const [k0, m0, s0] = ts[0]!;
    const [k9, m9, s9] = ts[9]!;
    expect(v.verify(k9, m9, s9)).toBe(true);
    expect(v.stats.cacheHits).toBe(1);
    expect(v.verify(k0, m0, s0)).toBe(true); // miss: re-verified, evicts the LRU (entry 6)
    expect(v.stats).toEqual({ verified: 11, cacheHits: 1, failures: 0 });
    // A hit refreshes recency: touch 7, insert 1 -> 8 is evicted, 7 survives.
    const [k7, m7, s7] = ts[7]!;
    const [k8, m8, s8] = ts[8]!;
    const [k1, m1, s1] = ts[1]!;
    v.verify(k7, m7, s7);
    v.verify(k1, m1, s1);
    const before = v.stats;
    v.verify(k7, m7, s7);
    expect(v.stats.cacheHits).toBe(before.cacheHits + 1);
    v.verify(k8, m8, s8);
    expect(v.stats.verified).toBe(before.verified + 1);
    expect(v.size).toBe(4);
  });

  it('cacheEntries 0 disables caching; invalid sizes are rejected', () => {
    const v = new SignatureVerifier({ cacheEntries: 0 });
    const [k, m, s] = triple(alice, 'vote x');
    expect(v.verify(k, m, s)).toBe(true);
    expect(v.verify(k, m, s)).toBe(true);
    expect(v.stats).toEqual({ verified: 2, cacheHits: 0, failures: 0 });
    expect(v.size).toBe(0);
    expect(() => new SignatureVerifier({ cacheEntries: -1 })).toThrow(RangeError);
    expect(() => new SignatureVerifier({ cacheEntries: 1.5 })).toThrow(RangeError);
  });

  it('stats is a snapshot that callers cannot tamper with', () => {
    const v = new SignatureVerifier();
    const [k, m, s] = triple(alice, 'vote y');
    v.verify(k, m, s);
    const st = v.stats as { verified: number };
    st.verified = 1000;
    expect(v.stats.verified).toBe(1);
  });

  it('clear() drops cached successes', () => {
    const v = new SignatureVerifier();
    const [k, m, s] = triple(alice, 'vote z');
    v.verify(k, m, s);
    v.clear();
    expect(v.size).toBe(0);
    v.verify(k, m, s);
    expect(v.stats).toEqual({ verified: 2, cacheHits: 0, failures: 0 });
  });

  it('works with the noble backend and across signers (shared verifier)', () => {
    const v = new SignatureVerifier({ backend: nobleEd25519 });
    const a = triple(alice, 'same text');
    const b = triple(bob, 'same text');
    expect(v.verify(...a)).toBe(true);
    expect(v.verify(...b)).toBe(true);
    expect(v.verify(a[0], a[1], b[2])).toBe(false);
    expect(v.stats).toEqual({ verified: 3, cacheHits: 0, failures: 1 });
  });
});
