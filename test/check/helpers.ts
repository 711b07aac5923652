import type { Operation } from '../../src/check/index.ts';

/** Shorthand for a completed operation. */
export function op<I, O>(clientId: number, call: number, ret: number, input: I, output: O): Operation<I, O> {
  return { clientId, input, output, call, return: ret };
}

/** Shorthand for an operation with unknown outcome (Jepsen :info). */
export function pending<I, O>(clientId: number, call: number, input: I): Operation<I, O> {
  return { clientId, input, output: undefined, call, return: Infinity };
}
