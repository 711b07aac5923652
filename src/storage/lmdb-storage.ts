/**
 * ReplicaStorage on LMDB (the `lmdb` package): a memory-mapped B+tree with ACID transactions, so
 * a batch of PersistOps is all-or-nothing across a crash and byzpax owns no file format.
 *
 * Layout, in one LMDB environment at `dir`:
 *   sub-db 'state': 'meta' {format, clusterId, replicaId} · 'view' {view, normal} ·
 *                   'new-view' NewViewMsg · 'checkpoint' {cert, snapshot}
 *   sub-db 'slots': slot number → DurableSlot. LMDB keys are ordered, so forgetting every slot at
 *                   or below a checkpoint is one short cursor walk from the start.
 * Values are CBOR (record-codec.ts). What an op means is the core's (`applyPersistOpTo` in
 * src/core/durable.ts, applied here to the transaction's records); the tests check the result
 * against the in-memory `applyPersistOp`.
 */
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { applyPersistOpTo, type DurableCheckpoint, type DurableSlot, type DurableState, type DurableTarget } from '../core/durable.ts';
import type { PersistOp } from '../core/io.ts';
import type { EpochLink, NewViewMsg } from '../core/messages.ts';
import { decodeRecord, encodeRecord } from './record-codec.ts';
import { StorageError, type ReplicaStorage } from './replica-storage.ts';

/** Bump when the layout or a record's shape changes incompatibly. */
const FORMAT_VERSION = 1;

const META = 'meta';
const VIEW = 'view';
const NEW_VIEW = 'new-view';
const CHECKPOINT = 'checkpoint';
const LINKS = 'epoch-links';

interface Meta {
  format: number;
  clusterId: string;
  replicaId: number;
}
interface ViewRecord {
  view: number;
  normal: boolean;
}
type CheckpointRecord = DurableCheckpoint;

type StateDb = Database<Uint8Array, string>;
type SlotsDb = Database<Uint8Array, number>;

export interface StorageIdentity {
  clusterId: string;
  replicaId: number;
}

/**
 * 'fsync' (the default): a write is on disk when `apply` resolves — safe against power loss.
 * 'os-cache': a write is in the operating system's page cache when `apply` resolves — it survives
 * the replica process being killed (kill -9, a crash) but not the machine losing power; the cost
 * of an fsync (~1–5 ms here) leaves every request's critical path. For benchmarks and for
 * clusters whose replicas never share a power domain; say which one a measurement used.
 */
export type Durability = 'fsync' | 'os-cache';

/**
 * Opens (creating if missing) the store in `dir`. The first open stamps it with `identity`; a
 * later open with another cluster id or replica id throws StorageError rather than let one
 * replica's votes be mixed into another's history.
 */
