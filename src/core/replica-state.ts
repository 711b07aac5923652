/**
 * Everything one replica holds in memory, in one explicit object, and the few helpers every
 * section of the protocol shares (the slot table, the window test, and emitting outputs).
 *
 * The protocol itself is not here: each section is a module of plain functions over this object
 * (see the tour at the top of replica.ts). Every field names the module that owns it, the one
 * that changes it; other modules only read it unless stated.
 */
import { bytesEqual } from '../crypto/bytes.ts';
import { Auth, type SignFn } from './auth.ts';
import { epochOf, leaderOf, memberOf, quorums as quorumsOf, type ClusterConfig, type ProtocolParams, type Quorums, type ReplicaId } from './config.ts';
import { EpochChain } from './epochs.ts';
import { emptyOutputs, type Outputs, type ProtocolEvent } from './io.ts';
import type { CheckpointCert, ClientRequest, Digest, NewViewMsg, ReplicaMessage, ReplyMsg, RequestMsg, StatusMsg, ViewChangeMsg } from './messages.ts';
import { ReplicatedState } from './replicated-state.ts';
import { DirectRequests } from './request-checks.ts';
import type { SelectRule } from './select.ts';
import { SlotState } from './slot.ts';
import type { ViewChangeContext } from './view-change.ts';

/** What a replica counts: decisions by path, the fast path's misses and fallbacks, detections, drops by reason. */
export type ReplicaCounter =
  | 'fast commits'
  | 'classic commits'
  | 'fast path misses'
  | 'fast path fallbacks'
  | 'misbehaviour detected'
  | 'alarm'
  | 'catch-up answer held back (asked again within a status interval)'
  | `drop: ${string}`;

export interface Triggers {
  maybePropose(): void;
  sendStatus(): void;
  blameLeader(leader: ReplicaId, what: string): void;
  startViewChange(view: number, reason: string): void;
}

const unwired: Triggers = {
  maybePropose: () => notWired(),
  sendStatus: () => notWired(),
  blameLeader: () => notWired(),
  startViewChange: () => notWired(),
};

function notWired(): never {
  throw new Error('ReplicaState.triggers used before replica.ts wired them');
}

export class ReplicaState {
  readonly id: ReplicaId;
  readonly params: ProtocolParams;
  /** The application and its client session table (execution.ts, catch-up.ts on state transfer). */
  readonly app: ReplicatedState;
  readonly genesisDigest: Digest;
  readonly selectRule: SelectRule;

  // --- epoch (epochs.ts, checkpoints.ts switches it at a boundary, catch-up.ts on state transfer) ---
  /**
   * The configuration of the slots in the window: every vote, certificate and view change is
   * checked against its members and quorums. Changes only when a boundary checkpoint is stable.
   */
  config: ClusterConfig;
  quorums: Quorums;
  auth: Auth;
  vcContext: ViewChangeContext;
  /** Every configuration verified so far, from genesis, with its proofs. */
  readonly chain: EpochChain;
  /** Our keys: the one matching our entry in the current configuration signs (a rotated key takes over at the boundary). */
  readonly signers: SignFn[];
  /** True while this replica is a member of `config` with a key to sign for it; otherwise it only follows. */
  member = false;

  // --- view (view-change-handlers.ts) ---
  /** The current view, or during a view change the view being changed to. */
  view = 0;
  /** 'normal' once the view's NEW-VIEW is installed (view 0 starts installed). */
  status: 'normal' | 'view-change' = 'normal';
  /** The NEW-VIEW that installed the current view, re-sent to replicas still in an older view. */
  newViewMsg: NewViewMsg | undefined;
  readonly viewChanges = new Map<number, Map<ReplicaId, ViewChangeMsg>>();
  viewChangeDeadline = 0;
  /**
   * Entered a new epoch by state transfer: which view it is in comes from a NEW-VIEW or the join
   * rule, not from a view change of our own (catch-up.ts sets it, view-change-handlers.ts clears it).
   */
  awaitingView = false;
  /** Consecutive view changes without executing anything: the exponent of the timeout back-off (reset by execution.ts). */
  viewChangeAttempts = 0;

  // --- log (normal-case.ts adds votes and certificates, checkpoints.ts truncates) ---
  readonly log = new Map<number, SlotState>();
  /** Last slot executed (execution.ts; catch-up.ts on state transfer). */
  executed = 0;
  /** Highest slot any valid message showed us: if above `executed`, we are behind. */
  highestSeen = 0;

