import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bruteForceLinearizable,
  checkOperations,
  formatHistory,
  kvModel,
  registerModel,
  type KvInput,
  type KvOutput,
  type Model,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
} from '../../src/check/index.ts';

/**
 * Random histories, built three ways:
 * - sequential: every op takes effect at a random point inside its interval
 *   (pending ops: at a random point after their call, or never), outputs come
 *   from running them in that order, so the history is linearizable;
 * - mutated: a sequential history with one output replaced by a random one;
 * - random: every output random, so mostly not linearizable.
 * Outputs of the sequential runs come from a reference implementation written
 * here, independent of the models, so a model bug shows up too.
 */

type Mode = 'sequential' | 'mutated' | 'random';

interface Spec<I> {
  client: number;
  input: I;
  /** Idle time before the call, after the client's previous return. */
  gap: number;
  duration: number;
  pending: boolean;
  /** Where in its interval the op takes effect, in thousandths. */
  at: number;
  /** For a pending op: it never takes effect. */
  never: boolean;
  noise: { value: number; ok: boolean };
}

const specArb = <I>(input: fc.Arbitrary<I>): fc.Arbitrary<Spec<I>> =>
  fc.record({
    client: fc.nat(4),
    input,
    gap: fc.nat(3),
    duration: fc.nat(6),
    pending: fc.nat(5).map((n) => n === 0),
    at: fc.nat(1000),
    never: fc.boolean(),
    noise: fc.record({ value: fc.nat(2), ok: fc.boolean() }),
  });

const scenarioArb = <I>(input: fc.Arbitrary<I>, maxOps: number) =>
  fc.record({
    mode: fc.constantFrom<Mode>('sequential', 'mutated', 'random'),
    clients: fc.integer({ min: 2, max: 3 }),
    specs: fc.array(specArb(input), { minLength: 1, maxLength: maxOps }),
    victim: fc.nat(),
  });

/**
 * Sequential reference semantics: `run` applies an input to a state and
 * returns the true output; `noise` turns random numbers into an arbitrary
 * (usually wrong) output of the right shape.
 */
interface Reference<S, I, O> {
  init: () => S;
  run: (state: S, input: I) => { output: O; state: S };
  noise: (input: I, n: { value: number; ok: boolean }) => O;
}

function buildHistory<S, I, O>(
  ref: Reference<S, I, O>,
  scenario: { mode: Mode; clients: number; specs: Spec<I>[]; victim: number },
): Operation<I, O>[] {
  const clock = new Array<number>(scenario.clients).fill(0);
  const ops: Operation<I, O>[] = [];
  const points: number[] = [];
  for (const spec of scenario.specs) {
    const client = spec.client % scenario.clients;
    const call = clock[client]! + spec.gap;
    const ret = call + spec.duration;
    clock[client] = ret;
    const span = spec.pending ? 10 : ret - call;
    points.push(spec.pending && spec.never ? Infinity : call + (span * spec.at) / 1000);
    ops.push({
      clientId: client,
      input: spec.input,
      output: spec.pending ? undefined : ref.noise(spec.input, spec.noise),
      call,
      return: spec.pending ? Infinity : ret,
    });
  }
  if (scenario.mode === 'random') return ops;

  const order = ops.map((_, i) => i).sort((a, b) => points[a]! - points[b]! || a - b);
  let state = ref.init();
  for (const i of order) {
    if (points[i] === Infinity) continue;
    const op = ops[i]!;
    const r = ref.run(state, op.input);
    state = r.state;
    if (op.output !== undefined) op.output = r.output;
  }
  if (scenario.mode === 'mutated') {
    const victim = ops[scenario.victim % ops.length]!;
    const spec = scenario.specs[scenario.victim % ops.length]!;
    if (victim.output !== undefined) victim.output = ref.noise(victim.input, spec.noise);
  }
  return ops;
}

