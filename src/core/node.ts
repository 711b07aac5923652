/**
 * What a driver steps in a replica's place: the honest `Replica`, a Byzantine strategy
 * (src/faults), a silent node, a twin. Every driver — the simulator, Twins, the scripted test
 * harness, the replica process — knows nodes only through this interface, and carries their
 * outputs out with `carryOut` (driver.ts).
 */
import type { ReplicaId } from './config.ts';
import { emptyOutputs, type Input, type Outputs } from './io.ts';

/** Bytes to put on the wire exactly as they are (they may not decode at all: an attacker's frames). */
export interface RawFrame {
  to: ReplicaId | 'all';
  frame: Uint8Array;
}

export interface ProtocolNode {
  readonly id: ReplicaId;
  /** False for anything that does not run the honest protocol: checkers only watch honest nodes. */
  readonly honest: boolean;
  step(input: Input): Outputs;
  /** For checkers and status lines; a Byzantine node may claim anything. */
  readonly view: number;
  readonly executed: number;
  /** Frames the last steps want sent as they are; drivers take them after stepping. */
  takeRawFrames?(): RawFrame[];
  /** The node's own invariants that do not hold (src/core/invariants.ts); drivers check after every step. */
  invariants?(): string[];
}

/** A node together with what it produced while starting up (a restart re-announces its view). */
export interface StartedNode<N extends ProtocolNode = ProtocolNode> {
  node: N;
  outputs: Outputs;
}

/** Takes everything in and says nothing: a crashed replica that never returns, or one withholding every vote. */
export class SilentNode implements ProtocolNode {
  readonly honest = false as const;
  readonly view = 0;
  readonly executed = 0;
  constructor(readonly id: ReplicaId) {}
  step(): Outputs {
    return emptyOutputs();
  }
}
