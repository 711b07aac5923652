/**
 * The one CBOR encoder byzpax uses for everything it signs, hashes or sends. It sits with the
 * crypto primitives because it defines the exact bytes a signature or digest covers: the core
 * builds its statements with it, and every layer above encodes with the same configuration.
 *
 * Everything is encoded as CBOR arrays with a fixed field order (never maps), so the encoding of a
 * value is canonical by construction: there is no key order to disagree about. Byte strings are
 * plain CBOR byte strings (not cbor-x's typed-array tag 64), and records/structure sharing are off.
 */
import { Encoder } from 'cbor-x';

const encoder = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  mapsAsObjects: true,
  variableMapSize: true,
  // Structured clone and bundled strings are cbor-x extensions other implementations can't read.
  structuredClone: false,
  bundleStrings: false,
} as ConstructorParameters<typeof Encoder>[0]);

export function encodeCbor(value: unknown): Uint8Array {
  const out = encoder.encode(value);
  // cbor-x may hand back a Buffer that views a shared pool; copy so callers own their bytes.
  return new Uint8Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
}

/** Throws on malformed CBOR or trailing bytes. */
export function decodeCbor(bytes: Uint8Array): unknown {
  return encoder.decode(bytes);
}