  // --- checkpoints (checkpoints.ts; catch-up.ts on state transfer) ---
  /** Stable checkpoint (low watermark h). Genesis is seq 0. */
  stableCert: CheckpointCert;
  /** The state at the stable checkpoint, served to lagging peers; undefined while we lag behind it. */
  stableSnapshot: Uint8Array | undefined;
  /** Our own checkpoints above the stable one, waiting for q matching signatures. */
  readonly ownCheckpoints = new Map<number, { digest: Digest; snapshot: Uint8Array; sig: Uint8Array | undefined }>();
  readonly checkpointVotes = new Map<number, Map<ReplicaId, { digestHex: string; sig: Uint8Array; digest: Digest }>>();
  /** A certified checkpoint above `executed`, applied when execution reaches it. */
  pendingStable: CheckpointCert | undefined;

  // --- fast path (normal-case.ts, timers.ts) ---
  /** Slots up to here commit classically without waiting: the first ones of a view, or after a fallback. */
  fastPausedThrough = 0;
  fastMisses = 0;
  /** Deferred policy: prepared slots waiting for their fast certificate, with the tick they stop waiting. */
  readonly deferred = new Map<number, number>();

  // --- leader (requests.ts; view-change-handlers.ts resets them on a new view) ---
  nextSlot = 1;
  readonly queue: ClientRequest[] = [];
  /** Requests queued or proposed and not yet executed, by "client:ts". */
  readonly ordering = new Set<string>();

  // --- clients (requests.ts, execution.ts) ---
  /** Requests a backup is waiting to see executed; a timeout makes it suspect the leader. */
  /** `relayed`: sent to the leader already, or seen in a PROPOSE (no relay needed). */
  readonly waiting = new Map<number, { request: ClientRequest; since: number; checked: boolean; relayed: boolean }>();
  /** Replicas caught sending invalid signatures on their own channels: their votes are checked on arrival (channel-votes.ts). */
  readonly distrusted = new Set<ReplicaId>();
  /** Requests taken unchecked from their clients' own channels (request-checks.ts). */
  readonly directRequests = new DirectRequests();
  /** Signed replies kept for retransmissions (the session table holds the result itself). */
  readonly replyCache = new Map<number, ReplyMsg>();

  // --- time (timers.ts, catch-up.ts) ---
  now = 0;
  /** While the epoch's end is pending: the executed slot when it last moved, and when (a leader that stops short of the boundary is suspected). */
  boundaryProgress = { executed: 0, since: 0 };
  lastStatus = 0;
  /** The last catch-up answer to each peer: when, and how far the peer said it was (catch-up.ts). */
  readonly catchUpAnswers = new Map<ReplicaId, { at: number; executed: number }>();
  /** The STATUS this replica last broadcast: also what it shows a client asking how it is. */
  lastStatusMsg: StatusMsg | undefined;
  executedAtLastStatus = 0;

  /** Reasons for every dropped input, counted; also the protocol counters observers read. */
  readonly counters = new Map<ReplicaCounter, number>();
  /** What the current step has produced so far. */
  out: Outputs = emptyOutputs();

  /**
   * What an earlier section must be able to set off in a later one: the leader proposes again
   * when execution frees a request or a checkpoint moves the window; a replica that sees it lags
   * behind a checkpoint asks for state; a backup that catches its leader lying starts a view
   * change. replica.ts wires them, so each section file imports only the sections below it and
   * no two import each other.
   */
  triggers: Triggers = unwired;

  constructor(o: { id: ReplicaId; config: ClusterConfig; params: ProtocolParams; auth: Auth; signers: SignFn[]; app: ReplicatedState; selectRule: SelectRule }) {
    this.id = o.id;
    this.params = o.params;
    this.app = o.app;
    this.signers = o.signers;
    this.genesisDigest = o.app.digest();
    this.stableCert = { epoch: 0, seq: 0, stateDigest: this.genesisDigest, sigs: [] };
    this.stableSnapshot = o.app.snapshot();
    this.selectRule = o.selectRule;
    this.chain = new EpochChain({ config: o.config, activatedAt: 0 }, o.auth, this.genesisDigest);
    this.config = o.config;
    this.quorums = o.auth.quorums;
    this.auth = o.auth;
    this.vcContext = this.makeVcContext();
    this.member = memberOf(o.config, o.id) !== undefined;
  }

