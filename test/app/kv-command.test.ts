import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cborEncode } from '../../src/app/cbor.ts';
import {
  decodeKvCommand,
  decodeKvResult,
  describeKvCommand,
  describeKvResult,
  encodeKvCommand,
  encodeKvResult,
  KV_COMMAND_ERRORS,
  MALFORMED_RESULT,
  MAX_COMMAND_BYTES,
  MAX_KEY_BYTES,
  MAX_RESULT_BYTES,
  MAX_VALUE_BYTES,
} from '../../src/app/index.ts';
import type { KvCommand, KvResult } from '../../src/app/index.ts';
import { anyKey, anyValue, commandArb, fromHex, hex } from './arbitraries.ts';

const withTrailing = (b: Uint8Array, ...extra: number[]): Uint8Array => new Uint8Array([...b, ...extra]);

describe('canonical command encoding', () => {
  // Pinned by hand from RFC 8949; a change here breaks every stored log and request digest.
  it.each<[KvCommand, string]>([
    [{ op: 'put', key: 'k1', value: 'v3' }, '83' + '63707574' + '626b31' + '627633'],
    [{ op: 'get', key: 'k1' }, '82' + '63676574' + '626b31'],
    [{ op: 'delete', key: 'k1' }, '82' + '6664656c657465' + '626b31'],
    [{ op: 'cas', key: 'k1', expected: null, value: 'v2' }, '84' + '63636173' + '626b31' + 'f6' + '627632'],
    [{ op: 'cas', key: 'k1', expected: 'v1', value: 'v2' }, '84' + '63636173' + '626b31' + '627631' + '627632'],
    [{ op: 'put', key: '', value: 'é' }, '83' + '63707574' + '60' + '62c3a9'],
  ])('%j encodes to fixed bytes', (c, expected) => {
    expect(hex(encodeKvCommand(c))).toBe(expected);
    expect(decodeKvCommand(fromHex(expected))).toEqual(c);
  });

  it('round-trips every valid command, and the decoded object has exactly the typed fields', () => {
    fc.assert(
      fc.property(commandArb(anyKey, anyValue), (c) => {
        const bytes = encodeKvCommand(c);
        const back = decodeKvCommand(bytes);
        expect(back).toStrictEqual(c);
        expect(hex(encodeKvCommand(back as KvCommand))).toBe(hex(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts keys and values exactly at the limits, including multi-byte ones', () => {
    const key256 = 'x'.repeat(MAX_KEY_BYTES);
    const keyE = 'é'.repeat(MAX_KEY_BYTES / 2);
    const value64k = 'v'.repeat(MAX_VALUE_BYTES);
    for (const c of [
      { op: 'get', key: key256 },
      { op: 'get', key: keyE },
      { op: 'put', key: 'k', value: value64k },
      { op: 'put', key: 'k', value: '😀'.repeat(MAX_VALUE_BYTES / 4) },
    ] satisfies KvCommand[]) {
      expect(decodeKvCommand(encodeKvCommand(c))).toEqual(c);
    }
  });

  it('MAX_COMMAND_BYTES is exactly the size of the largest valid command', () => {
    const biggest: KvCommand = {
      op: 'cas',
      key: 'k'.repeat(MAX_KEY_BYTES),
      expected: 'e'.repeat(MAX_VALUE_BYTES),
      value: 'v'.repeat(MAX_VALUE_BYTES),
    };
    const bytes = encodeKvCommand(biggest);
    expect(bytes.length).toBe(MAX_COMMAND_BYTES);
    expect(decodeKvCommand(bytes)).toEqual(biggest);
  });

  it('encodeKvCommand refuses commands the decoder would refuse', () => {
    const bad: [unknown, string][] = [
      [{ op: 'get', key: 'x'.repeat(MAX_KEY_BYTES + 1) }, 'bad-key'],
      [{ op: 'get', key: 'é'.repeat(MAX_KEY_BYTES / 2) + 'x' }, 'bad-key'],
      [{ op: 'get', key: '\ud800' }, 'bad-key'],
      [{ op: 'put', key: 'k', value: 'a\udc00' }, 'bad-value'],
      [{ op: 'put', key: 'k', value: 'v'.repeat(MAX_VALUE_BYTES + 1) }, 'bad-value'],
      [{ op: 'put', key: 'k' }, 'bad-value'],
      [{ op: 'cas', key: 'k', value: 'v' }, 'bad-expected'],
      [{ op: 'cas', key: 'k', expected: 3, value: 'v' }, 'bad-expected'],
      [{ op: 'patch', key: 'k' }, 'unknown-op'],
    ];
    for (const [c, reason] of bad) {
      expect(() => encodeKvCommand(c as KvCommand)).toThrow(new RangeError(`encodeKvCommand: invalid command (${reason})`));
    }
  });
});

describe('strict command decoding', () => {
  const get = encodeKvCommand({ op: 'get', key: 'k1' });
  const tooLong = 'x'.repeat(MAX_KEY_BYTES + 1);
  const tooBig = 'v'.repeat(MAX_VALUE_BYTES + 1);
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

  const cases: [string, Uint8Array, string][] = [
    ['oversized input', new Uint8Array(MAX_COMMAND_BYTES + 1), 'too-large'],
    ['empty input', new Uint8Array(0), 'malformed-cbor'],
    ['truncated array', get.subarray(0, get.length - 1), 'malformed-cbor'],
    ['truncated header', fromHex('8263676574' + '78'), 'malformed-cbor'],
    ['trailing byte', withTrailing(get, 0x00), 'malformed-cbor'],
    ['second item', withTrailing(get, ...get), 'malformed-cbor'],
    ['lone break', fromHex('ff'), 'malformed-cbor'],
    ['reserved additional info', fromHex('1c'), 'malformed-cbor'],
    ['indefinite text string', fromHex('82' + '63676574' + '7f' + '626b31' + 'ff'), 'malformed-cbor'],
    ['text string', cborEncode('get'), 'not-array'],
    ['map', cborEncode({ op: 'get', key: 'k1' }), 'not-array'],
    ['null', cborEncode(null), 'not-array'],
    ['integer', cborEncode(42), 'not-array'],
    ['byte string', cborEncode(new Uint8Array([0x82, 0x61, 0x61])), 'not-array'],
    // cbor-x turns tag 27 into a call to Error/RegExp: must be refused like any other non-array.
    ['tag 27 generic object', fromHex('d81b' + hex(cborEncode(['Error', 'boom']))), 'not-array'],
    ['empty array', cborEncode([]), 'unknown-op'],
    ['upper-case op', cborEncode(['GET', 'k1']), 'unknown-op'],
    ['numeric op', cborEncode([1, 'k1']), 'unknown-op'],
    ['op as byte string', cborEncode([bytes('get'), 'k1']), 'unknown-op'],
    ['op with space', cborEncode(['get ', 'k1']), 'unknown-op'],
    ['get without key', cborEncode(['get']), 'bad-arity'],
    ['get with extra', cborEncode(['get', 'k1', 'x']), 'bad-arity'],
    ['put without value', cborEncode(['put', 'k1']), 'bad-arity'],
    ['put with extra', cborEncode(['put', 'k1', 'v', 'w']), 'bad-arity'],
    ['delete without key', cborEncode(['delete']), 'bad-arity'],
    ['cas without expected', cborEncode(['cas', 'k1', 'v']), 'bad-arity'],
    ['cas with extra', cborEncode(['cas', 'k1', null, 'v', 'x']), 'bad-arity'],
    ['numeric key', cborEncode(['get', 1]), 'bad-key'],
    ['null key', cborEncode(['delete', null]), 'bad-key'],
    ['byte-string key', cborEncode(['get', bytes('k1')]), 'bad-key'],
    ['array key', cborEncode(['get', ['k1']]), 'bad-key'],
    ['key over 256 bytes', cborEncode(['get', tooLong]), 'bad-key'],
    ['multi-byte key over 256 bytes', cborEncode(['put', 'é'.repeat(129), 'v']), 'bad-key'],
    ['key checked before value', cborEncode(['put', 1, 2]), 'bad-key'],
    ['cas key checked first', cborEncode(['cas', tooLong, 1, 2]), 'bad-key'],
    ['null value', cborEncode(['put', 'k1', null]), 'bad-value'],
    ['numeric value', cborEncode(['put', 'k1', 7]), 'bad-value'],
    ['byte-string value', cborEncode(['put', 'k1', bytes('v')]), 'bad-value'],
    ['value over 64 KiB', cborEncode(['put', 'k1', tooBig]), 'bad-value'],
    ['cas null value', cborEncode(['cas', 'k1', null, null]), 'bad-value'],
    ['cas numeric value', cborEncode(['cas', 'k1', 'a', 1]), 'bad-value'],
    ['cas numeric expected', cborEncode(['cas', 'k1', 1, 'v']), 'bad-expected'],
    ['cas boolean expected', cborEncode(['cas', 'k1', false, 'v']), 'bad-expected'],
    ['cas expected over 64 KiB', cborEncode(['cas', 'k1', tooBig, 'v']), 'bad-expected'],
    ['cas expected checked before value', cborEncode(['cas', 'k1', 1, 2]), 'bad-expected'],
    ['non-minimal key length', fromHex('82' + '63676574' + '7802' + '6b31'), 'non-canonical'],
    ['non-minimal op length', fromHex('82' + '7803676574' + '626b31'), 'non-canonical'],
    ['non-minimal array length', fromHex('9802' + '63676574' + '626b31'), 'non-canonical'],
    ['indefinite-length array', fromHex('9f' + '63676574' + '626b31' + 'ff'), 'non-canonical'],
    ['self-describe tag', fromHex('d9d9f7' + hex(get)), 'non-canonical'],
    ['invalid UTF-8 in key', fromHex('82' + '63676574' + '62c328'), 'non-canonical'],
    ['overlong UTF-8 in key', fromHex('82' + '63676574' + '62c0af'), 'non-canonical'],
    ['UTF-8-encoded surrogate in key', fromHex('82' + '63676574' + '63eda080'), 'non-canonical'],
  ];

  it.each(cases)('%s -> %s', (_name, input, reason) => {
    expect(decodeKvCommand(input)).toEqual({ error: reason });
  });

  it('every refusal reason is exercised above', () => {
    expect(new Set(cases.map((c) => c[2]))).toEqual(new Set(KV_COMMAND_ERRORS));
  });

  it('never throws on arbitrary bytes; anything accepted is canonical', () => {
    const check = (b: Uint8Array): void => {
      const r = decodeKvCommand(b);
      if ('error' in r) expect(KV_COMMAND_ERRORS).toContain(r.error);
      else expect(hex(encodeKvCommand(r))).toBe(hex(b));
    };
    // Pure noise.
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), { numRuns: 3000 });
    // Valid encodings with one byte replaced, inserted or deleted, or truncated.
    const mutated = fc
      .tuple(commandArb(anyKey, anyValue).map(encodeKvCommand), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(3))
      .map(([b, at, byte, how]) => {
        const i = at % b.length;
        const out = [...b];
        if (how === 0) out[i] = byte;
        else if (how === 1) out.splice(i, 0, byte);
        else if (how === 2) out.splice(i, 1);
        else out.length = i;
        return new Uint8Array(out);
      });
    fc.assert(fc.property(mutated, check), { numRuns: 3000 });
    // Well-formed CBOR arrays of plausible-looking fields.
    const field = fc.oneof(
      fc.constantFrom('get', 'put', 'delete', 'cas'),
      fc.string({ maxLength: 4 }),
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.uint8Array({ maxLength: 3 }),
    );
    fc.assert(fc.property(fc.array(field, { maxLength: 5 }).map(cborEncode), check), { numRuns: 3000 });
  });

  it('decodes from a view into a larger buffer (non-zero byteOffset)', () => {
    const backing = new Uint8Array([0xaa, ...get, 0xbb]);
    expect(decodeKvCommand(backing.subarray(1, 1 + get.length))).toEqual({ op: 'get', key: 'k1' });
  });
});

describe('result encoding', () => {
  it.each<[KvResult, string]>([
    [{ value: 'v1' }, '82' + '6176' + '627631'],
    [{ value: null }, '82' + '6176' + 'f6'],
    [{ ok: true, value: null }, '83' + '63636173' + 'f5' + 'f6'],
    [{ ok: false, value: 'v1' }, '83' + '63636173' + 'f4' + '627631'],
    [{ error: 'bad-key' }, '82' + '63657272' + '676261642d6b6579'],
  ])('%j encodes to fixed bytes and back', (r, expected) => {
    expect(hex(encodeKvResult(r))).toBe(expected);
    expect(decodeKvResult(fromHex(expected))).toStrictEqual(r);
  });

  it('round-trips arbitrary results', () => {
    const resultArb: fc.Arbitrary<KvResult> = fc.oneof(
      fc.option(anyValue, { nil: null }).map((value) => ({ value })),
      fc.tuple(fc.boolean(), fc.option(anyValue, { nil: null })).map(([ok, value]) => ({ ok, value })),
      fc.constantFrom(...KV_COMMAND_ERRORS).map((error) => ({ error })),
    );
    fc.assert(
      fc.property(resultArb, (r) => {
        expect(decodeKvResult(encodeKvResult(r))).toStrictEqual(r);
      }),
    );
  });

  it('a maximal result fits MAX_RESULT_BYTES exactly', () => {
    const bytes = encodeKvResult({ ok: false, value: 'v'.repeat(MAX_VALUE_BYTES) });
    expect(bytes.length).toBe(MAX_RESULT_BYTES);
    expect(decodeKvResult(bytes)).toEqual({ ok: false, value: 'v'.repeat(MAX_VALUE_BYTES) });
  });

  it('decodeKvResult maps anything invalid to malformed-result without throwing', () => {
    const malformed = { error: MALFORMED_RESULT };
    for (const b of [
      new Uint8Array(0),
      new Uint8Array(MAX_RESULT_BYTES + 1),
      fromHex('826176'),
      withTrailing(encodeKvResult({ value: null }), 0),
      cborEncode({ value: 'v1' }),
      cborEncode(['v']),
      cborEncode(['v', 1]),
      cborEncode(['v', 'a', 'b']),
      cborEncode(['cas', 'true', null]),
      cborEncode(['cas', true]),
      cborEncode(['cas', true, null, 'x']),
      cborEncode(['err', 5]),
      cborEncode(['err', 'x'.repeat(257)]),
      cborEncode(['ok', 'v']),
      fromHex('82' + '6176' + '7802' + '7631'), // non-minimal length
      fromHex('82' + '6176' + '62c328'), // invalid UTF-8
    ]) {
      expect(decodeKvResult(b)).toEqual(malformed);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (b) => {
        const r = decodeKvResult(b);
        if (!('error' in r && r.error === MALFORMED_RESULT)) expect(hex(encodeKvResult(r))).toBe(hex(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('encodeKvResult refuses invalid results', () => {
    expect(() => encodeKvResult({ value: undefined } as unknown as KvResult)).toThrow(RangeError);
    expect(() => encodeKvResult({ value: 'x\ud800' })).toThrow(RangeError);
    expect(() => encodeKvResult({ ok: 1, value: null } as unknown as KvResult)).toThrow(RangeError);
    expect(() => encodeKvResult({ error: 'x'.repeat(257) })).toThrow(RangeError);
  });
});

describe('trace rendering', () => {
  it.each<[KvCommand | { error: string }, string]>([
    [{ op: 'get', key: 'k1' }, 'get k1'],
    [{ op: 'put', key: 'k1', value: 'v3' }, 'put k1=v3'],
    [{ op: 'delete', key: 'k1' }, 'delete k1'],
    [{ op: 'cas', key: 'k1', expected: 'v1', value: 'v2' }, 'cas k1 v1->v2'],
    [{ op: 'cas', key: 'k1', expected: null, value: 'v2' }, 'cas k1 <absent>->v2'],
    [{ op: 'put', key: 'a b', value: '' }, 'put "a b"=""'],
    [{ op: 'put', key: 'k', value: '<absent>' }, 'put k="<absent>"'],
    [{ op: 'put', key: 'k', value: 'x=y' }, 'put k="x=y"'],
    [{ op: 'put', key: 'k', value: 'v'.repeat(100) }, `put k=${'v'.repeat(32)}…(100B)`],
    [{ error: 'bad-key' }, 'invalid(bad-key)'],
  ])('%j -> %s', (c, text) => {
    expect(describeKvCommand(c)).toBe(text);
  });

  it('renders results', () => {
    expect(describeKvResult({ value: 'v1' })).toBe('v1');
    expect(describeKvResult({ value: null })).toBe('<absent>');
    expect(describeKvResult({ ok: true, value: null })).toBe('ok (was <absent>)');
    expect(describeKvResult({ ok: false, value: 'v1' })).toBe('fail (was v1)');
    expect(describeKvResult({ error: 'bad-arity' })).toBe('error(bad-arity)');
  });
});
