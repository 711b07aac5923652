/**
 * Replies to clients, signed once per slot.
 *
 * Every replica answers every request it executes, and a client needs f+1 matching, signed
 * answers. Signing each reply made a replica sign once per request and made every client verify
 * f+1 signatures per request. Instead a replica puts the answers of one slot into a Merkle tree
 * (src/crypto/merkle.ts) and signs (view, slot, size, root) once; each reply carries its leaf's
 * path. A client checks the path (a few hashes) and the root's signature, which its verifier
 * caches: clients sharing one process and one verifier check each replica's slot signature once.
 *
 * What a reply proves is unchanged: replica `from` vouches that, in `view`, executing `slot`
 * gave client `clientId`'s request `ts` the answer `result`.
 */
import type { Auth } from './auth.ts';
import type { ReplicaId } from './config.ts';
import type { ReplyMsg } from './messages.ts';
import { MerkleTree, merkleLeafHash, merkleRootFromPath } from '../crypto/merkle.ts';

export interface ReplyContent {
  clientId: number;
  ts: number;
  result: Uint8Array;
}

/** Signs the answers of one slot with one signature and returns a reply per answer, in order. */
export function signReplies(auth: Auth, from: ReplicaId, view: number, slot: number, answers: readonly ReplyContent[]): ReplyMsg[] {
  if (answers.length === 0) return [];
  const tree = new MerkleTree(answers.map((a) => merkleLeafHash(auth.statements.replyLeaf(a.clientId, a.ts, a.result))));
  const sig = auth.sign(auth.statements.replies(view, slot, tree.size, tree.root));
  return answers.map((a, index) => ({ type: 'reply', epoch: auth.epoch, view, clientId: a.clientId, ts: a.ts, result: a.result, slot, from, index, size: tree.size, path: tree.path(index), sig }));
}

/** True if `reply` is what replica `reply.from` signed (its path leads to a root it signed). */
export function verifyReply(auth: Auth, reply: ReplyMsg): boolean {
  if (reply.epoch !== auth.epoch) return false;
  const leaf = merkleLeafHash(auth.statements.replyLeaf(reply.clientId, reply.ts, reply.result));
  const root = merkleRootFromPath(leaf, reply.index, reply.size, reply.path);
  if (!root) return false;
  return auth.verifyReplica(reply.from, auth.statements.replies(reply.view, reply.slot, reply.size, root), reply.sig);
}