  /** Makes `epoch` (known in the chain) the current one: its members, quorums and our key for it. */
  enterEpoch(epoch: number): void {
    const e = this.chain.get(epoch);
    if (!e) throw new Error(`epoch ${epoch} is not in the verified chain`);
    const me = memberOf(e.config, this.id);
    const signer = me ? this.signers.find((s) => s.publicKey === undefined || bytesEqual(s.publicKey, me.publicKey)) : undefined;
    this.config = e.config;
    this.quorums = quorumsOf(e.config.n, e.config.f);
    this.auth = signer ? this.auth.forConfig(e.config, signer) : this.auth.forConfig(e.config);
    this.vcContext = this.makeVcContext();
    this.member = me !== undefined && signer !== undefined;
  }

  private makeVcContext(): ViewChangeContext {
    return {
      auth: this.auth,
      quorums: this.quorums,
      window: this.params.window,
      epochStart: this.chain.get(epochOf(this.config))?.activatedAt ?? 0,
      checkCheckpoint: (cert) => this.chain.checkCheckpoint(cert),
    };
  }

  get epoch(): number {
    return epochOf(this.config);
  }

  /**
   * The last slot of the current epoch, if a change has executed here (Infinity otherwise): the
   * window stops there until its checkpoint is stable (see membership.ts for why).
   */
  get epochEnd(): number {
    const m = this.app.membership;
    if (epochOf(m.current.config) > this.epoch) return m.current.activatedAt;
    return m.next ? m.next.activatedAt : Infinity;
  }

  /**
   * Whom a broadcast should reach: the members of the current epoch, and of the next one once it
   * is known here (so a joining replica hears the checkpoint that starts its epoch).
   */
  peers(): ReplicaId[] {
    const ids = new Set(this.knownConfigurations().flatMap((c) => c.replicas.map((r) => r.id)));
    ids.delete(this.id);
    return [...ids].sort((a, b) => a - b);
  }

  /** The current epoch's configuration, then any later one executed here (a pending change's). */
  knownConfigurations(): ClusterConfig[] {
    const configs = [this.config];
    const m = this.app.membership;
    for (const e of [m.current, m.next]) if (e && epochOf(e.config) > epochOf(configs[configs.length - 1]!)) configs.push(e.config);
    return configs;
  }

  get leader(): ReplicaId {
    return leaderOf(this.view, this.config);
  }

  get isLeader(): boolean {
    return this.leader === this.id && this.status === 'normal' && this.member;
  }

  get lowWatermark(): number {
    return this.stableCert.seq;
  }

  get highWatermark(): number {
    return Math.min(this.stableCert.seq + this.params.window, this.epochEnd);
  }

  /** The slot's state, created empty on first use. */
  slot(slotNo: number): SlotState {
    let s = this.log.get(slotNo);
    if (!s) {
      s = new SlotState(slotNo);
      s.lastActivity = this.now;
      this.log.set(slotNo, s);
    }
    return s;
  }

  inWindow(slot: number): boolean {
    return slot > this.lowWatermark && slot <= this.highWatermark;
  }

  noteSlot(slot: number): void {
    if (slot > this.highestSeen) this.highestSeen = slot;
  }

  /** Hands over the outputs produced so far and starts a fresh set. */
  takeOutputs(): Outputs {
    const out = this.out;
    this.out = emptyOutputs();
    return out;
  }

  // --- outputs ---

  broadcast(message: ReplicaMessage): void {
    this.out.send.push({ to: 'all', message });
  }

  send(to: ReplicaId, message: ReplicaMessage | RequestMsg): void {
    this.out.send.push({ to, message });
  }

  event(e: ProtocolEvent): void {
    this.out.events.push(e);
  }

  count(key: ReplicaCounter): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
  }

  drop(reason: string, from?: number): void {
    this.count(`drop: ${reason}`);
    this.event({ type: 'drop', reason, ...(from === undefined ? {} : { from }) });
  }

  misbehaviour(culprit: ReplicaId, what: string): void {
    this.count('misbehaviour detected');
    this.event({ type: 'misbehaviour', culprit, what });
  }

  alarm(what: string): void {
    this.count('alarm');
    this.event({ type: 'alarm', what });
  }
}

/** The key under which a request is tracked while queued or in flight. */
export function requestKey(r: ClientRequest): string {
  return `${r.clientId}:${r.ts}`;
}
