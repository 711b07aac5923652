import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual, cborDecode, cborEncode } from '../../src/app/cbor.ts';
import { compareUtf8, isBoundedString, utf8Length } from '../../src/app/utf8.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
// Any UTF-16 code unit sequence, lone surrogates included.
const anyUtf16 = fc.string({ unit: fc.nat(0xffff).map((u) => String.fromCharCode(u)), maxLength: 40 });

describe('cbor configuration', () => {
  it('encodes a Uint8Array as a plain CBOR byte string, not tag 64', () => {
    expect(hex(cborEncode(new Uint8Array([1, 2, 3])))).toBe('43010203');
    expect(hex(cborEncode(Buffer.from([1, 2])))).toBe('420102');
  });

  it('encodes plain arrays, strings, null and booleans in preferred (minimal) form', () => {
    expect(hex(cborEncode(['a', null, true, false]))).toBe('846161f6f5f4');
    // String and array header boundaries: 23 -> 1 byte, 24 -> 2, 256 -> 3, 65536 -> 5.
    expect(hex(cborEncode('a'.repeat(23)).subarray(0, 1))).toBe('77');
    expect(hex(cborEncode('a'.repeat(24)).subarray(0, 2))).toBe('7818');
    expect(hex(cborEncode('a'.repeat(256)).subarray(0, 3))).toBe('790100');
    expect(hex(cborEncode('a'.repeat(65536)).subarray(0, 5))).toBe('7a00010000');
    expect(hex(cborEncode('€'.repeat(90)).subarray(0, 3))).toBe('79010e'); // 270 UTF-8 bytes
    expect(hex(cborEncode(new Array(24).fill(null)).subarray(0, 2))).toBe('9818');
  });

  it('returns a fresh plain Uint8Array each time (not a view of a shared buffer)', () => {
    const a = cborEncode(['x']);
    const b = cborEncode(['y']);
    expect(a.constructor).toBe(Uint8Array);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(a.length);
    expect(hex(a)).toBe('816178');
    expect(hex(b)).toBe('816179');
  });

  it('cborDecode never throws and rejects truncation and trailing bytes', () => {
    expect(cborDecode(new Uint8Array([]))).toEqual({ ok: false });
    expect(cborDecode(new Uint8Array([0x82, 0x61, 0x61]))).toEqual({ ok: false });
    expect(cborDecode(new Uint8Array([0x61, 0x61, 0x00]))).toEqual({ ok: false });
    expect(cborDecode(new Uint8Array([0x61, 0x61]))).toEqual({ ok: true, value: 'a' });
    // Deep nesting exhausts the stack inside cbor-x; that must surface as a refusal.
    const deep = new Uint8Array(200_000).fill(0x81);
    expect(cborDecode(deep)).toEqual({ ok: false });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        cborDecode(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('bytesEqual compares lengths and contents', () => {
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
  });
});

describe('utf8 helpers', () => {
  it('utf8Length matches TextEncoder for well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        expect(utf8Length(s)).toBe(utf8(s).length);
      }),
    );
    expect(utf8Length('')).toBe(0);
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
  });

  it('utf8Length refuses lone surrogates and strings over the limit', () => {
    expect(utf8Length('\ud800')).toBeNull();
    expect(utf8Length('a\udc00')).toBeNull();
    expect(utf8Length('\ud83d')).toBeNull();
    expect(utf8Length('\ude00\ud83d')).toBeNull(); // halves in the wrong order
    expect(utf8Length('éé', 4)).toBe(4);
    expect(utf8Length('ééé', 5)).toBeNull();
    expect(utf8Length('😀', 3)).toBeNull();
    fc.assert(
      fc.property(anyUtf16, (s) => {
        const wellFormed = !/[\ud800-\udfff]/u.test(s);
        expect(utf8Length(s) !== null).toBe(wellFormed);
      }),
    );
    expect(isBoundedString('abc', 3)).toBe(true);
    expect(isBoundedString('abcd', 3)).toBe(false);
    expect(isBoundedString(3, 3)).toBe(false);
  });

  it('compareUtf8 orders by UTF-8 bytes, not UTF-16 code units', () => {
    // JS `<` puts U+1F600 (surrogates D83D DE00) before U+FFFF; UTF-8 byte order does not.
    expect('😀' < '\uffff').toBe(true);
    expect(compareUtf8('\uffff', '😀')).toBeLessThan(0);
    expect(compareUtf8('😀', '\ue000')).toBeGreaterThan(0);
    expect(compareUtf8('a', 'ab')).toBeLessThan(0);
    expect(compareUtf8('b', 'b')).toBe(0);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(Buffer.compare(utf8(a), utf8(b))));
      }),
      { numRuns: 2000 },
    );
    // Random code points almost always differ in the first unit; also hammer the boundary cases.
    const tricky = fc.string({
      unit: fc.constantFrom('a', '\u007f', '\u0080', 'é', '\ud7ff', '\ue000', '\uffff', '😀', '\u{10000}', '\u{10ffff}'),
      maxLength: 4,
    });
    fc.assert(
      fc.property(tricky, tricky, (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(Math.sign(Buffer.compare(utf8(a), utf8(b))));
      }),
      { numRuns: 2000 },
    );
  });
});
