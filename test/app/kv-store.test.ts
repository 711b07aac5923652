import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cborEncode } from '../../src/app/cbor.ts';
import {
  decodeKvResult,
  encodeKvCommand,
  KV_COMMAND_ERRORS,
  KvStore,
  kvStoreFactory,
  MAX_KEY_BYTES,
  SnapshotError,
} from '../../src/app/index.ts';
import type { KvCommand, KvResult, StateMachine } from '../../src/app/index.ts';
import { anyKey, anyValue, commandArb, fewKeys, fewValues, fromHex, hex } from './arbitraries.ts';

const run = (sm: StateMachine, c: KvCommand): KvResult => decodeKvResult(sm.execute(encodeKvCommand(c)));
const put = (key: string, value: string): KvCommand => ({ op: 'put', key, value });
const get = (key: string): KvCommand => ({ op: 'get', key });
const del = (key: string): KvCommand => ({ op: 'delete', key });
const cas = (key: string, expected: string | null, value: string): KvCommand => ({ op: 'cas', key, expected, value });

/** The obviously-correct reference the store is checked against. */
function reference(data: Map<string, string>, c: KvCommand): KvResult {
  const prev = data.has(c.key) ? (data.get(c.key) as string) : null;
  if (c.op === 'get') return { value: prev };
  if (c.op === 'put') {
    data.set(c.key, c.value);
    return { value: prev };
  }
  if (c.op === 'delete') {
    data.delete(c.key);
    return { value: prev };
  }
  if (prev === c.expected) {
    data.set(c.key, c.value);
    return { ok: true, value: prev };
  }
  return { ok: false, value: prev };
}

describe('KvStore operations', () => {
  it('get returns the current value, null when absent', () => {
    const s = new KvStore();
    expect(run(s, get('k'))).toEqual({ value: null });
    run(s, put('k', 'v1'));
    expect(run(s, get('k'))).toEqual({ value: 'v1' });
    expect(run(s, get('other'))).toEqual({ value: null });
    expect(s.size).toBe(1);
  });

  it('put returns the previous value', () => {
    const s = new KvStore();
    expect(run(s, put('k', 'v1'))).toEqual({ value: null });
    expect(run(s, put('k', 'v2'))).toEqual({ value: 'v1' });
    expect(run(s, put('k', 'v2'))).toEqual({ value: 'v2' });
    expect(s.get('k')).toBe('v2');
  });

  it('an empty string is a present value, distinct from absent', () => {
    const s = new KvStore();
    expect(run(s, put('k', ''))).toEqual({ value: null });
    expect(run(s, get('k'))).toEqual({ value: '' });
    expect(run(s, cas('k', null, 'x'))).toEqual({ ok: false, value: '' });
    expect(run(s, cas('k', '', 'x'))).toEqual({ ok: true, value: '' });
  });

  it('delete returns the previous value; deleting an absent key returns null and changes nothing', () => {
    const s = new KvStore();
    expect(run(s, del('k'))).toEqual({ value: null });
    expect(s.size).toBe(0);
    run(s, put('k', 'v1'));
    expect(run(s, del('k'))).toEqual({ value: 'v1' });
    expect(s.size).toBe(0);
    expect(s.get('k')).toBeNull();
    expect(run(s, del('k'))).toEqual({ value: null });
  });

  it('cas on an absent key: succeeds iff expected is null', () => {
    const s = new KvStore();
    expect(run(s, cas('k', 'v0', 'v1'))).toEqual({ ok: false, value: null });
    expect(s.get('k')).toBeNull();
    expect(run(s, cas('k', null, 'v1'))).toEqual({ ok: true, value: null });
    expect(s.get('k')).toBe('v1');
  });

  it('cas on a present key: succeeds iff expected equals the current value', () => {
    const s = new KvStore();
    run(s, put('k', 'v1'));
    expect(run(s, cas('k', null, 'v2'))).toEqual({ ok: false, value: 'v1' });
    expect(run(s, cas('k', 'v0', 'v2'))).toEqual({ ok: false, value: 'v1' });
    expect(s.get('k')).toBe('v1');
    expect(run(s, cas('k', 'v1', 'v2'))).toEqual({ ok: true, value: 'v1' });
    expect(s.get('k')).toBe('v2');
    expect(run(s, cas('k', 'v2', 'v2'))).toEqual({ ok: true, value: 'v2' });
  });

  it('execute returns exact canonical result bytes', () => {
    const s = new KvStore();
    expect(hex(s.execute(encodeKvCommand(put('k1', 'v1'))))).toBe('826176f6');
    expect(hex(s.execute(encodeKvCommand(cas('k1', 'v1', 'v2'))))).toBe('8363636173f5627631');
    expect(hex(s.execute(fromHex('8163676574')))).toBe('82' + '63657272' + '69626164' + '2d6172697479'); // ['err','bad-arity']
  });

  it('keys are compared exactly (no normalisation)', () => {
    const s = new KvStore();
    run(s, put('é', 'precomposed'));
    run(s, put('e\u0301', 'decomposed'));
    expect(s.size).toBe(2);
    expect(run(s, get('é'))).toEqual({ value: 'precomposed' });
  });

  it('kvStoreFactory makes fresh, independent stores', () => {
    const a = kvStoreFactory();
    const b = kvStoreFactory();
    expect(a).toBeInstanceOf(KvStore);
    run(a, put('k', 'v'));
    expect(run(b, get('k'))).toEqual({ value: null });
  });
});

