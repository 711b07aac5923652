/**
 * The one CBOR configuration the application layer uses, so every replica encodes a value to
 * the same bytes.
 *
 * - useRecords: false   records are a cbor-x extension (tag-based, stateful); we want plain CBOR
 *                       that any decoder reads.
 * - tagUint8Array: false  a Uint8Array is a plain CBOR byte string (major type 2); under Node,
 *                       cbor-x otherwise wraps it in tag 64.
 * - mapsAsObjects: true  maps decode to plain objects, not Map.
 * - variableMapSize: true  minimal-length map headers (preferred serialisation).
 *
 * Nothing canonical here uses maps: commands, results and snapshots are arrays with a fixed field
 * order, so no object-key ordering can leak into the bytes.
 */
import { Encoder } from 'cbor-x';

const codec = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  mapsAsObjects: true,
  variableMapSize: true,
});

/** Encodes `value` to fresh bytes. */
export function cborEncode(value: unknown): Uint8Array {
  // Copy: cbor-x hands back a Buffer view into its shared scratch buffer, which would pin that
  // buffer's memory for as long as the caller keeps the result.
  return new Uint8Array(codec.encode(value));
}

/**
 * Decodes exactly one CBOR item spanning all of `bytes`; never throws. Callers must still
 * validate the shape and re-encode to check canonicity: cbor-x is lenient (accepts non-minimal
 * headers, indefinite lengths, tags, invalid UTF-8 replaced by U+FFFD).
 */
export function cborDecode(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: codec.decode(bytes) as unknown };
  } catch {
    // Truncation, trailing bytes, unsupported constructs, even stack exhaustion on deep nesting.
    return { ok: false };
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
