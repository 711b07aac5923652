import type { Operation } from './history.ts';

/**
 * A sequential specification of the object under test.
 *
 * `step` must be pure: the checker backtracks and re-applies steps from saved
 * states, so it must never mutate `state` in place.
 */
export interface Model<S, I, O> {
  /** The state before any operation. */
  init(): S;
  /**
   * Applies `input` to `state` and says whether `output` is what the object
   * may have returned. When `output` is undefined (the result is unknown), it
   * must return `ok: true` and the state after applying `input`.
   */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /**
   * A canonical encoding of `state`: equal states must give equal strings and
   * different states different strings. The checker treats equal hashes as
   * equal states when memoising, so a collision can hide a violation.
   */
  hash(state: S): string;
  /**
   * Splits a history into independent sub-histories (e.g. one per key). A
   * history is linearizable iff each part is (P-compositionality), and the
   * search is exponential in part size, so partitioning is the main speed-up.
   * Only valid if operations in different parts never affect each other.
   */
  partition?(ops: Operation<I, O>[]): Operation<I, O>[][];
  /** Human-readable rendering of one operation, for diagnostics. */
  describe?(input: I, output: O | undefined): string;
}
