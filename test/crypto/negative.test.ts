import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as ed from '@noble/ed25519';
import { concatBytes, fromHex } from '../../src/crypto/bytes.ts';
import {
  ed25519Backend,
  nobleEd25519,
  nodeEd25519,
  PUBLIC_KEY_BYTES,
  SEED_BYTES,
  SIGNATURE_BYTES,
  type Ed25519Backend,
} from '../../src/crypto/ed25519.ts';
import {
  L,
  P,
  Point,
  SMALL_ORDER_ENCODINGS,
  T8,
  challenge,
  craftSignature,
  fromLE,
  le32,
  secretScalar,
} from './adversarial.ts';

const BACKENDS: Ed25519Backend[] = [nodeEd25519, nobleEd25519];
const seed = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
const pk = nodeEd25519.publicKey(seed);
const msg = new TextEncoder().encode('prepare view=7 slot=42');
const sig = nodeEd25519.sign(seed, msg);

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = new Uint8Array(b);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

/** Calls verify and fails the test if it throws. */
function verifies(backend: Ed25519Backend, ...args: unknown[]): boolean {
  return (backend.verify as (...a: unknown[]) => boolean)(...args);
}

it('constants', () => {
  expect([SEED_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES]).toEqual([32, 32, 64]);
});

describe.each(BACKENDS)('$name backend: rejections', (backend) => {
  it('accepts the untampered triple (baseline)', () => {
    expect(backend.verify(pk, msg, sig)).toBe(true);
  });

  it('any flipped bit in the signature -> false', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 511 }), (bit) => {
      expect(backend.verify(pk, msg, flipBit(sig, bit))).toBe(false);
    }), { numRuns: 128 });
  });

  it('any flipped bit in the message -> false', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: msg.length * 8 - 1 }), (bit) => {
      expect(backend.verify(pk, flipBit(msg, bit), sig)).toBe(false);
    }), { numRuns: 64 });
    expect(backend.verify(pk, concatBytes(msg, Uint8Array.of(0)), sig)).toBe(false);
    expect(backend.verify(pk, msg.subarray(1), sig)).toBe(false);
  });

  it('any flipped bit in the public key -> false', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), (bit) => {
      expect(backend.verify(flipBit(pk, bit), msg, sig)).toBe(false);
    }), { numRuns: 128 });
  });

  it('wrong lengths -> false, no throw', () => {
    const cases: Array<[Uint8Array, Uint8Array]> = [
      [pk.subarray(0, 31), sig],
      [concatBytes(pk, Uint8Array.of(0)), sig],
      [new Uint8Array(0), sig],
      [pk, sig.subarray(0, 63)],
      [pk, concatBytes(sig, Uint8Array.of(0))],
      [pk, new Uint8Array(0)],
      [new Uint8Array(0), new Uint8Array(0)],
    ];
    for (const [k, s] of cases) expect(verifies(backend, k, msg, s)).toBe(false);
  });

  it('non-byte arguments -> false, no throw', () => {
    const junk: unknown[] = [undefined, null, 'ab'.repeat(32), Array.from(pk), 42, {}];
    for (const j of junk) {
      expect(verifies(backend, j, msg, sig)).toBe(false);
      expect(verifies(backend, pk, j, sig)).toBe(false);
      expect(verifies(backend, pk, msg, j)).toBe(false);
    }
  });

  it('accepts Buffer views and subarrays of larger buffers', () => {
    const big = concatBytes(Uint8Array.of(9, 9, 9), sig, Uint8Array.of(9));
    expect(backend.verify(Buffer.from(pk), Buffer.from(msg), big.subarray(3, 67))).toBe(true);
  });

  it('garbage and non-canonical public key bytes -> false, no throw', () => {
    const garbage = [
      new Uint8Array(32).fill(0xff), // y >= p
      new Uint8Array(32).fill(0x7f),
      le32(2n), // y = 2 is not on the curve
      le32(P), // y = p, non-canonical encoding of y = 0
      le32(P + 1n), // non-canonical identity
      (() => { const b = le32(1n); b[31]! |= 0x80; return b; })(), // identity with "negative zero" x
    ];
    for (const g of garbage) expect(backend.verify(g, msg, sig)).toBe(false);
  });

  it('small-order public keys -> false, even for the trivial forgery R = identity, S = 0', () => {
    // With A of small order, [S]B - [k]A = identity whenever S = 0 and [k]A = 0: anyone could
    // "sign" anything. OpenSSL alone accepts A = identity here; the shared policy must not.
    const identity = Point.ZERO.toBytes();
    const forgery = concatBytes(identity, le32(0n));
    for (const A of SMALL_ORDER_ENCODINGS) expect(backend.verify(A, msg, forgery)).toBe(false);
    const negZeroIdentity = le32(1n);
    negZeroIdentity[31]! |= 0x80;
    expect(backend.verify(negZeroIdentity, msg, forgery)).toBe(false);
    expect(backend.verify(le32(P + 1n), msg, forgery)).toBe(false);
  });

  it('malleated S (S + L) -> false', () => {
    const S = fromLE(sig.subarray(32));
    expect(S + L < 2n ** 256n).toBe(true);
    expect(backend.verify(pk, msg, concatBytes(sig.subarray(0, 32), le32(S + L)))).toBe(false);
    expect(backend.verify(pk, msg, concatBytes(sig.subarray(0, 32), le32(L)))).toBe(false);
  });

  it('non-canonical R encoding -> false', () => {
    // R = identity encoded with y = p + 1, S chosen by the key owner so the equation holds.
    const a = secretScalar(seed);
    const Rnc = le32(P + 1n);
    const forged = concatBytes(Rnc, le32((challenge(Rnc, pk, msg) * a) % L));
    expect(backend.verify(pk, msg, forged)).toBe(false);
  });

  it('R with a torsion component (mixed order) -> false (cofactorless rule)', () => {
    const mixed = craftSignature(secretScalar(seed), pk, msg, 123456789n, T8);
    expect(backend.verify(pk, msg, mixed)).toBe(false);
  });

  it('seeds must be exactly 32 bytes for sign and publicKey', () => {
    for (const len of [0, 31, 33, 64]) {
      expect(() => backend.sign(new Uint8Array(len), msg)).toThrow(/32 bytes/);
      expect(() => backend.publicKey(new Uint8Array(len))).toThrow(/32 bytes/);
    }
  });
});

