/**
 * A recorded client operation, the unit of a concurrent history.
 *
 * `call` and `return` are timestamps on one clock shared by all clients (any
 * monotone numbering works, e.g. log line indices). Operation A precedes B in
 * real time iff `A.return < B.call`; equal times count as concurrent.
 *
 * `output === undefined` means the result is unknown. Combined with
 * `return === Infinity` it is Jepsen's `:info` (e.g. a timed-out write): the
 * operation may have taken effect at any instant after `call`, or never.
 * Linearising it after everything else is indistinguishable from "never" for
 * every observed result, so the checker simply treats it as an operation that
 * returns at +Infinity and whose step accepts any output.
 */
export interface Operation<I, O> {
  clientId: number;
  input: I;
  output: O | undefined;
  call: number;
  return: number;
}

/** True for an operation whose outcome is entirely unknown (Jepsen `:info`). */
export function isPending<I, O>(op: Operation<I, O>): boolean {
  return op.output === undefined && op.return === Infinity;
}

/**
 * Throws if an operation cannot appear in a real history. Checked up front
 * because a NaN or inverted interval would silently corrupt the real-time order
 * the search relies on and yield a wrong verdict rather than an error.
 */
export function validateOperations<I, O>(ops: readonly Operation<I, O>[]): void {
  ops.forEach((op, i) => {
    if (!Number.isFinite(op.call)) {
      throw new RangeError(`operation ${i}: call time must be finite, got ${op.call}`);
    }
    if (Number.isNaN(op.return) || op.return < op.call) {
      throw new RangeError(`operation ${i}: return time ${op.return} precedes call time ${op.call}`);
    }
  });
}

/** One line per operation, in call order; for failure messages and debugging. */
export function formatHistory<I, O>(
  ops: readonly Operation<I, O>[],
  describe: (input: I, output: O | undefined) => string = (input, output) =>
    `${JSON.stringify(input)} -> ${output === undefined ? '?' : JSON.stringify(output)}`,
): string {
  return [...ops]
    .sort((a, b) => a.call - b.call || a.return - b.return)
    .map((op) => `[${op.call}, ${op.return}] client ${op.clientId}: ${describe(op.input, op.output)}`)
    .join('\n');
}