describe('KvStore.execute on malformed commands', () => {
  it('answers with the named error and leaves the state untouched', () => {
    const s = new KvStore();
    run(s, put('k', 'v'));
    const before = hex(s.snapshot());
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), 'malformed-cbor'],
      [cborEncode({ op: 'put', key: 'k', value: 'x' }), 'not-array'],
      [cborEncode(['drop', 'k']), 'unknown-op'],
      [cborEncode(['put', 'k']), 'bad-arity'],
      [cborEncode(['put', 'x'.repeat(MAX_KEY_BYTES + 1), 'x']), 'bad-key'],
      [cborEncode(['put', 'k', 1]), 'bad-value'],
      [cborEncode(['cas', 'k', 1, 'x']), 'bad-expected'],
      [fromHex('83' + '63707574' + '616b' + '7801' + '78'), 'non-canonical'],
      [new Uint8Array(200_000), 'too-large'],
    ];
    for (const [bytes, reason] of cases) {
      expect(decodeKvResult(s.execute(bytes))).toEqual({ error: reason });
    }
    expect(hex(s.snapshot())).toBe(before);
  });

  it('never throws on arbitrary bytes, and only valid commands change state', () => {
    const s = new KvStore();
    run(s, put('k', 'v'));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const before = s.snapshot();
        const r = decodeKvResult(s.execute(bytes));
        if ('error' in r) {
          expect(KV_COMMAND_ERRORS).toContain(r.error);
          expect(hex(s.snapshot())).toBe(hex(before));
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('KvStore snapshots', () => {
  it('pins the snapshot format: [format, version, sorted [key, value] pairs]', () => {
    const s = new KvStore();
    expect(hex(s.snapshot())).toBe('83' + '6962797a7061782d6b76' + '01' + '80');
    run(s, put('b', '2'));
    run(s, put('a', '1'));
    expect(hex(s.snapshot())).toBe('83' + '6962797a7061782d6b76' + '01' + '82' + '8261616131' + '8261626132');
  });

  it('sorts keys by UTF-8 bytes, not UTF-16 code units', () => {
    const s = new KvStore();
    run(s, put('😀', 'astral')); // F0 9F 98 80
    run(s, put('\uffff', 'bmp')); // EF BF BF: first in byte order, last by JS `<`
    run(s, put('z', 'ascii'));
    // 'z' 7a < U+FFFF ef bf bf < U+1F600 f0 9f 98 80, although JS `<` puts U+1F600 before U+FFFF.
    expect(hex(s.snapshot())).toBe(
      '83' + '6962797a7061782d6b76' + '01' + '83' +
        ('82' + '617a' + '656173636969') +
        ('82' + '63efbfbf' + '63626d70') +
        ('82' + '64f09f9880' + '6661737472616c'),
    );
  });

  it('is byte-identical for the same contents reached through different histories', () => {
    const a = new KvStore();
    const b = new KvStore();
    for (const c of [put('x', '1'), put('y', '2'), put('z', '3')]) run(a, c);
    for (const c of [put('z', '0'), put('gone', 'g'), put('y', '2'), cas('z', '0', '3'), del('gone'), put('x', '1')]) run(b, c);
    expect(hex(b.snapshot())).toBe(hex(a.snapshot()));
  });

  it('depends only on contents: property over random entries and insertion orders', () => {
    const entries = fc.uniqueArray(fc.tuple(anyKey, anyValue), { selector: ([k]) => k, maxLength: 30 });
    fc.assert(
      fc.property(entries, fc.array(fc.nat()), fc.array(fc.tuple(anyKey, anyValue), { maxLength: 5 }), (es, order, noise) => {
        const a = new KvStore();
        for (const [k, v] of es) run(a, put(k, v));
        // b: a permutation of the same puts, after junk writes that are overwritten or deleted.
        const b = new KvStore();
        for (const [k, v] of noise) run(b, put(k, v + '!'));
        const perm = es.map((e, i) => ({ e, r: order[i] ?? i })).sort((x, y) => x.r - y.r);
        for (const { e: [k, v] } of perm) run(b, put(k, v));
        for (const [k] of noise) if (!es.some(([ek]) => ek === k)) run(b, del(k));
        expect(hex(b.snapshot())).toBe(hex(a.snapshot()));
      }),
      { numRuns: 300 },
    );
  });

  it('snapshot -> restore -> snapshot is byte-identical and the restored store answers the same', () => {
    fc.assert(
      fc.property(fc.array(commandArb(anyKey, anyValue), { maxLength: 40 }), (cmds) => {
        const original = new KvStore();
        for (const c of cmds) run(original, c);
        const snap = original.snapshot();
        const restored = new KvStore();
        run(restored, put('stale', 'must disappear'));
        restored.restore(snap);
        expect(hex(restored.snapshot())).toBe(hex(snap));
        expect(restored.size).toBe(original.size);
        const probes = [...new Set([...cmds.map((c) => c.key), 'stale'])];
        for (const k of probes) {
          expect(restored.get(k)).toBe(original.get(k));
          expect(run(restored, get(k))).toEqual(run(original, get(k)));
        }
        // And they keep agreeing as they evolve.
        for (const c of cmds.slice().reverse()) expect(run(restored, c)).toEqual(run(original, c));
        expect(hex(restored.snapshot())).toBe(hex(original.snapshot()));
      }),
      { numRuns: 200 },
    );
  });

  it('a snapshot is a copy: later writes do not change restored stores', () => {
    const a = new KvStore();
    run(a, put('k', 'v1'));
    const snap = a.snapshot();
    const b = new KvStore();
    b.restore(snap);
    run(a, put('k', 'v2'));
    expect(b.get('k')).toBe('v1');
  });
});

describe('KvStore.restore rejects invalid snapshots', () => {
  const header = '83' + '6962797a7061782d6b76' + '01';
  const valid = (() => {
    const s = new KvStore();
    run(s, put('a', '1'));
    run(s, put('b', '2'));
    return s.snapshot();
  })();

  const cases: [string, Uint8Array, RegExp][] = [
    ['empty bytes', new Uint8Array(0), /well-formed CBOR/],
    ['truncated', valid.subarray(0, valid.length - 1), /well-formed CBOR/],
    ['trailing byte', new Uint8Array([...valid, 0]), /well-formed CBOR/],
    ['a command, not a snapshot', encodeKvCommand(put('a', '1')), /format/],
    ['not an array', cborEncode({ a: '1' }), /\[format, version, entries\]/],
    ['wrong arity', cborEncode(['byzpax-kv', 1]), /\[format, version, entries\]/],
    ['wrong format', cborEncode(['other-kv', 1, []]), /format is not 'byzpax-kv'/],
    ['future version', cborEncode(['byzpax-kv', 2, []]), /unsupported version 2/],
    ['string version', cborEncode(['byzpax-kv', '1', []]), /unsupported version string/],
    ['entries not an array', cborEncode(['byzpax-kv', 1, { a: '1' }]), /entries is not an array/],
    ['flat entries', cborEncode(['byzpax-kv', 1, ['a', '1']]), /entry 0 is not a \[key, value\] pair/],
    ['triple entry', cborEncode(['byzpax-kv', 1, [['a', '1', 'x']]]), /entry 0 is not/],
    ['numeric key', cborEncode(['byzpax-kv', 1, [[1, '1']]]), /entry 0 has an invalid key/],
    ['oversized key', cborEncode(['byzpax-kv', 1, [['x'.repeat(MAX_KEY_BYTES + 1), '1']]]), /invalid key/],
    ['null value', cborEncode(['byzpax-kv', 1, [['a', null]]]), /entry 0 has an invalid value/],
    ['unsorted keys', cborEncode(['byzpax-kv', 1, [['b', '2'], ['a', '1']]]), /entry 1: keys not in strictly ascending/],
    ['duplicate keys', cborEncode(['byzpax-kv', 1, [['a', '1'], ['a', '2']]]), /entry 1: keys not in strictly ascending/],
    ['UTF-16 order instead of UTF-8', cborEncode(['byzpax-kv', 1, [['😀', '1'], ['\uffff', '2']]]), /ascending/],
    ['non-minimal length', fromHex(header + '81' + '82' + '7801' + '61' + '6131'), /not canonically encoded/],
    ['indefinite-length entries', fromHex(header + '9f' + '8261616131' + 'ff'), /not canonically encoded/],
    ['invalid UTF-8 key', fromHex(header + '81' + '82' + '61ff' + '6131'), /not canonically encoded/],
  ];

  it.each(cases)('%s', (_name, bytes, message) => {
    const s = new KvStore();
    run(s, put('keep', 'me'));
    const before = hex(s.snapshot());
    expect(() => s.restore(bytes)).toThrow(SnapshotError);
    expect(() => s.restore(bytes)).toThrow(message);
    // A failed restore must not half-apply.
    expect(hex(s.snapshot())).toBe(before);
    expect(s.get('keep')).toBe('me');
  });

  it('the valid baseline restores', () => {
    const s = new KvStore();
    s.restore(valid);
    expect(s.size).toBe(2);
  });

  it('rejects random garbage with a SnapshotError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const s = new KvStore();
        try {
          s.restore(bytes);
          expect(hex(s.snapshot())).toBe(hex(bytes)); // anything accepted is canonical
        } catch (e) {
          expect(e).toBeInstanceOf(SnapshotError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('KvStore vs a reference Map (model test)', () => {
  type Step = { kind: 'cmd'; c: KvCommand } | { kind: 'checkpoint' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 20, arbitrary: commandArb(fewKeys, fewValues).map((c): Step => ({ kind: 'cmd', c })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'checkpoint' }) },
  );

  it('random command sequences give identical results, also across snapshot/restore', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const model = new Map<string, string>();
        let store = new KvStore();
        for (const s of steps) {
          if (s.kind === 'checkpoint') {
            // Continue on a fresh replica that caught up from a snapshot.
            const next = new KvStore();
            next.restore(store.snapshot());
            store = next;
            continue;
          }
          expect(run(store, s.c)).toEqual(reference(model, s.c));
        }
        expect(store.size).toBe(model.size);
        for (const [k, v] of model) expect(store.get(k)).toBe(v);
      }),
      { numRuns: 500 },
    );
  });
});
