/** Shared fast-check arbitraries for the application-layer tests (not a test file itself). */
import fc from 'fast-check';
import type { KvCommand } from '../../src/app/kv-command.ts';

/** Any well-formed string (full Unicode, astral included), short enough to be a valid key. */
export const anyKey = fc.string({ unit: 'binary', maxLength: 16 });
export const anyValue = fc.string({ unit: 'binary', maxLength: 24 });

/** A few keys and values so random sequences collide, overwrite and cas-succeed often. */
export const fewKeys = fc.constantFrom('a', 'b', 'c', '', 'é', '😀', '\uffff');
export const fewValues = fc.constantFrom('1', '2', '3', '', 'ü', '😀');

export function commandArb(key: fc.Arbitrary<string>, value: fc.Arbitrary<string>): fc.Arbitrary<KvCommand> {
  return fc.oneof(
    key.map((k): KvCommand => ({ op: 'get', key: k })),
    fc.tuple(key, value).map(([k, v]): KvCommand => ({ op: 'put', key: k, value: v })),
    key.map((k): KvCommand => ({ op: 'delete', key: k })),
    fc
      .tuple(key, fc.option(value, { nil: null }), value)
      .map(([k, e, v]): KvCommand => ({ op: 'cas', key: k, expected: e, value: v })),
  );
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
