/**
 * Shared types of the Byzantine strategy library (src/faults).
 *
 * A strategy is a replica that holds its REAL signing key and runs something other than the
 * honest protocol. It is a `ProtocolNode` (src/core/node.ts), so every driver runs it in a
 * replica's place; it touches no socket, clock or disk, so the same object runs in the simulator
 * and inside a live `ReplicaServer`: the driver feeds it the same `Input`s an honest replica gets
 * and carries out its `Outputs` with the same `carryOut`, raw frames included (malformed bytes,
 * which the `Message`-typed outputs cannot express).
 */
import type { StateMachine } from '../core/state-machine.ts';
import type { SignFn, VerifyFn } from '../core/auth.ts';
import type { ClusterConfig, ProtocolParams, ReplicaId } from '../core/config.ts';
import type { DurableState } from '../core/durable.ts';
import type { Outputs } from '../core/io.ts';
import type { ProtocolNode, RawFrame } from '../core/node.ts';
import type { ProposeMsg, ReplicaMessage } from '../core/messages.ts';

export const strategyNames = [
  'silent',
  'crash-recover',
  'equivocate',
  'double-vote',
  'lie-to-clients',
  'forge',
  'vc-lie',
  'stale-state',
  'slow-leader',
  'flood',
  'collude',
  'removed-member',
  'invalid-sigs',
] as const;

export type StrategyName = (typeof strategyNames)[number];

export function isStrategyName(x: string): x is StrategyName {
  return (strategyNames as readonly string[]).includes(x);
}

/**
 * A deterministic (in the simulator) or Math.random-backed (live) source of randomness: uniform in
 * [0, 1). The simulator's `Prng` satisfies it; a live process can pass `{ next: Math.random }`.
 */
export interface RandomSource {
  next(): number;
}

/** Knobs a driver may turn; every strategy has sensible defaults. */
export interface StrategyTuning {
  /** flood: junk frames per tick (kept small in the simulator so a run stays fast). */
  floodPerTick: number;
  /** flood: total junk frames over one incarnation of the node (a bound, for the simulator). */
  floodBudget: number;
  /** crash-recover: per-tick probability of crashing while up, and of recovering while down. */
  crashRate: number;
  recoverRate: number;
  /** slow-leader: release a held proposal this many ticks before a backup's request timer expires. */
  slowMarginTicks: number;
  /** forge: ticks between two forgeries (the honest protocol runs in between). */
  forgeEveryTicks: number;
}

export const defaultTuning: StrategyTuning = {
  floodPerTick: 3,
  floodBudget: 1500,
  crashRate: 1 / 150,
  recoverRate: 1 / 40,
  slowMarginTicks: 12,
  forgeEveryTicks: 3,
};

/** Everything a strategy is built from. */
export interface StrategyContext {
  /** The replica id it replaces. */
  id: ReplicaId;
  config: ClusterConfig;
  params: Partial<ProtocolParams>;
  /** The replica's REAL signing key: what it signs verifies under its public key. */
  signer: SignFn;
  verifier: VerifyFn;
  random: RandomSource;
  /** On a restart, what this replica had persisted before it stopped (as an honest replica would get it). */
  durable: DurableState | undefined;
  /** Present for every Byzantine node of a run; `collude` nodes coordinate through it, the others ignore it. */
  hub?: CollusionHub | undefined;
  /** The application for the embedded honest replica (default: the key-value store). */
  app?: (() => StateMachine) | undefined;
  tuning?: Partial<StrategyTuning> | undefined;
}

export type { RawFrame };

/** A Byzantine replica: a `ProtocolNode` that says which strategy it runs. */
export interface ByzantineNode extends ProtocolNode {
  readonly honest: false;
  readonly strategy: StrategyName;
  /** Outputs produced while (re)starting from durable state: taken once, by `startByzantineNode`. */
  takeStartOutputs?(): Outputs;
}

// ---------------------------------------------------------------------------------------------
// Collusion

/**
 * What colluders tell each other. Plain data made of protocol messages, so a live deployment could
 * carry notes as signed side-channel frames encoded with the ordinary codec.
 */
export type CollusionNote =
  /**
   * The colluding leader of `view` proposed `a` to `groupA` and `b` to `groupB` (correct replicas
   * only) for one slot: every colluder votes `a` to groupA and `b` to groupB, and reports `b` in its
   * VIEW-CHANGEs (with the leader's real signature as proof).
   */
  | { kind: 'split'; view: number; slot: number; a: ProposeMsg; b: ProposeMsg; groupA: ReplicaId[]; groupB: ReplicaId[] }
  /** A message one colluder received, shared with the others (VIEW-CHANGEs, proposals). */
  | { kind: 'seen'; message: ReplicaMessage };

/**
 * The colluders' shared blackboard. In the simulator every colluding node of one run gets the same
 * in-memory object; a live deployment could implement it over side-channel messages between the
 * colluding processes (not built here). Notes are delivered to every member except the author, in
 * publication order, each once.
 */
export interface CollusionHub {
  readonly members: readonly ReplicaId[];
  publish(from: ReplicaId, note: CollusionNote): void;
  /** Notes published by the other members since `member` last took them. */
  take(member: ReplicaId): CollusionNote[];
}
