/**
 * A deterministic application replicated by byzpax. Same commands in the same order => same
 * results and byte-identical snapshots on every replica.
 *
 * Replicas compare results and snapshot digests byte for byte (a client accepts f+1 matching
 * replies; a checkpoint needs 2f+1 matching digests), so "equal" here always means equal bytes,
 * never merely equivalent values. The core defines this contract; src/app implements it.
 */
export interface StateMachine {
  /**
   * Applies one ordered command and returns its result bytes. Must never throw, whatever the
   * bytes: a Byzantine client can get anything ordered, and a throw on one replica but not on
   * another (or on all of them, mid-batch) would stall or split the replicas. A malformed command
   * yields an error result instead, deterministically.
   */
  execute(command: Uint8Array): Uint8Array;
  /**
   * Canonical bytes of the whole state: identical on every replica with the same history
   * (sorted keys, no Map iteration order leaks), because checkpoints are agreed on by digest.
   */
  snapshot(): Uint8Array;
  /**
   * Replaces the state with a snapshot. Throws a clear Error on malformed snapshot bytes and then
   * leaves the state untouched (the caller verified the digest first, so a failure here means a
   * bug or a certified-but-hostile snapshot, and must not half-apply).
   */
  restore(snapshot: Uint8Array): void;
}

export type StateMachineFactory = () => StateMachine;
