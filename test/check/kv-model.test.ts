import { describe, expect, it } from 'vitest';
import {
  bruteForceLinearizable,
  checkOperations,
  kvModel,
  type KvInput,
  type KvOutput,
  type Operation,
} from '../../src/check/index.ts';
import { op, pending } from './helpers.ts';

type KvOp = Operation<KvInput, KvOutput>;
const get = (c: number, call: number, ret: number, key: string, value: string | null): KvOp =>
  op(c, call, ret, { op: 'get', key }, { value });
const put = (c: number, call: number, ret: number, key: string, value: string, prev: string | null): KvOp =>
  op(c, call, ret, { op: 'put', key, value }, { value: prev });
const del = (c: number, call: number, ret: number, key: string, prev: string | null): KvOp =>
  op(c, call, ret, { op: 'delete', key }, { value: prev });
const cas = (
  c: number,
  call: number,
  ret: number,
  key: string,
  expected: string | null,
  value: string,
  ok: boolean,
  prev: string | null,
): KvOp => op(c, call, ret, { op: 'cas', key, expected, value }, { ok, value: prev });

const unpartitioned = { ...kvModel, partition: undefined };

/** Partitioned checker, unpartitioned checker and oracle must all agree. */
function verdict(ops: KvOp[]): 'ok' | 'illegal' | 'unknown' {
  const { result } = checkOperations(kvModel, ops);
  expect(checkOperations(unpartitioned, ops).result).toBe(result);
  if (ops.length <= 8) expect(result === 'ok').toBe(bruteForceLinearizable(kvModel, ops));
  return result;
}

