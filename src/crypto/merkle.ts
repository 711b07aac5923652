/**
 * Merkle trees as in Certificate Transparency (RFC 9162 §2.1): a replica signs the root over all
 * the replies of one slot once, and each reply carries the short path that ties it to that root.
 * One signature per slot instead of one per request, and a client process that verifies the
 * replies of many sessions checks each (replica, root) signature once (its verifier caches it).
 *
 * Leaves and inner nodes are hashed with different prefixes (0x00, 0x01), so an inner node can
 * never pass for a leaf. The tree size is part of what is signed: a path proves one position in a
 * tree of exactly that size, with no padding and no duplicated last leaf to confuse.
 */
import { sha256 } from './hash.ts';

const LEAF_PREFIX = new Uint8Array([0]);
const NODE_PREFIX = new Uint8Array([1]);

/** Most levels a path can have: trees are bounded far below 2^32 leaves. */
export const MAX_MERKLE_PATH = 32;

export function merkleLeafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** The largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A tree over leaf hashes; subtree hashes are memoised so all n paths cost O(n) hashes in total. */
export class MerkleTree {
  private readonly memo = new Map<number, Uint8Array>();

  constructor(private readonly leaves: readonly Uint8Array[]) {
    if (leaves.length === 0 || leaves.length >= 0x100000) throw new RangeError(`a Merkle tree here holds 1 to 2^20 - 1 leaves, not ${leaves.length}`);
  }

  get size(): number {
    return this.leaves.length;
  }

  get root(): Uint8Array {
    return this.hash(0, this.leaves.length);
  }

  /** The audit path of leaf `index`, from the bottom up (RFC 9162 §2.1.3.1). */
  path(index: number): Uint8Array[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.leaves.length) throw new RangeError(`leaf ${index} is not in a tree of ${this.leaves.length}`);
    const out: Uint8Array[] = [];
    let start = 0;
    let end = this.leaves.length;
    // Walk down from the root, collecting the sibling subtree at each split; reverse at the end.
    while (end - start > 1) {
      const k = split(end - start);
      if (index < start + k) {
        out.push(this.hash(start + k, end));
        end = start + k;
      } else {
        out.push(this.hash(start, start + k));
        start += k;
      }
    }
    return out.reverse();
  }

  private hash(start: number, end: number): Uint8Array {
    if (end - start === 1) return this.leaves[start]!;
    const key = start * 0x100000 + end; // trees here hold far fewer than 2^20 leaves
    let h = this.memo.get(key);
    if (!h) {
      const k = split(end - start);
      h = nodeHash(this.hash(start, start + k), this.hash(start + k, end));
      this.memo.set(key, h);
    }
    return h;
  }
}

/**
 * The root that `path` proves for leaf `index` of a tree of `size` leaves, or null if the path
 * cannot belong to such a tree (wrong length, index out of range). RFC 9162 §2.1.3.2.
 */
export function merkleRootFromPath(leafHash: Uint8Array, index: number, size: number, path: readonly Uint8Array[]): Uint8Array | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size || path.length > MAX_MERKLE_PATH) return null;
  // fn and sn stay below 2^53 but beyond 2^31, so halve with Math.floor rather than >>.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}