export async function openLmdbStorage(dir: string, identity: StorageIdentity, durability: Durability = 'fsync'): Promise<ReplicaStorage> {
  if (typeof identity.clusterId !== 'string' || !Number.isSafeInteger(identity.replicaId) || identity.replicaId < 0) {
    throw new StorageError(`invalid storage identity ${JSON.stringify(identity)}`);
  }
  mkdirSync(dir, { recursive: true });
  let env: RootDatabase<Uint8Array, string>;
  try {
    env = open<Uint8Array, string>({
      path: dir,
      // lmdb guesses "file, not directory" from a dot in the name (e.g. "replica.0"); we always want a directory.
      noSubdir: false,
      encoding: 'binary',
      // lmdb's Linux default (overlappingSync) resolves a commit before its fsync. Without it the
      // commit itself syncs, so a resolved transaction is on disk — what "persist before send" needs.
      overlappingSync: false,
      noSync: durability === 'os-cache',
    });
  } catch (e) {
    throw new StorageError(`cannot open replica storage in ${dir}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    const state: StateDb = env.openDB<Uint8Array, string>({ name: 'state', encoding: 'binary' });
    const slots: SlotsDb = env.openDB<Uint8Array, number>({ name: 'slots', encoding: 'binary' });
    await claim(dir, state, slots, identity);
    return new LmdbReplicaStorage(dir, env, state, slots);
  } catch (e) {
    await env.close();
    if (e instanceof StorageError) throw e;
    throw new StorageError(`cannot open replica storage in ${dir}: ${errorMessage(e)}`, { cause: e });
  }
}

/** Writes the meta record into a new store, or checks that an existing store is ours. */
async function claim(dir: string, state: StateDb, slots: SlotsDb, identity: StorageIdentity): Promise<void> {
  const mine: Meta = { format: FORMAT_VERSION, clusterId: identity.clusterId, replicaId: identity.replicaId };
  // Check-and-stamp in one write transaction, so two processes opening a new dir at once can't both stamp it.
  const stored = await state.transaction((): Meta | 'unstamped' => {
    const bytes = state.get(META);
    if (bytes) return decodeRecord<Meta>(bytes);
    if (state.getKeysCount() > 0 || slots.getKeysCount() > 0) return 'unstamped';
    state.putSync(META, encodeRecord(mine));
    return mine;
  });
  if (stored === 'unstamped') {
    throw new StorageError(`${dir} holds replica records but no identity record; refusing to use it`);
  }
  if (stored.format !== FORMAT_VERSION) {
    throw new StorageError(`${dir} has storage format ${String(stored.format)}; this build reads format ${FORMAT_VERSION}`);
  }
  if (stored.clusterId !== identity.clusterId || stored.replicaId !== identity.replicaId) {
    throw new StorageError(
      `${dir} belongs to cluster "${stored.clusterId}" replica ${stored.replicaId}, ` +
        `but was opened for cluster "${identity.clusterId}" replica ${identity.replicaId}; ` +
        `each replica needs its own data dir`,
    );
  }
}

class LmdbReplicaStorage implements ReplicaStorage {
  readonly #dir: string;
  readonly #env: RootDatabase<Uint8Array, string>;
  readonly #state: StateDb;
  readonly #slots: SlotsDb;
  #closed = false;
  readonly #pending = new Set<Promise<void>>();
  /**
   * The stored checkpoint's sequence number (null: none), read once: every transaction needs it
   * to drop records at or below it, and decoding the checkpoint record each time meant decoding
   * its snapshot on every write.
   */
  #checkpointSeq: number | null | undefined;

  constructor(dir: string, env: RootDatabase<Uint8Array, string>, state: StateDb, slots: SlotsDb) {
    this.#dir = dir;
    this.#env = env;
    this.#state = state;
    this.#slots = slots;
  }

  load(): DurableState | undefined {
    this.#assertOpen('load');
    // One read transaction: all records from the same commit.
    const transaction = this.#env.useReadTransaction();
    try {
      const get = <T>(key: string): T | undefined => {
        const bytes = this.#state.get(key, { transaction });
        return bytes === undefined ? undefined : decodeRecord<T>(bytes);
      };
      const view = get<ViewRecord>(VIEW);
      const newView = get<NewViewMsg>(NEW_VIEW);
      const checkpoint = get<CheckpointRecord>(CHECKPOINT);
      const links = get<EpochLink[]>(LINKS) ?? [];
      const slots = new Map<number, DurableSlot>();
      for (const { key, value } of this.#slots.getRange({ transaction })) slots.set(key, decodeRecord<DurableSlot>(value));
      if (!view && !newView && !checkpoint && slots.size === 0 && links.length === 0) return undefined;
      return { view: view?.view ?? 0, normal: view?.normal ?? true, newView, checkpoint, slots, links };
    } finally {
      transaction.done();
    }
  }

  apply(ops: PersistOp[]): Promise<void> {
    if (this.#closed) return Promise.reject(new StorageError(`replica storage in ${this.#dir} is closed`));
    // Async transactions queued in one event turn share one LMDB commit (group commit for free);
    // each callback still runs whole, in order, and the promise resolves after the synced commit.
    const done = this.#state.transaction(() => this.#applyInTxn(ops)).then(
      () => undefined,
      (e: unknown) => {
        throw e instanceof StorageError ? e : new StorageError(`apply failed in ${this.#dir}: ${errorMessage(e)}`, { cause: e });
      },
    );
    this.#pending.add(done);
    done.then(
      () => this.#pending.delete(done),
      () => this.#pending.delete(done),
    );
    return done;
  }

  applyNow(ops: PersistOp[]): void {
    if (this.#closed) throw new StorageError(`replica storage in ${this.#dir} is closed`);
    try {
      // Blocks the event loop for the commit and its fsync (~1 ms here): cheaper in CPU than an
      // async transaction, and the caller has nothing to send until the write is durable anyway.
      this.#state.transactionSync(() => this.#applyInTxn(ops));
    } catch (e) {
      throw e instanceof StorageError ? e : new StorageError(`apply failed in ${this.#dir}: ${errorMessage(e)}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
    await this.#env.close();
  }

  /**
   * Runs inside the write transaction. Everything is computed and encoded first and written last:
   * the callback shares its LMDB transaction with other queued callbacks, so one that threw halfway
   * through its writes would commit half a batch.
   */
  #applyInTxn(ops: PersistOp[]): void {
    let view: ViewRecord | undefined;
    let newView: NewViewMsg | undefined;
    if (this.#checkpointSeq === undefined) {
      const stored = this.#state.get(CHECKPOINT);
      this.#checkpointSeq = stored === undefined ? null : decodeRecord<CheckpointRecord>(stored).cert.seq;
    }
    let checkpointSeq = this.#checkpointSeq;
    let checkpoint: CheckpointRecord | undefined;
    let links: EpochLink[] | undefined;
    let truncateThrough: number | undefined;
    const touched = new Map<number, DurableSlot>();
    const slotOf = (slot: number): DurableSlot => {
      let s = touched.get(slot);
      if (!s) {
        const bytes = this.#slots.get(slot);
        s = bytes === undefined ? {} : decodeRecord<DurableSlot>(bytes);
        touched.set(slot, s);
      }
      return s;
    };

    const target: DurableTarget = {
      get checkpointSeq() {
        return checkpointSeq ?? undefined;
      },
      setView(v, normal) {
        view = { view: v, normal };
      },
      setNewView(message) {
        newView = message;
      },
      slot: slotOf,
      setCheckpoint(record) {
        checkpoint = record;
        checkpointSeq = truncateThrough = record.cert.seq;
        for (const slot of [...touched.keys()]) if (slot <= record.cert.seq) touched.delete(slot);
      },
      addLink: (link) => {
        // A membership change is rare: the whole (short) list is rewritten with the new proof.
        if (!links) {
          const stored = this.#state.get(LINKS);
          links = stored === undefined ? [] : decodeRecord<EpochLink[]>(stored);
        }
        if (!links.some((l) => l.cert.epoch === link.cert.epoch)) links.push(link);
      },
    };
    for (const op of ops) applyPersistOpTo(target, op);

    const writes: (() => void)[] = [];
    const putState = (key: string, value: unknown): void => {
      const bytes = encodeRecord(value);
      writes.push(() => this.#state.putSync(key, bytes));
    };
    if (view) putState(VIEW, view);
    if (newView) putState(NEW_VIEW, newView);
    if (checkpoint) putState(CHECKPOINT, checkpoint);
    if (links) putState(LINKS, links);
    if (truncateThrough !== undefined) {
      // Checkpoints only move up, so these are the few slots between the previous checkpoint and this one.
      const doomed = [...this.#slots.getKeys({ end: truncateThrough, inclusiveEnd: true })];
      writes.unshift(() => {
        for (const slot of doomed) this.#slots.removeSync(slot);
      });
    }
    for (const [slot, record] of touched) {
      const bytes = encodeRecord(record);
      writes.push(() => this.#slots.putSync(slot, bytes));
    }
    for (const write of writes) write();
    // Only now: an exception above aborts the transaction, and the cached value must not run ahead of it.
    this.#checkpointSeq = checkpointSeq;
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new StorageError(`cannot ${what}: replica storage in ${this.#dir} is closed`);
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
