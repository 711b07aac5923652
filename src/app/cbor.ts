/**
 * The application layer's view of byzpax's one CBOR configuration (src/crypto/canonical-cbor.ts): every
 * replica encodes a value to the same bytes. Commands, results and snapshots are arrays with a
 * fixed field order, so no object-key ordering can leak into the bytes.
 */
import { decodeCbor, encodeCbor } from '../crypto/canonical-cbor.ts';

export { bytesEqual } from '../crypto/bytes.ts';

/** Encodes `value` to fresh bytes. */
export const cborEncode = encodeCbor;

/**
 * Decodes exactly one CBOR item spanning all of `bytes`; never throws. Callers must still
 * validate the shape and re-encode to check canonicity: cbor-x is lenient (accepts non-minimal
 * headers, indefinite lengths, tags, invalid UTF-8 replaced by U+FFFD).
 */
export function cborDecode(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: decodeCbor(bytes) };
  } catch {
    // Truncation, trailing bytes, unsupported constructs, even stack exhaustion on deep nesting.
    return { ok: false };
  }
}
