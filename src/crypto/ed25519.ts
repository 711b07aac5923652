/**
 * Ed25519 (RFC 8032, pure Ed25519) behind one interface with two interchangeable backends:
 *
 * - `nodeEd25519`: node:crypto / OpenSSL. The default and the hot path.
 * - `nobleEd25519`: @noble/ed25519 curve arithmetic. Portable pure-JS reference.
 *
 * Both MUST agree byte for byte: key derivation and signing are deterministic in RFC 8032, so
 * that part is automatic. Verification is not: RFC 8032 leaves implementations latitude, and out
 * of the box OpenSSL and noble disagree on adversarially crafted inputs (measured on Node 20):
 *
 *   - small-order public key A with R = identity, S = 0 (a universal forgery): OpenSSL accepts,
 *     noble (strict mode) rejects;
 *   - A = identity encoded with the x sign bit set (non-canonical): OpenSSL accepts, noble rejects;
 *   - R carrying a small-order (torsion) component: noble's cofactored equation accepts,
 *     OpenSSL's cofactorless equation rejects.
 *
 * In a BFT protocol that is a safety bug, not a curiosity: a Byzantine replica could craft a
 * vote that counts towards a quorum on replicas running one backend but not the other. So both
 * backends enforce ONE rule, the strict, libsodium-like profile:
 *
 *   1. public key is 32 bytes, signature 64 bytes;
 *   2. S is canonical (S < L, the group order);
 *   3. A decodes canonically (y < p, no "negative zero" x) and is not of small order;
 *   4. cofactorless equation with byte comparison: encode([S]B - [k]A) == R,
 *      where k = SHA-512(R || A || M) mod L. This also rejects non-canonical R encodings.
 *
 * OpenSSL implements (2) and (4) natively; (3) is checked here once per public key, at the
 * point where the key is imported into the key cache. The noble backend implements (4) itself
 * on noble's point arithmetic, because noble's own verify() is cofactored.
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes, toHex } from './bytes.ts';
import { LruCache } from './lru.ts';

export const SEED_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface Ed25519Backend {
  readonly name: 'node' | 'noble';
  /** 32-byte seed -> 32-byte public key. Throws if the seed is not exactly 32 bytes. */
  publicKey(seed: Uint8Array): Uint8Array;
  /** Deterministic 64-byte signature. Throws if the seed is not exactly 32 bytes. */
  sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** Never throws: malformed lengths, encodings or argument types return false. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

// noble v3 only ships async methods until a synchronous SHA-512 is wired in. This mutates the
// library's module-level config; leave any implementation someone else installed in place.
if (ed.hashes.sha512 === undefined) ed.hashes.sha512 = sha512;

/** Per-backend bound on cached key material (KeyObjects, decoded points). */
const KEY_CACHE_ENTRIES = 4096;

/** Ed25519 group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);
const L = ed.Point.CURVE().n;

function isBytes(x: unknown, len?: number): x is Uint8Array {
  return x instanceof Uint8Array && (len === undefined || x.length === len);
}

function requireSeed(seed: Uint8Array, op: string): void {
  if (!isBytes(seed)) throw new TypeError(`ed25519.${op}: seed must be a Uint8Array`);
  if (seed.length !== SEED_BYTES) {
    throw new Error(`ed25519.${op}: seed must be exactly ${SEED_BYTES} bytes, got ${seed.length}`);
  }
}

/** Rule 2: S (signature bytes 32..63, little-endian) must be < L. Rejects S+L malleability. */
function hasCanonicalS(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = L_LE[i]!;
    if (s !== l) return s < l;
  }
  return false; // S == L
}

/** Rule 3: strict decoding + small-order rejection. Returns null for unacceptable keys. */
function decodeAcceptableKey(publicKey: Uint8Array): ed.Point | null {
  try {
    // zip215=false: y must be < p and x=0 must not carry a sign bit (canonical encodings only).
    const A = ed.Point.fromBytes(publicKey, false);
    return A.isSmallOrder() ? null : A;
  } catch {
    return null; // not a point on the curve / non-canonical encoding
  }
}

function bytesToBigIntLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

// ---------------------------------------------------------------------------------------------
// node:crypto backend
// ---------------------------------------------------------------------------------------------

// Raw keys enter OpenSSL via DER: the fixed ASN.1 headers of PKCS#8 / SPKI for id-Ed25519.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// Building a KeyObject costs more than a signature check on small messages, and a replica signs
// with one key and verifies against n keys, so cache them (measured: ~2.3x faster verify). Keyed
// by hex of the raw bytes. The private-key cache keeps seeds resident for the process lifetime;
// acceptable because a replica holds its own seed for its whole life anyway.
const nodePrivateKeys = new LruCache<string, KeyObject>(KEY_CACHE_ENTRIES);
// null caches the rejection of an unacceptable public key, so garbage keys stay cheap too.
const nodePublicKeys = new LruCache<string, KeyObject | null>(KEY_CACHE_ENTRIES);

