/**
 * The reply trees (RFC 9162 Merkle trees): every leaf's path leads to the root for every tree
 * size, and a path proves exactly one (leaf, index) — not another leaf or position.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/crypto/bytes.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { MerkleTree, merkleLeafHash, merkleRootFromPath } from '../../src/crypto/merkle.ts';

const leaf = (i: number) => merkleLeafHash(new TextEncoder().encode(`leaf ${i}`));
const leaves = (n: number) => Array.from({ length: n }, (_, i) => leaf(i));

/** RFC 9162's definition, written plainly: MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])). */
function naiveRoot(ls: Uint8Array[]): Uint8Array {
  if (ls.length === 1) return ls[0]!;
  let k = 1;
  while (k * 2 < ls.length) k *= 2;
  return sha256(new Uint8Array([1]), naiveRoot(ls.slice(0, k)), naiveRoot(ls.slice(k)));
}

describe('Merkle reply trees', () => {
  it('root matches the RFC 9162 definition and every path proves its leaf, for sizes 1..70', () => {
    for (let n = 1; n <= 70; n++) {
      const ls = leaves(n);
      const tree = new MerkleTree(ls);
      const root = toHex(tree.root);
      expect(root).toBe(toHex(naiveRoot(ls)));
      for (let i = 0; i < n; i++) {
        const path = tree.path(i);
        expect(path.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        expect(toHex(merkleRootFromPath(ls[i]!, i, n, path)!)).toBe(root);
      }
    }
  });

  it('a path does not prove another leaf or another index, and a shortened or lengthened path fails', () => {
    const n = 13;
    const ls = leaves(n);
    const tree = new MerkleTree(ls);
    const root = toHex(tree.root);
    const proves = (l: Uint8Array, i: number, size: number, path: Uint8Array[]) => {
      const r = merkleRootFromPath(l, i, size, path);
      return r !== null && toHex(r) === root;
    };
    for (let i = 0; i < n; i++) {
      const path = tree.path(i);
      expect(proves(ls[(i + 1) % n]!, i, n, path)).toBe(false);
      for (let j = 0; j < n; j++) if (j !== i) expect(proves(ls[i]!, j, n, path)).toBe(false);
      // (Another tree size can give the same root for some leaves; that is why the size is signed
      // with the root — test/core/replies.test.ts.)
      expect(proves(ls[i]!, i, n, path.slice(0, -1))).toBe(false);
      expect(proves(ls[i]!, i, n, [...path, ls[0]!])).toBe(false);
    }
  });

  it('an inner node cannot pass for a leaf (leaves and nodes are hashed apart)', () => {
    const ls = leaves(4);
    const tree = new MerkleTree(ls);
    // The hash of leaves 0 and 1 is a node; presented as leaf 0 of a 2-leaf tree it must not prove the root.
    const node01 = sha256(new Uint8Array([1]), ls[0]!, ls[1]!);
    const r = merkleRootFromPath(node01, 0, 2, [tree.path(2)[1]!]);
    expect(r && toHex(r)).not.toBe(toHex(tree.root));
    expect(toHex(merkleLeafHash(new Uint8Array()))).not.toBe(toHex(sha256(new Uint8Array())));
  });

  it('rejects impossible positions instead of computing a root', () => {
    const tree = new MerkleTree(leaves(5));
    expect(merkleRootFromPath(leaf(0), 5, 5, tree.path(4))).toBeNull();
    expect(merkleRootFromPath(leaf(0), -1, 5, tree.path(0))).toBeNull();
    expect(merkleRootFromPath(leaf(0), 0, 0, [])).toBeNull();
    expect(merkleRootFromPath(leaf(0), 0, 1, [leaf(1)])).toBeNull();
    expect(() => tree.path(5)).toThrow(RangeError);
    expect(() => new MerkleTree([])).toThrow(RangeError);
  });
});
