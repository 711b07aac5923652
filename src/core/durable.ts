/**
 * The durable state of a replica: what `PersistOp`s accumulate into, and what a restarted replica
 * is rebuilt from. The simulator keeps one per replica in memory as its "disk"; real storage
 * applies the same ops transactionally.
 *
 * Application state is not persisted slot by slot: a restart restores the last stable
 * checkpoint's snapshot and re-executes the decided slots above it, which is deterministic.
 */
import type { Batch, CheckpointCert, DecisionCert, NewViewMsg, Signature, VoteCert } from './messages.ts';
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
}

export function emptyDurableState(): DurableState {
  return { view: 0, normal: true, newView: undefined, checkpoint: undefined, slots: new Map() };
}

function slotOf(state: DurableState, slot: number): DurableSlot {
  let s = state.slots.get(slot);
  if (!s) {
    s = {};
    state.slots.set(slot, s);
  }
  return s;
}

/** Applies one op. Ops below the stored checkpoint are ignored: that history is already folded in. */
export function applyPersistOp(state: DurableState, op: PersistOp): void {
  const low = state.checkpoint?.cert.seq ?? 0;
  switch (op.kind) {
    case 'view':
      state.view = op.view;
      state.normal = op.normal;
      return;
    case 'new-view':
      state.newView = op.message;
      return;
    case 'proposal':
      if (op.slot > low) slotOf(state, op.slot).proposal = { view: op.view, batch: op.batch, sig: op.sig };
      return;
    case 'prepared':
      if (op.cert.slot > low) slotOf(state, op.cert.slot).prepared = op.cert;
      return;
    case 'commit-sent':
      if (op.slot > low) slotOf(state, op.slot).commitSent = { view: op.view, digest: op.digest };
      return;
    case 'decided':
      if (op.cert.slot > low) slotOf(state, op.cert.slot).decided = { cert: op.cert, batch: op.batch };
      return;
    case 'checkpoint':
      if (op.cert.seq <= low && state.checkpoint) return;
      state.checkpoint = { cert: op.cert, snapshot: op.snapshot };
      for (const slot of [...state.slots.keys()]) if (slot <= op.cert.seq) state.slots.delete(slot);
      return;
  }
}
