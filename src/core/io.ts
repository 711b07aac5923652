/**
 * What goes into a replica and what comes out of one step.
 *
 * The driver's obligations, in order, for every `Outputs` it gets back (etcd-raft's Ready):
 *  1. Apply `persist` durably (fsync) BEFORE sending anything: a message may only leave once the
 *     vote or view it depends on is on disk, so a restarted honest replica never contradicts itself.
 *     Only promises must be synced first (`mustSyncBeforeSend`); records may trail, written with
 *     the next promise at the latest. `carryOut` (driver.ts) does all of this in order.
 *  2. Send `send` to the named replicas (`'all'` = every peer: `Replica.peers()`, which the
 *     epoch events announce) and `replies` to clients.
 *  3. `executed` and `events` are for observers: metrics, logs, the simulator's checkers.
 *
 * Time enters only as `tick` inputs: timers are tick counters inside the core, so the same core
 * runs on the simulator's virtual clock and on a real interval timer.
 */
import type { ClientId, ClusterConfig, ReplicaId } from './config.ts';
import type { Batch, CheckpointCert, DecisionCert, Digest, EpochLink, NewViewMsg, ReplicaMessage, ReplyMsg, RequestMsg, Signature, VoteCert } from './messages.ts';

/**
 * `from` / `fromClient`: the replica or client whose own authenticated channel carried the input
 * (the transport's handshake proved the peer; every frame after it is sealed). Absent when the
 * driver cannot say: then every signature is checked. What a replica may skip checking for an
 * input that came on its author's channel is argued where it does (request-checks.ts).
 */
export type Input =
  | { kind: 'message'; message: ReplicaMessage; from?: ReplicaId }
  | { kind: 'request'; message: RequestMsg; fromClient?: ClientId }
  | { kind: 'tick' };

export type PersistOp =
  | { kind: 'view'; view: number; normal: boolean }
  /** The NEW-VIEW that installed the current view: a restarted replica re-sends it to laggards. */
  | { kind: 'new-view'; message: NewViewMsg }
  /** The proposal this replica accepted for a slot (its lastVote), body included. */
  | { kind: 'proposal'; slot: number; view: number; batch: Batch; sig: Signature }
  | { kind: 'prepared'; cert: VoteCert }
  | { kind: 'commit-sent'; slot: number; view: number; digest: Digest }
  | { kind: 'decided'; cert: DecisionCert; batch: Batch | undefined }
  /** A stable checkpoint with its state; everything at or below `cert.seq` may be forgotten. */
  | { kind: 'checkpoint'; cert: CheckpointCert; snapshot: Uint8Array }
  /** The proof of a configuration this replica verified: a restart rebuilds the chain of epochs from them. */
  | { kind: 'epoch-link'; link: EpochLink };

/**
 * True for the ops a message may rest on as a promise: the view a replica is in, what it voted
 * for (its proposal/ACCEPT, its COMMIT), the NEW-VIEW it signed. They must be durable before any
 * message of the same step leaves, or a restarted replica could contradict itself (etcd-raft's
 * MustSync). The others — prepare certificates, decisions, checkpoints — are records of what a
 * quorum already signed: a replica that loses them re-learns them from its peers, so a driver may
 * write them later, as long as they reach disk no later than the next promise.
 */
export function mustSyncBeforeSend(op: PersistOp): boolean {
  return PROMISES.has(op.kind);
}

const PROMISES: ReadonlySet<PersistOp['kind']> = new Set(['view', 'new-view', 'proposal', 'commit-sent']);

/**
 * Whether a peer may hand us `message` on someone else's behalf. A signature inside proves who
 * wrote a message, so most may be forwarded (CHECKPOINTs, VIEW-CHANGEs, NEW-VIEWs, PROPOSEs), and a
 * backup relays a client's signed REQUEST to the leader (see `Send`). Votes, STATUS, DECISION and
 * STATE must come from their author: the core counts and answers them per sender, so a transport
 * drops them when the authenticated sender is not `message.from`.
 */
export function mayBeRelayed(message: ReplicaMessage | RequestMsg): boolean {
  switch (message.type) {
    case 'accept':
    case 'commit':
    case 'status':
    case 'decision':
    case 'state':
      return false;
    default:
      return true;
  }
}

export interface Send {
  to: ReplicaId | 'all';
  /** A RequestMsg here is a backup relaying a client's signed request to the leader. */
  message: ReplicaMessage | RequestMsg;
}

export interface ClientReply {
  clientId: ClientId;
  message: ReplyMsg;
}

/** One executed slot, reported once per execution (again after a restart re-executes it). */
export interface ExecutedSlot {
  slot: number;
  view: number;
  digest: Digest;
  /** Requests that changed state, with their results; duplicates are not listed. */
  applied: { clientId: ClientId; ts: number; result: Uint8Array }[];
  /**
   * The fast or commit certificate the replica executed on: checked, or built from votes that came
   * on their authors' own channels (whose signatures only a faulty author can have spoiled; see
   * channel-votes.ts) — or, if `attested`, one shipped by a peer, the decision being f+1 peers'
   * signed word.
   */
  cert: DecisionCert;
  attested?: true;
  batch: Batch;
}

export type ProtocolEvent =
  | { type: 'drop'; reason: string; from?: number; message?: string }
  | { type: 'view-change-started'; view: number; reason: string }
  | { type: 'new-view-installed'; view: number; leader: ReplicaId; reproposed: number }
  | { type: 'misbehaviour'; culprit: ReplicaId; what: string }
  | { type: 'checkpoint-stable'; seq: number }
  | { type: 'state-transferred'; seq: number; from: ReplicaId }
  | { type: 'fast-path-fallback'; through: number; reason: string }
  /** A membership change executed: epoch `epoch` begins after slot `activatesAfter`; `peers` now includes its members. */
  | { type: 'epoch-scheduled'; epoch: number; activatesAfter: number; peers: ReplicaId[] }
  /** A new epoch is current here; `member` says whether this replica votes in it. */
  | { type: 'epoch-started'; epoch: number; activatedAt: number; member: boolean; wasMember: boolean; peers: ReplicaId[]; config: ClusterConfig }
  | { type: 'alarm'; what: string };

export interface Outputs {
  persist: PersistOp[];
  send: Send[];
  replies: ClientReply[];
  executed: ExecutedSlot[];
  events: ProtocolEvent[];
}

export function emptyOutputs(): Outputs {
  return { persist: [], send: [], replies: [], executed: [], events: [] };
}
