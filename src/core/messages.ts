/**
 * Every message the protocol exchanges, as plain data.
 *
 * Names follow the brief; in Paxos and PBFT terms:
 *
 *   byzpax      Paxos (Lamport's Byzantine Paxos)   PBFT
 *   PROPOSE     phase 2a (1c after a view change)   PRE-PREPARE
 *   ACCEPT      2av (the echo), also the fast vote  PREPARE
 *   COMMIT      phase 2b                            COMMIT
 *   VIEW-CHANGE phase 1b                            VIEW-CHANGE
 *   NEW-VIEW    phase 1c + proof                    NEW-VIEW
 *
 * One signature does two jobs: a leader's PROPOSE is signed over exactly the statement an ACCEPT
 * is signed over, (ACCEPT, view, slot, digest). The leader's proposal therefore *is* its ACCEPT
 * (no second signature), and an ACCEPT statement signed by the leader of its view is the proof
 * of a proposal that a VIEW-CHANGE carries as `lastVote`.
 *
 * Signatures are over canonical statement bytes built in `statements.ts`; the wire encoding and
 * strict decoding live in `src/codec`.
 */
import type { ClientId, ReplicaId } from './config.ts';

export type Digest = Uint8Array;
export type Signature = Uint8Array;

/** A client's signed request. `ts` is the client's request number: strictly increasing per client. */
export interface ClientRequest {
  clientId: ClientId;
  ts: number;
  op: Uint8Array;
  sig: Signature;
}

/** Ordered requests for one slot. An empty batch is the no-op a NEW-VIEW uses for a FREE slot. */
export type Batch = ClientRequest[];

/** One signer's signature inside a certificate. */
export interface SignerSig {
  from: ReplicaId;
  sig: Signature;
}

/** q (or Qf) signatures over one (kind, view, slot, digest) statement: a prepare, fast or commit certificate. */
export interface VoteCert {
  view: number;
  slot: number;
  digest: Digest;
  sigs: SignerSig[];
}

/**
 * Proof that a slot is decided: Qf ACCEPTs (the fast path) or q COMMITs (the classic path) over
 * one (view, slot, digest).
 */
export interface DecisionCert extends VoteCert {
  kind: 'fast' | 'commit';
}

/**
 * q signatures over (CHECKPOINT, seq, stateDigest) by the members of `epoch`, the epoch whose slots
 * end at or after `seq` (a boundary checkpoint is certified by the epoch it closes). Seq 0 is the
 * genesis checkpoint and needs none.
 */
export interface CheckpointCert {
  epoch: number;
  seq: number;
  stateDigest: Digest;
  sigs: SignerSig[];
}

export interface RequestMsg {
  type: 'request';
  request: ClientRequest;
}

/** The leader's proposal. `sig` is the leader's ACCEPT signature over (view, slot, digest(batch)). */
export interface ProposeMsg {
  type: 'propose';
  view: number;
  slot: number;
  batch: Batch;
  sig: Signature;
}

export interface AcceptMsg {
  type: 'accept';
  view: number;
  slot: number;
  digest: Digest;
  from: ReplicaId;
  sig: Signature;
}

export interface CommitMsg {
  type: 'commit';
  view: number;
  slot: number;
  digest: Digest;
  from: ReplicaId;
  sig: Signature;
}

export interface CheckpointMsg {
  type: 'checkpoint';
  seq: number;
  stateDigest: Digest;
  from: ReplicaId;
  sig: Signature;
}

/** What a replica knows about one slot above its stable checkpoint, for a view change. */
export interface SlotEvidence {
  slot: number;
  /** Its highest-view ACCEPT, with the leader's signature proving the leader proposed it. */
  lastVote?: { view: number; digest: Digest; leaderSig: Signature };
  /** Its highest-view prepare certificate (q ACCEPTs). */
  prepared?: VoteCert;
  /** A fast or commit certificate: the slot is decided. */
  decided?: DecisionCert;
}