function nodePrivateKey(seed: Uint8Array): KeyObject {
  const id = toHex(seed);
  let key = nodePrivateKeys.get(id);
  if (key === undefined) {
    key = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, seed]),
      format: 'der',
      type: 'pkcs8',
    });
    nodePrivateKeys.set(id, key);
  }
  return key;
}

function nodePublicKey(publicKey: Uint8Array): KeyObject | null {
  const id = toHex(publicKey);
  let key = nodePublicKeys.get(id);
  if (key === undefined) {
    key =
      decodeAcceptableKey(publicKey) === null
        ? null
        : createPublicKey({
            key: Buffer.concat([SPKI_PREFIX, publicKey]),
            format: 'der',
            type: 'spki',
          });
    nodePublicKeys.set(id, key);
  }
  return key;
}

export const nodeEd25519: Ed25519Backend = Object.freeze({
  name: 'node' as const,

  publicKey(seed: Uint8Array): Uint8Array {
    requireSeed(seed, 'publicKey');
    const spki = createPublicKey(nodePrivateKey(seed)).export({ format: 'der', type: 'spki' });
    // SPKI for Ed25519 is the fixed 12-byte header followed by the raw 32-byte key.
    return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  },

  sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
    requireSeed(seed, 'sign');
    if (!isBytes(message)) throw new TypeError('ed25519.sign: message must be a Uint8Array');
    // null algorithm = pure Ed25519 (the key type determines the scheme).
    return new Uint8Array(cryptoSign(null, message, nodePrivateKey(seed)));
  },

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      if (!isBytes(publicKey, PUBLIC_KEY_BYTES) || !isBytes(signature, SIGNATURE_BYTES)) {
        return false;
      }
      if (!isBytes(message) || !hasCanonicalS(signature)) return false;
      const key = nodePublicKey(publicKey);
      if (key === null) return false;
      return cryptoVerify(null, message, key, signature);
    } catch {
      return false; // the contract is "never throws": any OpenSSL error is a rejection
    }
  },
});

// ---------------------------------------------------------------------------------------------
// @noble/ed25519 backend
// ---------------------------------------------------------------------------------------------

// Point decompression (a field square root) plus the small-order check dominate short
// verifications, so cache decoded keys like the node backend caches KeyObjects.
const noblePoints = new LruCache<string, ed.Point | null>(KEY_CACHE_ENTRIES);

function noblePoint(publicKey: Uint8Array): ed.Point | null {
  const id = toHex(publicKey);
  let A = noblePoints.get(id);
  if (A === undefined) {
    A = decodeAcceptableKey(publicKey);
    noblePoints.set(id, A);
  }
  return A;
}

export const nobleEd25519: Ed25519Backend = Object.freeze({
  name: 'noble' as const,

  publicKey(seed: Uint8Array): Uint8Array {
    requireSeed(seed, 'publicKey');
    return ed.getPublicKey(seed);
  },

  sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
    requireSeed(seed, 'sign');
    if (!isBytes(message)) throw new TypeError('ed25519.sign: message must be a Uint8Array');
    return ed.sign(message, seed);
  },

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      if (!isBytes(publicKey, PUBLIC_KEY_BYTES) || !isBytes(signature, SIGNATURE_BYTES)) {
        return false;
      }
      if (!isBytes(message) || !hasCanonicalS(signature)) return false;
      const A = noblePoint(publicKey);
      if (A === null) return false;
      const R = signature.subarray(0, 32);
      const S = bytesToBigIntLE(signature.subarray(32, 64));
      const k = ed.etc.mod(bytesToBigIntLE(sha512(concatBytes(R, publicKey, message))), L);
      // Cofactorless, like OpenSSL (see the header comment): [S]B - [k]A must re-encode to
      // exactly the R bytes. multiply(_, false) is the variable-time path, fine for public data.
      const check = ed.Point.BASE.multiply(S, false).subtract(A.multiply(k, false));
      return bytesEqual(check.toBytes(), R);
    } catch {
      return false;
    }
  },
});

/** Backend by name; throws on an unknown name (config typo should fail at startup). */
export function ed25519Backend(name: 'node' | 'noble'): Ed25519Backend {
  switch (name) {
    case 'node':
      return nodeEd25519;
    case 'noble':
      return nobleEd25519;
    default:
      throw new Error(`unknown ed25519 backend: ${String(name satisfies never)}`);
  }
}
