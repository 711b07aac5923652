// Builders for adversarial Ed25519 inputs (small-order / mixed-order points, malleated and
// non-canonical encodings). Test-only helper; uses noble's point arithmetic directly.
import { createHash } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { concatBytes } from '../../src/crypto/bytes.ts';
import '../../src/crypto/ed25519.ts'; // wires noble's sync sha512

export const { Point } = ed;
export type Point = ed.Point;
export const L = Point.CURVE().n;
export const P = Point.CURVE().p;

export function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

export function fromLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

/** k = SHA-512(R || A || M) mod L, the RFC 8032 challenge. */
export function challenge(R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint {
  return fromLE(new Uint8Array(createHash('sha512').update(concatBytes(R, A, M)).digest())) % L;
}

/** A generator of the 8-torsion subgroup (a point of exact order 8). */
export const T8: Point = (() => {
  const inv8 = ed.etc.invert(8n, L);
  for (let y = 2n; ; y++) {
    let Q: Point;
    try {
      Q = Point.fromBytes(le32(y), false);
    } catch {
      continue;
    }
    // Strip the prime-order component: Q - [8^-1 mod L]([8]Q).
    const T = Q.subtract(Q.clearCofactor().multiply(inv8));
    if (!T.double().double().is0()) return T; // order exactly 8
  }
})();

/** [i]T8 for i = 0..7: every small-order point (i = 0 is the identity). */
export const torsion = (i: number): Point => (i === 0 ? Point.ZERO : T8.multiply(BigInt(i), false));

/** Canonical encodings of all 8 small-order points. */
export const SMALL_ORDER_ENCODINGS: Uint8Array[] = Array.from({ length: 8 }, (_, i) => torsion(i).toBytes());

export function secretScalar(seed: Uint8Array): bigint {
  return ed.utils.getExtendedPublicKey(seed).scalar;
}

/** Signature by secret scalar `a` with nonce point rB + extraR, over public key bytes `A`. */
export function craftSignature(
  a: bigint,
  A: Uint8Array,
  msg: Uint8Array,
  r: bigint,
  extraR: Point = Point.ZERO,
): Uint8Array {
  const R = Point.BASE.multiply(r).add(extraR).toBytes();
  const k = challenge(R, A, msg);
  return concatBytes(R, le32((r + k * a) % L));
}
