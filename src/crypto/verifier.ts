import { nodeEd25519, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type Ed25519Backend } from './ed25519.ts';
import { toHex } from './bytes.ts';
import { sha256 } from './hash.ts';
import { LruCache } from './lru.ts';

export interface VerifierStats {
  /** Signature checks actually run on the backend. */
  verified: number;
  /** Calls answered from the cache of earlier successes. */
  cacheHits: number;
  /** Calls that returned false (including malformed inputs rejected before the backend). */
  failures: number;
}

export interface SignatureVerifierOptions {
  backend?: Ed25519Backend;
  /** Maximum cached successful verifications; 0 disables caching. Default 65536. */
  cacheEntries?: number;
}

export const DEFAULT_VERIFIER_CACHE_ENTRIES = 65_536;

/**
 * Signature verification with a bounded cache of successes.
 *
 * Why a cache: Ed25519 signatures don't aggregate, so a certificate carries one signature per
 * voter, and the same vote is re-checked every time it reappears inside certificates, view
 * changes and new-view messages. In the in-process simulator a single verifier can also be
 * shared by all replicas, since verification is a pure function of (key, message, signature).
 *
 * The cache key is SHA-256(publicKey || signature || message). Key and signature have fixed
 * lengths (checked before hashing), so the concatenation is unambiguous and a hit means this
 * exact triple verified before. Only successes are cached: a failure must never be able to
 * turn into a success, and caching failures would let a peer flood the cache with garbage.
 */
export class SignatureVerifier {
  readonly backend: Ed25519Backend;
  readonly #cache: LruCache<string, true>;
  #verified = 0;
  #cacheHits = 0;
  #failures = 0;

  constructor(opts: SignatureVerifierOptions = {}) {
    this.backend = opts.backend ?? nodeEd25519;
    const entries = opts.cacheEntries ?? DEFAULT_VERIFIER_CACHE_ENTRIES;
    if (!Number.isSafeInteger(entries) || entries < 0) {
      throw new RangeError(`SignatureVerifier: cacheEntries must be a non-negative integer, got ${entries}`);
    }
    this.#cache = new LruCache(entries);
  }

  /** Never throws; malformed input returns false. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (
      !(publicKey instanceof Uint8Array) ||
      publicKey.length !== PUBLIC_KEY_BYTES ||
      !(signature instanceof Uint8Array) ||
      signature.length !== SIGNATURE_BYTES ||
      !(message instanceof Uint8Array)
    ) {
      this.#failures++;
      return false;
    }
    const key = toHex(sha256(publicKey, signature, message));
    if (this.#cache.get(key) === true) {
      this.#cacheHits++;
      return true;
    }
    this.#verified++;
    if (!this.backend.verify(publicKey, message, signature)) {
      this.#failures++;
      return false;
    }
    this.#cache.set(key, true);
    return true;
  }

  /** Snapshot of the counters (a copy: callers cannot reset or skew them). */
  get stats(): Readonly<VerifierStats> {
    return { verified: this.#verified, cacheHits: this.#cacheHits, failures: this.#failures };
  }

  /** Number of cached successes currently held (never exceeds cacheEntries). */
  get size(): number {
    return this.#cache.size;
  }

  /** Cache capacity this verifier was built with. */
  get capacity(): number {
    return this.#cache.capacity;
  }

  /** Drops cached successes (e.g. after a key rotation); counters are kept. */
  clear(): void {
    this.#cache.clear();
  }
}
