import { createHash } from 'node:crypto';

/** SHA-256 digest length in bytes. */
export const DIGEST_BYTES = 32;

/**
 * SHA-256 over the concatenation of `parts`, without materialising the concatenation.
 * Uses node:crypto (OpenSSL) because hashing sits on every message's hot path; returns a
 * plain 32-byte Uint8Array (see bytes.ts for why not a Buffer).
 */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
