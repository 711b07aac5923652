import type { DurableState } from '../core/durable.ts';
import type { PersistOp } from '../core/io.ts';

/** Where a replica keeps what it must never forget (see src/core/io.ts: persist before send). */
export interface ReplicaStorage {
  /** What was persisted before, or undefined for a brand-new (empty) store. */
  load(): DurableState | undefined;
  /** Applies the ops in order as ONE transaction; resolves only once it is durable on disk (fsync'd). */
  apply(ops: PersistOp[]): Promise<void>;
  /**
   * The same, synchronously: durable when it returns (throws StorageError on failure). Call it
   * only when no `apply` is still pending, so writes stay in order.
   */
  applyNow(ops: PersistOp[]): void;
  close(): Promise<void>;
}

export class StorageError extends Error {
  override name = 'StorageError';
}