describe('backend policy', () => {
  it("exists because noble's own verify() would disagree with OpenSSL", () => {
    // If this starts failing, noble's default changed; re-check the header comment of ed25519.ts.
    const mixed = craftSignature(secretScalar(seed), pk, msg, 123456789n, T8);
    expect(ed.verify(mixed, msg, pk, { zip215: false })).toBe(true); // cofactored: accepts
    expect(nodeEd25519.verify(pk, msg, mixed)).toBe(false);
    expect(nobleEd25519.verify(pk, msg, mixed)).toBe(false);
  });

  it('a key owner may still sign with a small-order R; both backends accept it alike', () => {
    // Not a forgery (it needs the secret scalar), and consistent across backends.
    const a = secretScalar(seed);
    const R = Point.ZERO.toBytes();
    const s = concatBytes(R, le32((challenge(R, pk, msg) * a) % L));
    expect(nodeEd25519.verify(pk, msg, s)).toBe(true);
    expect(nobleEd25519.verify(pk, msg, s)).toBe(true);
  });

  it('ed25519Backend selects by name and rejects unknown names', () => {
    expect(ed25519Backend('node')).toBe(nodeEd25519);
    expect(ed25519Backend('noble')).toBe(nobleEd25519);
    expect(() => ed25519Backend('openssl' as 'node')).toThrow(/unknown ed25519 backend/);
    expect(nodeEd25519.name).toBe('node');
    expect(nobleEd25519.name).toBe('noble');
  });
});
