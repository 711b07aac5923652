/**
 * Minimal bounded LRU map on top of `Map`'s insertion order: a hit re-inserts the entry at
 * the young end, and inserting into a full map evicts the oldest entry. Internal to the crypto
 * module; every cache here must be bounded because keys/signatures can come from the network,
 * and an unbounded cache would let a peer grow our memory without limit.
 */
export class LruCache<K, V> {
  readonly capacity: number;
  readonly #map = new Map<K, V>();

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`LruCache: capacity must be a non-negative integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Returns the cached value (refreshing its recency) or undefined. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, v);
    return v;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    if (this.#map.has(key)) {
      this.#map.delete(key);
    } else {
      while (this.#map.size >= this.capacity) {
        // Map iterates in insertion order, so the first key is the least recently used.
        const oldest = this.#map.keys().next();
        if (oldest.done === true) break;
        this.#map.delete(oldest.value);
      }
    }
    this.#map.set(key, value);
  }

  clear(): void {
    this.#map.clear();
  }
}
