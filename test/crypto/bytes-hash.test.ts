import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesEqual, concatBytes, fromHex, toHex } from '../../src/crypto/bytes.ts';
import { DIGEST_BYTES, sha256 } from '../../src/crypto/hash.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('bytes', () => {
  it('hex round-trips arbitrary bytes, including subarray views', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(10), (b, cut) => {
        expect(fromHex(toHex(b))).toEqual(b);
        const view = b.subarray(Math.min(cut, b.length));
        expect(toHex(view)).toBe(Buffer.from(view).toString('hex'));
      }),
    );
  });

  it('encodes lower-case and decodes either case', () => {
    expect(toHex(Uint8Array.from([0x00, 0xab, 0xff]))).toBe('00abff');
    expect(fromHex('00ABff')).toEqual(Uint8Array.from([0x00, 0xab, 0xff]));
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it('fromHex returns a plain, exclusively owned Uint8Array', () => {
    const b = fromHex('0102');
    expect(Buffer.isBuffer(b)).toBe(false);
    expect(b.byteOffset).toBe(0);
    expect(b.buffer.byteLength).toBe(2);
  });

  it('fromHex rejects odd length and non-hex characters instead of truncating', () => {
    expect(() => fromHex('abc')).toThrow(/odd-length/);
    expect(() => fromHex('zz')).toThrow(/non-hex/);
    expect(() => fromHex('ab g')).toThrow();
    expect(() => fromHex('0x00')).toThrow(/non-hex/);
    expect(() => fromHex('abcd\n')).toThrow();
  });

  it('bytesEqual compares content and length', () => {
    expect(bytesEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 2]))).toBe(true);
    expect(bytesEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 3]))).toBe(false);
    expect(bytesEqual(Uint8Array.from([1, 2]), Uint8Array.from([1, 2, 0]))).toBe(false);
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it('concatBytes concatenates into a fresh array', () => {
    const a = Uint8Array.from([1, 2]);
    expect(concatBytes(a, new Uint8Array(0), Uint8Array.from([3]))).toEqual(Uint8Array.from([1, 2, 3]));
    expect(concatBytes()).toEqual(new Uint8Array(0));
    const single = concatBytes(a);
    single[0] = 9;
    expect(a[0]).toBe(1);
  });
});

describe('sha256', () => {
  it('matches FIPS 180-2 vectors', () => {
    expect(DIGEST_BYTES).toBe(32);
    expect(toHex(sha256())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(sha256(utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(toHex(sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('hashes the concatenation of its parts and returns a plain 32-byte Uint8Array', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 5 }), (parts) => {
        const d = sha256(...parts);
        expect(d).toEqual(sha256(concatBytes(...parts)));
        expect(d.length).toBe(DIGEST_BYTES);
        expect(Buffer.isBuffer(d)).toBe(false);
      }),
    );
  });
});
