import { isPending, validateOperations, type Operation } from './history.ts';
import type { Model } from './model.ts';

/** Beyond this the factorial search is too slow to be a practical oracle. */
const MAX_OPS = 10;

/**
 * Test oracle: tries every order of `ops` consistent with real time (A must
 * precede B if A.return < B.call) and asks whether one is a legal sequential
 * execution. Deliberately naive and independent of the real checker: no
 * partitioning, no memoisation, no linked list; pending operations (unknown
 * outcome) may be left out entirely rather than linearised last.
 */
export function bruteForceLinearizable<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): boolean {
  validateOperations(ops);
  if (ops.length > MAX_OPS) {
    throw new RangeError(`bruteForceLinearizable handles at most ${MAX_OPS} operations, got ${ops.length}`);
  }
  const used = ops.map(() => false);

  const search = (state: S): boolean => {
    // Done once only pending operations remain: they may never have happened.
    if (ops.every((op, i) => used[i] || isPending(op))) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const op = ops[i]!;
      // op can go next only if no unplaced operation finished before it began.
      const blocked = ops.some((other, j) => !used[j] && j !== i && other.return < op.call);
      if (blocked) continue;
      const next = model.step(state, op.input, op.output);
      if (!next.ok) continue;
      used[i] = true;
      const found = search(next.state);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };

  return search(model.init());
}
