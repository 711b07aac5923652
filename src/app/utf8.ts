/**
 * UTF-8 helpers that work on JS strings without allocating: the store measures every key and
 * value it accepts and sorts keys for every snapshot.
 */

/**
 * The UTF-8 length of `s`, or null if `s` is not well-formed UTF-16 (contains a lone surrogate)
 * or its length exceeds `max`. Lone surrogates are refused rather than replaced because the
 * encoder would turn two distinct JS strings into the same bytes (or into invalid UTF-8).
 */
export function utf8Length(s: string, max: number = Number.POSITIVE_INFINITY): number | null {
  // Every code unit yields at least one byte: cheap early exit for oversized input.
  if (s.length > max) return null;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0x80) n += 1;
    else if (u < 0x800) n += 2;
    else if (u >= 0xd800 && u <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) return null; // high surrogate without its low half
      n += 4;
      i++;
    } else if (u >= 0xdc00 && u <= 0xdfff) return null; // low surrogate without its high half
    else n += 3;
    if (n > max) return null;
  }
  return n;
}

/** True iff `x` is a well-formed string of at most `maxBytes` UTF-8 bytes. */
export function isBoundedString(x: unknown, maxBytes: number): x is string {
  return typeof x === 'string' && utf8Length(x, maxBytes) !== null;
}

/**
 * Orders well-formed strings by their UTF-8 bytes (equivalently, by code point). JS `<` compares
 * UTF-16 code units, which disagrees for astral characters vs U+E000..U+FFFF; byte order is the
 * one any other implementation (Go, Rust, a C checker reading a snapshot) gets for free.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// Surrogates (astral code points, >= U+10000) must sort after U+E000..U+FFFF: shift them above it.
// Only the first differing unit matters, and two surrogates there are both high or both low
// halves, so the shift preserves their relative order.
function codePointRank(u: number): number {
  if (u < 0xd800) return u;
  return u <= 0xdfff ? u + 0x2000 : u - 0x800;
}
