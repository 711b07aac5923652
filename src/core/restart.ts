/**
 * Starting a replica is one call: the replica, and the outputs it must carry out before anything
 * else (on a restart from durable state: the re-executed slots, the re-sent VIEW-CHANGE or
 * NEW-VIEW). Drivers never have to remember a second channel for them.
 */
import type { DurableState } from './durable.ts';
import type { Outputs } from './io.ts';
import type { ProtocolNode, StartedNode } from './node.ts';
import { Replica, type ReplicaOptions } from './replica.ts';

export type ReplicaStartOptions = Omit<ReplicaOptions, 'durable'>;

/** A replica, fresh (`durable` undefined) or resuming from what it persisted, with its restart outputs. */
export function restartReplica(opts: ReplicaStartOptions, durable: DurableState | undefined): { replica: Replica; outputs: Outputs } {
  const replica = new Replica(durable ? { ...opts, durable } : opts);
  return { replica, outputs: replica.takeRestoreOutputs() };
}

/** The honest replica as a `ProtocolNode`. */
export class HonestNode implements ProtocolNode {
  readonly honest = true as const;
  constructor(readonly replica: Replica) {}
  get id(): number {
    return this.replica.id;
  }
  step(input: Parameters<Replica['step']>[0]): Outputs {
    return this.replica.step(input);
  }
  get view(): number {
    return this.replica.view;
  }
  get executed(): number {
    return this.replica.executed;
  }
  invariants(): string[] {
    return this.replica.invariants();
  }
}

export function startHonestNode(opts: ReplicaStartOptions, durable: DurableState | undefined): StartedNode<HonestNode> {
  const { replica, outputs } = restartReplica(opts, durable);
  return { node: new HonestNode(replica), outputs };
}