function compareWithOracle<S, I, O, RS>(
  model: Model<S, I, O>,
  ref: Reference<RS, I, O>,
  input: fc.Arbitrary<I>,
  numRuns: number,
): void {
  const tally = { ok: 0, illegal: 0 };
  fc.assert(
    fc.property(scenarioArb(input, 7), (scenario) => {
      const ops = buildHistory(ref, scenario);
      const expected = bruteForceLinearizable(model, ops);
      const actual = checkOperations(model, ops).result;
      const context = `mode ${scenario.mode}\n${formatHistory(ops, model.describe)}`;
      expect(actual, context).toBe(expected ? 'ok' : 'illegal');
      if (scenario.mode === 'sequential') expect(expected, context).toBe(true);
      tally[actual === 'ok' ? 'ok' : 'illegal']++;
    }),
    { numRuns },
  );
  // Guard against a generator that only ever produces one verdict.
  expect(tally.ok).toBeGreaterThan(numRuns / 5);
  expect(tally.illegal).toBeGreaterThan(numRuns / 5);
}

const values = ['a', 'b', null] as const;
const kvInputArb: fc.Arbitrary<KvInput> = fc.oneof(
  fc.record({ op: fc.constant('get' as const), key: fc.constantFrom('x', 'y') }),
  fc.record({ op: fc.constant('put' as const), key: fc.constantFrom('x', 'y'), value: fc.constantFrom('a', 'b') }),
  fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom('x', 'y') }),
  fc.record({
    op: fc.constant('cas' as const),
    key: fc.constantFrom('x', 'y'),
    expected: fc.constantFrom(...values),
    value: fc.constantFrom('a', 'b'),
  }),
);
/** Histories on a single key, for runs that want more contention. */
const kvOneKeyArb = kvInputArb.map((i) => ({ ...i, key: 'x' }));

const kvRef: Reference<Record<string, string | null>, KvInput, KvOutput> = {
  init: () => ({}),
  run(state, input) {
    const before = state[input.key] ?? null;
    const set = (v: string | null) => ({ ...state, [input.key]: v });
    switch (input.op) {
      case 'get':
        return { output: { value: before }, state };
      case 'put':
        return { output: { value: before }, state: set(input.value) };
      case 'delete':
        return { output: { value: before }, state: set(null) };
      case 'cas':
        return before === input.expected
          ? { output: { ok: true, value: before }, state: set(input.value) }
          : { output: { ok: false, value: before }, state };
    }
  },
  noise: (input, n) =>
    input.op === 'cas' ? { ok: n.ok, value: values[n.value]! } : { value: values[n.value]! },
};

const registerInputArb: fc.Arbitrary<RegisterInput> = fc.oneof(
  fc.constant({ f: 'read' as const }),
  fc.record({ f: fc.constant('write' as const), value: fc.nat(2) }),
  fc.record({ f: fc.constant('cas' as const), from: fc.nat(2), to: fc.nat(2) }),
);

const registerRef: Reference<number | null, RegisterInput, RegisterOutput> = {
  init: () => null,
  run(state, input) {
    switch (input.f) {
      case 'read':
        return { output: { value: state }, state };
      case 'write':
        return { output: {}, state: input.value };
      case 'cas':
        return state === input.from ? { output: { ok: true }, state: input.to } : { output: { ok: false }, state };
    }
  },
  noise: (input, n) =>
    input.f === 'read' ? { value: n.value === 2 ? null : n.value } : input.f === 'cas' ? { ok: n.ok } : {},
};

describe('checkOperations agrees with the brute-force oracle', () => {
  it('on key-value histories over one or two keys', () => {
    compareWithOracle(kvModel, kvRef, kvInputArb, 600);
  });

  it('on single-key key-value histories', () => {
    compareWithOracle(kvModel, kvRef, kvOneKeyArb, 400);
  });

  it('on register histories', () => {
    compareWithOracle(registerModel, registerRef, registerInputArb, 400);
  });
});

describe('checkOperations on larger generated histories', () => {
  it('accepts every history generated from a sequential execution', () => {
    fc.assert(
      fc.property(
        scenarioArb(kvInputArb, 80).map((s) => ({ ...s, mode: 'sequential' as const, clients: 5 })),
        (scenario) => {
          const ops = buildHistory(kvRef, scenario);
          expect(checkOperations(kvModel, ops, { timeoutMs: 10_000 }).result).toBe('ok');
        },
      ),
      { numRuns: 100 },
    );
  });
});
