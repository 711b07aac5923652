import { nodeEd25519, type Ed25519Backend } from './ed25519.ts';

/**
 * Holds one replica's signing key. Keeps its own copy of the seed (private field, so it does
 * not show up in logs/inspection of the object) and counts signatures, which the simulator
 * and benchmarks use to account for crypto cost.
 */
export class Signer {
  readonly publicKey: Uint8Array;
  readonly backend: Ed25519Backend;
  readonly #seed: Uint8Array;
  #signed = 0;

  /** Throws unless `seed` is exactly 32 bytes. */
  constructor(seed: Uint8Array, backend: Ed25519Backend = nodeEd25519) {
    this.backend = backend;
    this.#seed = new Uint8Array(seed);
    this.publicKey = backend.publicKey(this.#seed);
  }

  /** Number of signatures produced by this signer. */
  get signed(): number {
    return this.#signed;
  }

  sign(message: Uint8Array): Uint8Array {
    const signature = this.backend.sign(this.#seed, message);
    this.#signed++; // counted only once a signature was actually produced
    return signature;
  }
}
