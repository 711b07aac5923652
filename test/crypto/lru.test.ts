import { expect, it } from 'vitest';
import { LruCache } from '../../src/crypto/lru.ts';

it('evicts the least recently used entry and never exceeds capacity', () => {
  const c = new LruCache<string, number>(3);
  for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) c.set(k, i);
  expect(c.size).toBe(3);
  expect(c.has('a')).toBe(false);
  expect(c.get('b')).toBe(1); // refresh b
  c.set('e', 4); // evicts c, the least recently used
  expect(c.has('c')).toBe(false);
  expect(c.has('b')).toBe(true);
  c.set('d', 30); // update in place, no eviction
  expect(c.size).toBe(3);
  expect(c.get('d')).toBe(30);
});

it('stores null values (used to cache rejected keys)', () => {
  const c = new LruCache<string, null>(2);
  c.set('k', null);
  expect(c.get('k')).toBeNull();
  expect(c.get('missing')).toBeUndefined();
});

it('capacity 0 stores nothing; invalid capacities throw', () => {
  const c = new LruCache<string, number>(0);
  c.set('a', 1);
  expect(c.size).toBe(0);
  expect(() => new LruCache(-1)).toThrow(RangeError);
  expect(() => new LruCache(Number.NaN)).toThrow(RangeError);
});
