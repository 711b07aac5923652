import type { Operation } from './history.ts';
import type { Model } from './model.ts';

/** Operations on byzpax's key-value store. */
export type KvInput =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

/** get: the current value; put and delete: the previous value (null: absent). */
export interface KvValueOutput {
  value: string | null;
}

/** cas: swapped iff the current value equalled `expected`; `value` is the value before. */
export interface KvCasOutput {
  ok: boolean;
  value: string | null;
}

export type KvOutput = KvValueOutput | KvCasOutput;

/**
 * The whole store: key -> value, absent keys missing. Copied on write because
 * the checker keeps old states for backtracking. Modelling every key (rather
 * than the single key of a partition) keeps the model correct on unpartitioned
 * histories too, e.g. in the brute-force oracle.
 */
export type KvState = ReadonlyMap<string, string>;

function withValue(state: KvState, key: string, value: string | null): KvState {
  const next = new Map(state);
  if (value === null) next.delete(key);
  else next.set(key, value);
  return next;
}

function show(v: string | null): string {
  return v === null ? 'nil' : JSON.stringify(v);
}

export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => new Map(),

  step(state, input, output) {
    const current = state.get(input.key) ?? null;
    // Every operation reports the value it saw before acting.
    const sawCurrent = output === undefined || output.value === current;
    switch (input.op) {
      case 'get':
        return { ok: sawCurrent, state };
      case 'put':
        return { ok: sawCurrent, state: withValue(state, input.key, input.value) };
      case 'delete':
        return { ok: sawCurrent, state: withValue(state, input.key, null) };
      case 'cas': {
        const swapped = current === input.expected;
        const after = swapped ? withValue(state, input.key, input.value) : state;
        const okMatches = output === undefined || ('ok' in output && output.ok === swapped);
        return { ok: sawCurrent && okMatches, state: after };
      }
    }
  },

  // Sorted so equal stores hash equally whatever their insertion order.
  hash: (state) => JSON.stringify([...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),

  // Operations on different keys commute, so each key is checked on its own.
  partition(ops: Operation<KvInput, KvOutput>[]): Operation<KvInput, KvOutput>[][] {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) {
      const list = byKey.get(op.input.key);
      if (list) list.push(op);
      else byKey.set(op.input.key, [op]);
    }
    return [...byKey.values()];
  },

  describe(input, output) {
    const result = (): string => {
      if (output === undefined) return '?';
      if ('ok' in output) return `${output.ok ? 'ok' : 'fail'} (was ${show(output.value)})`;
      return show(output.value);
    };
    switch (input.op) {
      case 'get':
        return `get(${input.key}) -> ${result()}`;
      case 'put':
        return `put(${input.key}, ${show(input.value)}) -> ${result()}`;
      case 'delete':
        return `delete(${input.key}) -> ${result()}`;
      case 'cas':
        return `cas(${input.key}, ${show(input.expected)} => ${show(input.value)}) -> ${result()}`;
    }
  },
};
