/**
 * The replicated key-value store: a Map<string, string> driven only through `execute`.
 *
 * Snapshot format (canonical CBOR, see cbor.ts):
 *
 *   ['byzpax-kv', 1, [[key, value], ...]]
 *
 * with entries in strictly ascending UTF-8 byte order of the key (= code point order; NOT JS
 * `<`, which compares UTF-16 code units). Sorting makes the bytes a function of the contents
 * alone, whatever order the keys were inserted in, which is what lets replicas agree on a
 * checkpoint digest. The format string and version let a later format be refused clearly rather
 * than misread.
 */
import { bytesEqual, cborDecode, cborEncode } from './cbor.ts';
import { decodeKvCommand, encodeKvResult, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './kv-command.ts';
import type { KvCommand, KvResult } from './kv-command.ts';
import type { StateMachine, StateMachineFactory } from '../core/state-machine.ts';
import { compareUtf8, isBoundedString } from './utf8.ts';

export const KV_SNAPSHOT_FORMAT = 'byzpax-kv';
export const KV_SNAPSHOT_VERSION = 1;

/** Thrown by `KvStore.restore` for bytes that are not a valid snapshot. */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

export class KvStore implements StateMachine {
  #data = new Map<string, string>();

  /** Number of keys present. */
  get size(): number {
    return this.#data.size;
  }

  /** The current value of `key`, or null when absent. Inspection only: reads that must be linearizable go through `execute`. */
  get(key: string): string | null {
    return this.#data.get(key) ?? null;
  }

  execute(command: Uint8Array): Uint8Array {
    const c = decodeKvCommand(command);
    // Cannot throw: decodeKvCommand never throws, and every result carries either a reason from
    // the fixed list or a value that passed the same limits encodeKvResult checks.
    return encodeKvResult('error' in c ? c : this.#apply(c));
  }

  #apply(c: KvCommand): KvResult {
    const prev = this.#data.get(c.key) ?? null;
    switch (c.op) {
      case 'get':
        return { value: prev };
      case 'put':
        this.#data.set(c.key, c.value);
        return { value: prev };
      case 'delete':
        this.#data.delete(c.key);
        return { value: prev };
      case 'cas': {
        const ok = prev === c.expected;
        if (ok) this.#data.set(c.key, c.value);
        return { ok, value: prev };
      }
    }
  }

  snapshot(): Uint8Array {
    const entries = [...this.#data].sort((a, b) => compareUtf8(a[0], b[0]));
    return encodeSnapshot(entries);
  }

  /** Replaces the contents with a snapshot; on a SnapshotError the contents are left untouched. */
  restore(snapshot: Uint8Array): void {
    this.#data = parseSnapshot(snapshot);
  }
}

export const kvStoreFactory: StateMachineFactory = () => new KvStore();

function encodeSnapshot(sortedEntries: Iterable<[string, string]>): Uint8Array {
  return cborEncode([KV_SNAPSHOT_FORMAT, KV_SNAPSHOT_VERSION, [...sortedEntries]]);
}

/**
 * Validates everything before building the map, so a bad snapshot never half-applies. Accepts
 * exactly the bytes `snapshot()` can produce (checked by re-encoding), so after a restore the
 * store's own snapshot is byte-identical to, and has the same digest as, the one verified.
 */
function parseSnapshot(bytes: Uint8Array): Map<string, string> {
  if (!(bytes instanceof Uint8Array)) fail('not a Uint8Array');
  const decoded = cborDecode(bytes);
  if (!decoded.ok) fail('not exactly one well-formed CBOR item');
  const top = decoded.value;
  if (!Array.isArray(top) || top.length !== 3) fail('expected [format, version, entries]');
  const [format, version, entries]: unknown[] = top;
  if (format !== KV_SNAPSHOT_FORMAT) fail(`format is not '${KV_SNAPSHOT_FORMAT}'`);
  if (version !== KV_SNAPSHOT_VERSION) {
    fail(`unsupported version ${typeof version === 'number' ? version : typeof version} (expected ${KV_SNAPSHOT_VERSION})`);
  }
  if (!Array.isArray(entries)) fail('entries is not an array');

  const data = new Map<string, string>();
  let prevKey: string | null = null;
  for (let i = 0; i < entries.length; i++) {
    const entry: unknown = entries[i];
    if (!Array.isArray(entry) || entry.length !== 2) fail(`entry ${i} is not a [key, value] pair`);
    const [key, value]: unknown[] = entry;
    if (!isBoundedString(key, MAX_KEY_BYTES)) fail(`entry ${i} has an invalid key`);
    if (!isBoundedString(value, MAX_VALUE_BYTES)) fail(`entry ${i} has an invalid value`);
    // Strictly ascending also rules out duplicate keys.
    if (prevKey !== null && compareUtf8(prevKey, key) >= 0) {
      fail(`entry ${i}: keys not in strictly ascending UTF-8 order`);
    }
    data.set(key, value);
    prevKey = key;
  }
  if (!bytesEqual(encodeSnapshot(data), bytes)) fail('not canonically encoded');
  return data;
}

function fail(why: string): never {
  throw new SnapshotError(`invalid kv snapshot: ${why}`);
}
