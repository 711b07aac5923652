import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/crypto/bytes.ts';
import { nobleEd25519, nodeEd25519 } from '../../src/crypto/ed25519.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { deterministicKeyPair, generateKeyPair, keyPairFromSeed } from '../../src/crypto/keys.ts';
import { Signer } from '../../src/crypto/signer.ts';
import * as api from '../../src/crypto/index.ts';

const enc = new TextEncoder();

describe('keys', () => {
  it('deterministicKeyPair is stable across calls and differs by label', () => {
    const a1 = deterministicKeyPair('replica-0');
    const a2 = deterministicKeyPair('replica-0');
    const b = deterministicKeyPair('replica-1');
    expect(a1).toEqual(a2);
    expect(a1.seed).not.toBe(a2.seed); // fresh copies, not shared mutable state
    expect(toHex(a1.seed)).not.toBe(toHex(b.seed));
    expect(toHex(a1.publicKey)).not.toBe(toHex(b.publicKey));
  });

  it('deterministicKeyPair derives seed = sha256("byzpax-test-key/" + label)', () => {
    const kp = deterministicKeyPair('replica-0');
    expect(kp.seed).toEqual(sha256(enc.encode('byzpax-test-key/replica-0')));
    expect(kp.publicKey).toEqual(nobleEd25519.publicKey(kp.seed));
    // Pinned so that stored simulator fixtures cannot silently drift.
    expect(toHex(kp.seed)).toBe('f88db0b760a09935e667cda0343df6f54025e10445dfbb5ab4dd2f06996564c6');
    expect(toHex(kp.publicKey)).toBe('e84539021f2e3b0926d05d81ad4fa076c8d56e977f59d5631dc3fa91495884b4');
  });

  it('generateKeyPair yields fresh, consistent pairs with either backend', () => {
    const a = generateKeyPair();
    const b = generateKeyPair(nobleEd25519);
    expect(a.seed.length).toBe(32);
    expect(a.publicKey.length).toBe(32);
    expect(toHex(a.seed)).not.toBe(toHex(b.seed));
    expect(a.publicKey).toEqual(nodeEd25519.publicKey(a.seed));
    expect(b.publicKey).toEqual(nodeEd25519.publicKey(b.seed));
  });

  it('keyPairFromSeed copies the seed and validates its length', () => {
    const seed = new Uint8Array(32).fill(5);
    const kp = keyPairFromSeed(seed);
    seed.fill(0);
    expect(kp.seed).toEqual(new Uint8Array(32).fill(5));
    expect(kp.publicKey).toEqual(nodeEd25519.publicKey(kp.seed));
    expect(() => keyPairFromSeed(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});

describe('Signer', () => {
  it('counts signatures and produces verifiable ones', () => {
    const kp = deterministicKeyPair('signer');
    const s = new Signer(kp.seed);
    expect(s.signed).toBe(0);
    expect(s.publicKey).toEqual(kp.publicKey);
    const msgs = ['a', 'b', 'c'].map((t) => enc.encode(t));
    const sigs = msgs.map((m) => s.sign(m));
    expect(s.signed).toBe(3);
    msgs.forEach((m, i) => expect(nodeEd25519.verify(s.publicKey, m, sigs[i]!)).toBe(true));
  });

  it('a failed sign does not count', () => {
    const s = new Signer(deterministicKeyPair('signer').seed);
    expect(() => s.sign('oops' as unknown as Uint8Array)).toThrow();
    expect(s.signed).toBe(0);
  });

  it('keeps its own copy of the seed', () => {
    const seed = new Uint8Array(deterministicKeyPair('copy').seed);
    const s = new Signer(seed);
    const before = s.sign(enc.encode('m'));
    seed.fill(0);
    expect(s.sign(enc.encode('m'))).toEqual(before);
  });

  it('backends produce identical signers', () => {
    const seed = deterministicKeyPair('x').seed;
    const a = new Signer(seed, nodeEd25519);
    const b = new Signer(seed, nobleEd25519);
    expect(b.backend).toBe(nobleEd25519);
    expect(a.publicKey).toEqual(b.publicKey);
    expect(a.sign(enc.encode('hello'))).toEqual(b.sign(enc.encode('hello')));
  });

  it('rejects seeds that are not 32 bytes', () => {
    expect(() => new Signer(new Uint8Array(16))).toThrow(/32 bytes/);
  });
});

it('index re-exports the public API', () => {
  expect(Object.keys(api).sort()).toEqual(
    [
      'DEFAULT_VERIFIER_CACHE_ENTRIES',
      'DIGEST_BYTES',
      'PUBLIC_KEY_BYTES',
      'SEED_BYTES',
      'SIGNATURE_BYTES',
      'SignatureVerifier',
      'Signer',
      'bytesEqual',
      'concatBytes',
      'decodeCbor',
      'deterministicKeyPair',
      'ed25519Backend',
      'encodeCbor',
      'fromHex',
      'generateKeyPair',
      'keyPairFromSeed',
      'nobleEd25519',
      'nodeEd25519',
      'sha256',
      'toHex',
    ].sort(),
  );
});
