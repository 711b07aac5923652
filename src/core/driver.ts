/**
 * Carrying a node's outputs out: the one loop every driver runs (the simulator, Twins, the scripted
 * test harness, crash-recover's private disk, the replica process), against an injected disk,
 * network and observer. The order is the core's contract (io.ts):
 *
 *   1. persist   all of the step's ops, in order; durable first if one of them is a promise
 *                (`mustSyncBeforeSend`);
 *   2. send      messages to replicas, replies to clients, then any raw frames of an attacker;
 *   3. observe   events, then executed slots (a state transfer's event precedes the executions
 *                that continue from it).
 *
 * The replica process steps a batch of inputs before one storage transaction (group commit): it
 * runs the same two halves, `persistOf` over the batch and `release` of the batch, with its own
 * asynchronous write in between — the same code, not a copy.
 */
import { applyPersistOpTo, memoryTarget, type DurableState } from './durable.ts';
import { mustSyncBeforeSend, type ClientReply, type ExecutedSlot, type Input, type Outputs, type PersistOp, type ProtocolEvent, type Send } from './io.ts';
import type { ProtocolNode, RawFrame } from './node.ts';

export interface Disk {
  /** Applies `ops` in order; with `mustSync`, they are durable when this returns. */
  write(ops: readonly PersistOp[], mustSync: boolean): void;
}

export interface Network {
  send(send: Send): void;
  reply(reply: ClientReply): void;
  /** Frames an attacker wants on the wire as they are; drivers without a wire may leave them out. */
  raw?(frame: RawFrame): void;
}

export interface StepObserver {
  event?(event: ProtocolEvent): void;
  executed?(slot: ExecutedSlot): void;
}

export interface DriverIO {
  disk: Disk;
  network: Network;
  observer?: StepObserver | undefined;
}

/** The ops a batch of steps persists, and whether they must be durable before its messages leave. */
export function persistOf(batch: readonly Outputs[]): { ops: PersistOp[]; mustSync: boolean } {
  const ops = batch.length === 1 ? batch[0]!.persist : batch.flatMap((o) => o.persist);
  return { ops, mustSync: ops.some(mustSyncBeforeSend) };
}

/** Everything after persisting: sends, replies, raw frames, then what observers see. */
export function release(batch: readonly Outputs[], raw: readonly RawFrame[] | undefined, network: Network, observer: StepObserver | undefined): void {
  for (const out of batch) {
    for (const s of out.send) network.send(s);
    for (const r of out.replies) network.reply(r);
  }
  if (raw && network.raw) for (const r of raw) network.raw(r);
  if (!observer) return;
  for (const out of batch) {
    if (observer.event) for (const ev of out.events) observer.event(ev);
    if (observer.executed) for (const e of out.executed) observer.executed(e);
  }
}

/** Carries one step's outputs out, in the core's order (see the file comment). */
export function carryOut(outputs: Outputs, io: DriverIO, raw?: readonly RawFrame[]): void {
  if (outputs.persist.length > 0) io.disk.write(outputs.persist, outputs.persist.some(mustSyncBeforeSend));
  release([outputs], raw, io.network, io.observer);
}

/** Steps `node` and carries out what it produced, raw frames included. */
export function stepNode(node: ProtocolNode, input: Input, io: DriverIO): Outputs {
  const out = node.step(input);
  carryOut(out, io, node.takeRawFrames?.());
  return out;
}

/** A disk in memory (the simulator's, the harness's): every write is "durable" at once. */
export function memoryDisk(state: DurableState): Disk {
  const target = memoryTarget(state);
  return {
    write(ops) {
      for (const op of ops) applyPersistOpTo(target, op);
    },
  };
}
