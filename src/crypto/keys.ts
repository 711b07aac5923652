import { randomBytes } from 'node:crypto';
import { nodeEd25519, SEED_BYTES, type Ed25519Backend } from './ed25519.ts';
import { sha256 } from './hash.ts';

export interface KeyPair {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * Fresh random key pair (seed from the OS CSPRNG). For tooling and tests only: the protocol
 * core must stay deterministic and receives its keys from configuration.
 */
export function generateKeyPair(backend: Ed25519Backend = nodeEd25519): KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(SEED_BYTES)), backend);
}

/** Derives the public key; throws unless `seed` is exactly 32 bytes. The seed is copied. */
export function keyPairFromSeed(seed: Uint8Array, backend: Ed25519Backend = nodeEd25519): KeyPair {
  const own = new Uint8Array(seed); // caller may reuse/zero its buffer afterwards
  return { seed: own, publicKey: backend.publicKey(own) };
}

const DETERMINISTIC_PREFIX = 'byzpax-test-key/';
const utf8 = new TextEncoder();

/**
 * SIMULATION AND TESTS ONLY. seed = SHA-256("byzpax-test-key/" + label), so anyone who knows
 * the label knows the secret key. It exists so the deterministic simulator and tests get stable,
 * reproducible identities (e.g. label "replica-3") without key files; never use it for a real
 * deployment.
 */
export function deterministicKeyPair(label: string): KeyPair {
  return keyPairFromSeed(sha256(utf8.encode(DETERMINISTIC_PREFIX + label)));
}
