import { describe, expect, it } from 'vitest';
import {
  bruteForceLinearizable,
  checkOperations,
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
const cas = (c: number, call: number, ret: number, from: number, to: number, ok: boolean): RegOp =>
  op(c, call, ret, { f: 'cas', from, to }, { ok });

/** Checks with both the real checker and the oracle, which must agree. */
function verdict(ops: RegOp[]): 'ok' | 'illegal' | 'unknown' {
  const { result } = checkOperations(registerModel, ops);
  expect(result === 'ok').toBe(bruteForceLinearizable(registerModel, ops));
  return result;
}

describe('register model', () => {
  it('accepts a read of nil before any write', () => {
    expect(verdict([read(0, 0, 1, null)])).toBe('ok');
  });

  it('rejects a stale read after a completed write', () => {
    expect(verdict([write(0, 0, 1, 1), read(1, 2, 3, null)])).toBe('illegal');
    expect(verdict([write(0, 0, 1, 1), write(0, 2, 3, 2), read(1, 4, 5, 1)])).toBe('illegal');
  });

  it('accepts a read concurrent with a write returning either value', () => {
    expect(verdict([write(0, 0, 5, 1), read(1, 1, 2, null)])).toBe('ok');
    expect(verdict([write(0, 0, 5, 1), read(1, 1, 2, 1)])).toBe('ok');
    expect(verdict([write(0, 0, 5, 1), read(1, 1, 2, 2)])).toBe('illegal');
  });

  it('treats operations that touch at one instant as concurrent', () => {
    expect(verdict([write(0, 0, 5, 1), read(1, 5, 6, null)])).toBe('ok');
    expect(verdict([write(0, 0, 5, 1), read(1, 6, 7, null)])).toBe('illegal');
  });

  it('rejects a value flipping back (no linearisation point fits both reads)', () => {
    const ops = [write(0, 0, 10, 1), read(1, 1, 2, 1), read(2, 3, 4, null)];
    expect(verdict(ops)).toBe('illegal');
  });

  it('lets a pending write take effect at any time after its call, or never', () => {
    const w = pending<RegisterInput, RegisterOutput>(0, 0, { f: 'write', value: 1 });
    expect(verdict([w, read(1, 1, 2, null)])).toBe('ok'); // not yet, or never
    expect(verdict([w, read(1, 1, 2, null), read(1, 3, 4, 1)])).toBe('ok'); // later
    expect(verdict([w, read(1, 100, 101, null)])).toBe('ok'); // never
    // Once observed it has happened; it cannot be undone.
    expect(verdict([w, read(1, 1, 2, 1), read(1, 3, 4, null)])).toBe('illegal');
    // It cannot take effect before its call.
    expect(verdict([read(1, 0, 1, 1), { ...w, call: 2 }])).toBe('illegal');
  });

  it('lets a pending cas take effect only if its comparison holds', () => {
    const c = pending<RegisterInput, RegisterOutput>(0, 2, { f: 'cas', from: 1, to: 2 });
    expect(verdict([write(1, 0, 1, 1), c, read(1, 3, 4, 2)])).toBe('ok');
    expect(verdict([write(1, 0, 1, 3), c, read(1, 3, 4, 2)])).toBe('illegal');
  });

  it('implements cas: swap iff the register holds from', () => {
    expect(verdict([write(0, 0, 1, 1), cas(0, 2, 3, 1, 2, true), read(0, 4, 5, 2)])).toBe('ok');
    expect(verdict([write(0, 0, 1, 3), cas(0, 2, 3, 1, 2, true)])).toBe('illegal');
    expect(verdict([write(0, 0, 1, 1), cas(0, 2, 3, 1, 2, false)])).toBe('illegal');
    expect(verdict([write(0, 0, 1, 3), cas(0, 2, 3, 1, 2, false), read(0, 4, 5, 3)])).toBe('ok');
    expect(verdict([cas(0, 0, 1, 0, 2, false)])).toBe('ok'); // nil is not 0
  });

  it('treats a read with an unknown result as unconstrained', () => {
    const r: RegOp = { clientId: 1, input: { f: 'read' }, output: undefined, call: 2, return: 3 };
    expect(verdict([write(0, 0, 1, 1), r])).toBe('ok');
  });

  it('describes operations', () => {
    expect(registerModel.describe!({ f: 'cas', from: 1, to: 2 }, { ok: false })).toBe('cas(1, 2) -> fail');
    expect(registerModel.describe!({ f: 'read' }, { value: null })).toBe('read() -> null');
    expect(registerModel.describe!({ f: 'write', value: 3 }, undefined)).toBe('write(3) -> ?');
  });
});