describe('kv model', () => {
  it('rejects a stale get after a completed put', () => {
    expect(verdict([put(0, 0, 1, 'k', 'a', null), get(1, 2, 3, 'k', null)])).toBe('illegal');
    expect(verdict([put(0, 0, 1, 'k', 'a', null), get(1, 2, 3, 'k', 'a')])).toBe('ok');
  });

  it('accepts a get concurrent with a put in either order', () => {
    expect(verdict([put(0, 0, 4, 'k', 'a', null), get(1, 1, 2, 'k', null)])).toBe('ok');
    expect(verdict([put(0, 0, 4, 'k', 'a', null), get(1, 1, 2, 'k', 'a')])).toBe('ok');
  });

  it('makes put and delete return the previous value', () => {
    expect(verdict([put(0, 0, 1, 'k', 'a', null), put(0, 2, 3, 'k', 'b', 'a'), del(0, 4, 5, 'k', 'b')])).toBe('ok');
    expect(verdict([put(0, 0, 1, 'k', 'a', null), put(0, 2, 3, 'k', 'b', null)])).toBe('illegal');
    expect(verdict([put(0, 0, 1, 'k', 'a', null), del(0, 2, 3, 'k', null)])).toBe('illegal');
    expect(verdict([put(0, 0, 1, 'k', 'a', null), del(0, 2, 3, 'k', 'a'), get(0, 4, 5, 'k', null)])).toBe('ok');
    expect(verdict([del(0, 0, 1, 'k', null), del(0, 2, 3, 'k', null)])).toBe('ok');
  });

  it('orders two concurrent puts by the previous values they report', () => {
    // Each put saw the other's value: impossible in any order.
    expect(verdict([put(0, 0, 5, 'k', 'a', 'b'), put(1, 0, 5, 'k', 'b', 'a')])).toBe('illegal');
    expect(verdict([put(0, 0, 5, 'k', 'a', null), put(1, 0, 5, 'k', 'b', 'a'), get(2, 6, 7, 'k', 'b')])).toBe('ok');
    expect(verdict([put(0, 0, 5, 'k', 'a', null), put(1, 0, 5, 'k', 'b', 'a'), get(2, 6, 7, 'k', 'a')])).toBe('illegal');
  });

  it('implements cas: swap iff current equals expected, null meaning absent', () => {
    expect(verdict([cas(0, 0, 1, 'k', null, 'x', true, null), get(0, 2, 3, 'k', 'x')])).toBe('ok');
    expect(verdict([cas(0, 0, 1, 'k', null, 'x', false, null)])).toBe('illegal');
    expect(verdict([put(0, 0, 1, 'k', 'a', null), cas(0, 2, 3, 'k', null, 'x', false, 'a')])).toBe('ok');
    expect(verdict([put(0, 0, 1, 'k', 'a', null), cas(0, 2, 3, 'k', null, 'x', true, 'a')])).toBe('illegal');
    expect(verdict([put(0, 0, 1, 'k', 'a', null), cas(0, 2, 3, 'k', 'a', 'b', true, 'a'), get(0, 4, 5, 'k', 'b')])).toBe('ok');
    // A failed cas leaves the value alone.
    expect(verdict([put(0, 0, 1, 'k', 'a', null), cas(0, 2, 3, 'k', 'z', 'b', false, 'a'), get(0, 4, 5, 'k', 'b')])).toBe('illegal');
    // It must report the value it actually saw.
    expect(verdict([put(0, 0, 1, 'k', 'a', null), cas(0, 2, 3, 'k', 'z', 'b', false, 'q')])).toBe('illegal');
    // A cas must carry an ok flag.
    expect(verdict([op(0, 0, 1, { op: 'cas', key: 'k', expected: null, value: 'x' }, { value: null })])).toBe('illegal');
  });

  it('lets a pending put take effect after its call, or never', () => {
    const p = pending<KvInput, KvOutput>(0, 0, { op: 'put', key: 'k', value: 'a' });
    expect(verdict([p, get(1, 1, 2, 'k', null)])).toBe('ok');
    expect(verdict([p, get(1, 1, 2, 'k', 'a')])).toBe('ok');
    expect(verdict([p, get(1, 1, 2, 'k', 'a'), get(1, 3, 4, 'k', null)])).toBe('illegal');
    expect(verdict([p, put(1, 1, 2, 'k', 'b', null), get(1, 3, 4, 'k', 'a')])).toBe('ok');
    expect(verdict([p, put(1, 1, 2, 'k', 'b', 'a'), get(1, 3, 4, 'k', 'a')])).toBe('illegal');
  });

  it('checks keys independently and names the failing partition', () => {
    const xs = [put(0, 0, 3, 'x', '1', null), get(1, 1, 2, 'x', '1'), get(1, 4, 5, 'x', '1')];
    const ys = [put(2, 0, 1, 'y', '2', null), get(3, 2, 3, 'y', null)]; // stale
    const zs = [get(4, 0, 9, 'z', null)];
    const ok = checkOperations(kvModel, xs);
    expect(ok).toMatchObject({ result: 'ok', partitions: 1 });

    const all = checkOperations(kvModel, [...xs, ...zs, ...ys]);
    expect(all.result).toBe('illegal');
    expect(all.partitions).toBe(3);
    expect(all.failedPartition).toBe(2); // partitions in first-seen key order: x, z, y
    expect(verdict([...xs, ...zs, ...ys])).toBe('illegal');
    expect(verdict([...xs, ...zs])).toBe('ok');
  });

  it('does not let an operation on one key explain a result on another', () => {
    // Taken together the values would fit a single register, but x and y are distinct keys.
    expect(verdict([put(0, 0, 1, 'x', 'a', null), get(1, 2, 3, 'y', 'a')])).toBe('illegal');
  });

  it('hashes stores canonically', () => {
    const a = new Map([['x', '1'], ['y', '2']]);
    const b = new Map([['y', '2'], ['x', '1']]);
    expect(kvModel.hash(a)).toBe(kvModel.hash(b));
    expect(kvModel.hash(a)).not.toBe(kvModel.hash(new Map([['x', '1']])));
    expect(kvModel.hash(new Map([['x', 'null']]))).not.toBe(kvModel.hash(new Map()));
  });

  it('never mutates the state it is given', () => {
    const s0 = kvModel.init();
    const s1 = kvModel.step(s0, { op: 'put', key: 'k', value: 'v' }, { value: null }).state;
    kvModel.step(s1, { op: 'delete', key: 'k' }, { value: 'v' });
    expect([...s0]).toEqual([]);
    expect([...s1]).toEqual([['k', 'v']]);
  });

  it('describes operations', () => {
    expect(kvModel.describe!({ op: 'cas', key: 'k', expected: null, value: 'v' }, { ok: true, value: null })).toBe(
      'cas(k, nil => "v") -> ok (was nil)',
    );
    expect(kvModel.describe!({ op: 'get', key: 'k' }, undefined)).toBe('get(k) -> ?');
  });
});