export interface ViewChangeMsg {
  type: 'view-change';
  newView: number;
  from: ReplicaId;
  checkpoint: CheckpointCert;
  slots: SlotEvidence[];
  /** The bodies of every digest named in `slots`, so a new leader can re-propose them. */
  batches: Batch[];
  sig: Signature;
}

export interface NewViewMsg {
  type: 'new-view';
  view: number;
  /** n − f VIEW-CHANGE messages for `view` from distinct replicas. */
  viewChanges: ViewChangeMsg[];
  /** The leader's re-proposals for every slot in (h*, maxS], recomputed and checked by every receiver. */
  proposals: ProposeMsg[];
  sig: Signature;
}

export interface ReplyMsg {
  type: 'reply';
  /** The signer's epoch: a client that sees a later one fetches the new configuration. */
  epoch: number;
  view: number;
  clientId: ClientId;
  ts: number;
  result: Uint8Array;
  /** The slot whose execution produced the result; part of what f+1 replies must match on. */
  slot: number;
  from: ReplicaId;
  /**
   * The replies of one slot are signed together (src/core/replies.ts): this one is leaf `index`
   * of a tree of `size` leaves, `path` leads to the root, and `sig` signs (view, slot, size, root).
   */
  index: number;
  size: number;
  path: Digest[];
  sig: Signature;
}

/** Periodic gossip that drives catch-up: peers answer with what the sender is missing. */
export interface StatusMsg {
  type: 'status';
  /** The sender's epoch: a peer in a later one sends it the configuration proofs it lacks. */
  epoch: number;
  view: number;
  /** Highest slot executed. */
  executed: number;
  /** Stable checkpoint seq. */
  stable: number;
  from: ReplicaId;
  sig: Signature;
}

/** A decided slot shipped to a replica that missed the votes: self-certifying through `cert`. */
export interface DecisionMsg {
  type: 'decision';
  batch: Batch;
  cert: DecisionCert;
  from: ReplicaId;
  sig: Signature;
}

/**
 * Proof of one configuration: the membership bytes of the snapshot at its boundary B, the hash of
 * the rest of that snapshot, and the checkpoint certificate at B by the epoch before. Whoever knows
 * epoch e can check the proof of e+1 alone, so a chain of them leads from genesis to today.
 */
export interface EpochLink {
  membership: Uint8Array;
  restHash: Digest;
  cert: CheckpointCert;
}

/** A stable checkpoint's application state, for a replica behind the low watermark. */
export interface StateMsg {
  type: 'state';
  /** Proofs of the configurations between the receiver's epoch and the checkpoint's. */
  links: EpochLink[];
  checkpoint: CheckpointCert;
  snapshot: Uint8Array;
  from: ReplicaId;
  sig: Signature;
}

export type ReplicaMessage =
  | ProposeMsg
  | AcceptMsg
  | CommitMsg
  | CheckpointMsg
  | ViewChangeMsg
  | NewViewMsg
  | StatusMsg
  | DecisionMsg
  | StateMsg;

/**
 * A client asks a replica for the configurations after epoch `since` (it saw a reply signed in an
 * epoch it does not know, or lost its replicas to a membership change).
 */
export interface ConfigQueryMsg {
  type: 'config-query';
  since: number;
}

/**
 * The answer: the proofs of the configurations after `since`, oldest first (at most a bounded
 * number; the client asks again from the last). Unsigned: each proof is checked with the epoch
 * before it, which the client knows, so a lying replica can only send proofs that fail.
 */
export const MAX_LINKS_PER_PROOF = 64;

export interface ConfigProofMsg {
  type: 'config-proof';
  links: EpochLink[];
}

export type Message = RequestMsg | ReplyMsg | ConfigQueryMsg | ConfigProofMsg | ReplicaMessage;
export type MessageType = Message['type'];

/** Messages between replicas (everything but requests, replies and a client's configuration queries). */
export function isReplicaMessage(m: Message): m is ReplicaMessage {
  return m.type !== 'request' && m.type !== 'reply' && m.type !== 'config-query' && m.type !== 'config-proof';
}
