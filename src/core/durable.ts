/**
 * The durable state of a replica: what `PersistOp`s accumulate into, and what a restarted replica
 * is rebuilt from. The simulator keeps one per replica in memory as its "disk"; real storage
 * applies the same ops transactionally, through the same `applyPersistOpTo`: what an op means is
 * defined here once.
 *
 * Application state is not persisted slot by slot: a restart restores the last stable
 * checkpoint's snapshot and re-executes the decided slots above it, which is deterministic.
 */
import type { Batch, CheckpointCert, DecisionCert, EpochLink, NewViewMsg, Signature, VoteCert } from './messages.ts';
import type { PersistOp } from './io.ts';

export interface DurableSlot {
  proposal?: { view: number; batch: Batch; sig: Signature };
  prepared?: VoteCert;
  commitSent?: { view: number; digest: Uint8Array };
  decided?: { cert: DecisionCert; batch: Batch | undefined };
}

export interface DurableState {
  view: number;
  normal: boolean;
  newView: NewViewMsg | undefined;
  checkpoint: { cert: CheckpointCert; snapshot: Uint8Array } | undefined;
  slots: Map<number, DurableSlot>;
  /** Proofs of the configurations after genesis, in epoch order. */
  links: EpochLink[];
}

export function emptyDurableState(): DurableState {
  return { view: 0, normal: true, newView: undefined, checkpoint: undefined, slots: new Map(), links: [] };
}

export type DurableCheckpoint = NonNullable<DurableState['checkpoint']>;

/** Where persist ops land: a `DurableState` in memory, or a storage transaction's records. */
export interface DurableTarget {
  /** The stored checkpoint's sequence number; undefined while there is none. */
  readonly checkpointSeq: number | undefined;
  setView(view: number, normal: boolean): void;
  setNewView(message: NewViewMsg): void;
  /** The record of `slot` (created empty if missing), changed in place. */
  slot(slot: number): DurableSlot;
  /** Stores the checkpoint and forgets every slot at or below its sequence number. */
  setCheckpoint(checkpoint: DurableCheckpoint): void;
  /** Appends the proof of the next epoch (one already stored is not stored twice). */
  addLink(link: EpochLink): void;
}

/** Applies one op. Ops below the stored checkpoint are ignored: that history is already folded in. */
export function applyPersistOpTo(target: DurableTarget, op: PersistOp): void {
  const stored = target.checkpointSeq;
  const low = stored ?? 0;
  switch (op.kind) {
    case 'view':
      return target.setView(op.view, op.normal);
    case 'new-view':
      return target.setNewView(op.message);
    case 'proposal':
      if (op.slot > low) target.slot(op.slot).proposal = { view: op.view, batch: op.batch, sig: op.sig };
      return;
    case 'prepared':
      if (op.cert.slot > low) target.slot(op.cert.slot).prepared = op.cert;
      return;
    case 'commit-sent':
      if (op.slot > low) target.slot(op.slot).commitSent = { view: op.view, digest: op.digest };
      return;
    case 'decided':
      if (op.cert.slot > low) target.slot(op.cert.slot).decided = { cert: op.cert, batch: op.batch };
      return;
    case 'checkpoint':
      // Checkpoints only move up (the first one is taken whatever its number).
      if (op.cert.seq <= low && stored !== undefined) return;
      return target.setCheckpoint({ cert: op.cert, snapshot: op.snapshot });
    case 'epoch-link':
      return target.addLink(op.link);
    default:
      throw new Error(`unknown persist op kind ${JSON.stringify((op as { kind: unknown }).kind)}`);
  }
}

/** `DurableState` as a target (a driver's in-memory disk keeps one, not one per op). */
export function memoryTarget(state: DurableState): DurableTarget {
  return {
    get checkpointSeq() {
      return state.checkpoint?.cert.seq;
    },
    setView(view, normal) {
      state.view = view;
      state.normal = normal;
    },
    setNewView(message) {
      state.newView = message;
    },
    slot(slot) {
      let s = state.slots.get(slot);
      if (!s) {
        s = {};
        state.slots.set(slot, s);
      }
      return s;
    },
    setCheckpoint(checkpoint) {
      state.checkpoint = checkpoint;
      for (const slot of [...state.slots.keys()]) if (slot <= checkpoint.cert.seq) state.slots.delete(slot);
    },
    addLink(link) {
      if (!state.links.some((l) => l.cert.epoch === link.cert.epoch)) state.links.push(link);
    },
  };
}

/** Applies one op to a `DurableState` in memory. */
export function applyPersistOp(state: DurableState, op: PersistOp): void {
  applyPersistOpTo(memoryTarget(state), op);
}
