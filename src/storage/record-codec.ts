/**
 * How a stored record's value becomes bytes and back: the project's CBOR encoder (src/codec), so
 * storage has no file format of its own and handles exactly what the wire handles (byte strings,
 * integers up to 2^53-1, nested arrays/objects, `undefined`-valued fields).
 */
import { decodeCbor, encodeCbor } from '../crypto/canonical-cbor.ts';

export function encodeRecord(value: unknown): Uint8Array {
  return encodeCbor(value);
}

/**
 * Decodes and gives every byte string its own plain `Uint8Array`: cbor-x hands back Buffers that
 * view the input, and the input may be a buffer lmdb reuses, so a view could change under the caller.
 */
export function decodeRecord<T>(bytes: Uint8Array): T {
  return ownBytes(decodeCbor(bytes)) as T;
}

function ownBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(ownBytes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ownBytes(v)]));
  }
  return value;
}
