/**
 * Byte helpers shared by the crypto module and its callers.
 *
 * Everything here returns plain `Uint8Array`s (never Node `Buffer`s): a Buffer can be a view
 * into Node's shared 8 KiB allocation pool, and Buffer-vs-Uint8Array mismatches make deep
 * equality checks in tests and codecs fail in surprising ways.
 */

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Lower-case hex encoding. */
export function toHex(b: Uint8Array): string {
  // A Buffer view over the same memory: no copy, and Node's hex encoder is native.
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Strict hex decoding (either case). Throws on odd length or any non-hex character, because
 * `Buffer.from(s, 'hex')` silently truncates at the first bad character — a corrupted key or
 * signature in a config file must fail loudly, not decode to a shorter value.
 */
export function fromHex(s: string): Uint8Array {
  if (typeof s !== 'string') throw new TypeError('fromHex: expected a string');
  if (s.length % 2 !== 0) throw new Error(`fromHex: odd-length hex string (${s.length} chars)`);
  if (!HEX_RE.test(s)) throw new Error('fromHex: non-hex character in input');
  // Copy out of the (possibly pooled) Buffer into an exclusively owned array.
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/**
 * Byte-wise equality. NOT constant-time: use only on public data (hashes, public keys,
 * signatures), never to compare secrets.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Concatenates into a fresh array (never aliases an input, even for a single part). */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
