import { describe, expect, it } from 'vitest';
import {
  checkOperations,
  formatHistory,
  kvModel,
  registerModel,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
} from '../../src/check/index.ts';
import { op, pending } from './helpers.ts';

type RegOp = Operation<RegisterInput, RegisterOutput>;
const read = (c: number, call: number, ret: number, value: number | null): RegOp =>
  op(c, call, ret, { f: 'read' }, { value });
const write = (c: number, call: number, ret: number, value: number): RegOp =>
  op(c, call, ret, { f: 'write', value }, {});

/**
 * n mutually concurrent writes, reads pinning each value, then a read of a
 * value no one wrote: illegal, but only after exponentially many (linearised
 * set, state) pairs, so the budget tests have something to run out on.
 */
function hardHistory(n: number): RegOp[] {
  const ops: RegOp[] = [];
  for (let i = 0; i < n; i++) ops.push(write(i, i, 2 * n, i));
  for (let i = 0; i < n; i++) ops.push(read(n + i, n + i, n + i + 0.5, i));
  ops.push(read(2 * n, 2 * n + 1, 2 * n + 2, -1));
  return ops;
}

describe('checkOperations', () => {
  it('accepts the empty history', () => {
    expect(checkOperations(registerModel, [])).toEqual({ result: 'ok', partitions: 1, explored: 0 });
    expect(checkOperations(kvModel, [])).toEqual({ result: 'ok', partitions: 0, explored: 0 });
  });

  it('reports unknown, never ok, when the step budget runs out', () => {
    const ops = hardHistory(12);
    const capped = checkOperations(registerModel, ops, { maxSteps: 1000 });
    expect(capped.result).toBe('unknown');
    expect(capped.explored).toBeLessThanOrEqual(1001);
    expect(capped.failedPartition).toBeUndefined();
    expect(checkOperations(registerModel, ops).result).toBe('illegal');
  });

  it('reports unknown when the time budget runs out', () => {
    const started = performance.now();
    const r = checkOperations(registerModel, hardHistory(40), { timeoutMs: 50 });
    expect(r.result).toBe('unknown');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('reports an illegal partition found before the budget runs out', () => {
    // Key "a" is cheap and illegal; key "b" is hard. Smallest partitions go first.
    const hard = hardHistory(40).map((o, i) => ({
      ...o,
      input: o.input.f === 'write' ? { op: 'put' as const, key: 'b', value: String(o.input.value) } : { op: 'get' as const, key: 'b' },
      output: { value: null },
      clientId: i,
    }));
    const cheap = [op(100, 0, 1, { op: 'put' as const, key: 'a', value: 'v' }, { value: 'w' })];
    const r = checkOperations(kvModel, [...hard, ...cheap], { timeoutMs: 2000 });
    expect(r).toMatchObject({ result: 'illegal', partitions: 2, failedPartition: 1 });
  });

  it('handles hundreds of concurrent-ish operations quickly', () => {
    // 5 clients, 400 ops, each write overlapping the next few; generated from a
    // sequential execution so it is linearizable.
    const ops: RegOp[] = [];
    let value: number | null = null;
    for (let i = 0; i < 400; i++) {
      const call = i;
      const ret = i + 4.5; // overlaps the next four operations
      if (i % 3 === 0) {
        value = i;
        ops.push(write(i % 5, call, ret, i));
      } else {
        ops.push(read(i % 5, call, ret, value));
      }
    }
    const started = performance.now();
    expect(checkOperations(registerModel, ops).result).toBe('ok');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('rejects malformed intervals', () => {
    const w = (call: number, ret: number): RegOp => write(0, call, ret, 1);
    expect(() => checkOperations(registerModel, [w(2, 1)])).toThrow(RangeError);
    expect(() => checkOperations(registerModel, [w(Number.NaN, 1)])).toThrow(RangeError);
    expect(() => checkOperations(registerModel, [w(0, Number.NaN)])).toThrow(RangeError);
    expect(() => checkOperations(registerModel, [w(-Infinity, 1)])).toThrow(RangeError);
    expect(checkOperations(registerModel, [w(0, Infinity)]).result).toBe('ok');
  });

  it('does not depend on the order operations are listed in', () => {
    const ops = [write(0, 0, 10, 1), read(1, 1, 2, 1), read(2, 3, 4, null)];
    expect(checkOperations(registerModel, ops).result).toBe('illegal');
    expect(checkOperations(registerModel, [...ops].reverse()).result).toBe('illegal');
  });

  it('formats histories for diagnostics', () => {
    const text = formatHistory(
      [read(1, 3, 4, 2), pending<RegisterInput, RegisterOutput>(0, 0, { f: 'write', value: 2 })],
      registerModel.describe,
    );
    expect(text).toBe('[0, Infinity] client 0: write(2) -> ?\n[3, 4] client 1: read() -> 2');
  });
});
