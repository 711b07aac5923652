/**
 * The byzpax replica: classic Byzantine Paxos as a pure, deterministic state machine.
 *
 *     const outputs = replica.step(input)   // input: a peer message, a client request, or a tick
 *
 * No clock, socket, randomness or disk: the driver feeds inputs and carries out the outputs in the
 * order `io.ts` prescribes (persist, then send). The same code runs in the simulator and in a
 * real process.
 *
 * Read it top to bottom:
 *   1. client requests            onRequest → the leader batches → propose
 *   2. normal case                onPropose → ACCEPT → prepared (q ACCEPTs) → COMMIT → decided (q COMMITs)
 *   3. execution                  strictly in slot order, only with a verified commit certificate
 *   4. checkpoints                every K slots; q matching CHECKPOINTs make one stable; the log is truncated
 *   5. catch-up                   STATUS gossip; peers answer with DECISIONs (shipped certificates) or STATE
 *   6. view change                VIEW-CHANGE → the new leader's NEW-VIEW, recomputed by every receiver
 *   7. timers                     request timeouts, view-change back-off, retransmission
 *
 * Invariants a correct replica keeps (checked by the simulator):
 *   - it signs at most one ACCEPT and one COMMIT per (view, slot), and as leader one PROPOSE;
 *   - its view never decreases, and after VIEW-CHANGE(v) it votes in no view below v;
 *   - it executes a slot only after holding q matching COMMIT signatures for it, in slot order.
 */
import type { StateMachine } from './state-machine.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { Auth, type SignFn, type VerifyFn } from './auth.ts';
import {
  defaultParams,
  leaderOf,
  validateConfig,
  validateParams,
  type ClusterConfig,
  type ProtocolParams,
  type Quorums,
  type ReplicaId,
} from './config.ts';
import type { DurableState } from './durable.ts';
import { emptyOutputs, type Input, type Outputs, type ProtocolEvent } from './io.ts';
import type {
  AcceptMsg,
  Batch,
  CheckpointCert,
  CheckpointMsg,
  ClientRequest,
  CommitMsg,
  DecisionCert,
  DecisionMsg,
  Digest,
  NewViewMsg,
  ProposeMsg,
  ReplicaMessage,
  ReplyMsg,
  RequestMsg,
  SlotEvidence,
  StateMsg,
  StatusMsg,
  ViewChangeMsg,
  VoteCert,
} from './messages.ts';
import { ReplicatedState } from './replicated-state.ts';
import { signReplies } from './replies.ts';
import { selectValue, type SelectRule } from './select.ts';
import { SlotState } from './slot.ts';
import { batchDigest } from './statements.ts';
import { checkViewChange, planNewView, type ViewChangeContext } from './view-change.ts';

export interface ReplicaOptions {
  id: ReplicaId;
  config: ClusterConfig;
  params?: Partial<ProtocolParams>;
  signer: SignFn;
  verifier: VerifyFn;
  /** A fresh application instance (its initial state is the genesis state). */
  app: StateMachine;
  /** Present when restarting: what the replica persisted before it stopped. */
  durable?: DurableState;
  /** The view-change selection rule; replaceable only so tests can prove a broken rule is caught. */
  selectRule?: SelectRule;
}

/** Most decided slots shipped to one lagging peer per STATUS it sends. */
const MAX_DECISIONS_PER_STATUS = 32;

export class Replica {
  readonly id: ReplicaId;
  readonly config: ClusterConfig;
  readonly params: ProtocolParams;
  readonly quorums: Quorums;
  readonly auth: Auth;
  private readonly state: ReplicatedState;
  private readonly genesisDigest: Digest;
  private readonly selectRule: SelectRule;
  private readonly vcContext: ViewChangeContext;

  // --- view ---
  /** The current view, or during a view change the view being changed to. */
  view = 0;
  /** 'normal' once the view's NEW-VIEW is installed (view 0 starts installed). */
  status: 'normal' | 'view-change' = 'normal';
  /** The NEW-VIEW that installed the current view, re-sent to replicas still in an older view. */
  private newViewMsg: NewViewMsg | undefined;
  private readonly viewChanges = new Map<number, Map<ReplicaId, ViewChangeMsg>>();
  private viewChangeDeadline = 0;
  /** Consecutive view changes without executing anything: the exponent of the timeout back-off. */
  private viewChangeAttempts = 0;

  // --- log ---
  private readonly log = new Map<number, SlotState>();
  /** Last slot executed. */
  executed = 0;
  /** Stable checkpoint (low watermark h). Genesis is seq 0. */
  private stableCert: CheckpointCert;
  /** The state at the stable checkpoint, served to lagging peers; undefined while we lag behind it. */
  private stableSnapshot: Uint8Array | undefined;
  /** Our own checkpoints above the stable one, waiting for q matching signatures. */
  private readonly ownCheckpoints = new Map<number, { digest: Digest; snapshot: Uint8Array; sig: Uint8Array }>();
  private readonly checkpointVotes = new Map<number, Map<ReplicaId, { digestHex: string; sig: Uint8Array; digest: Digest }>>();
  /** Highest slot any valid message showed us: if above `executed`, we are behind. */
  private highestSeen = 0;
  /** A certified checkpoint above `executed`, applied when execution reaches it. */
  private pendingStable: CheckpointCert | undefined;

  // --- fast path ---
  /** Slots up to here commit classically without waiting: the first ones of a view, or after a fallback. */
  private fastPausedThrough = 0;
  private fastMisses = 0;
  /** Deferred policy: prepared slots waiting for their fast certificate, with the tick they stop waiting. */
  private readonly deferred = new Map<number, number>();

  // --- leader ---
  private nextSlot = 1;
  private readonly queue: ClientRequest[] = [];
  /** Requests queued or proposed and not yet executed, by "client:ts". */
  private readonly ordering = new Set<string>();

  // --- clients ---
  /** Requests a backup is waiting to see executed; a timeout makes it suspect the leader. */
  private readonly waiting = new Map<number, { request: ClientRequest; since: number }>();
  /** Signed replies kept for retransmissions (the session table holds the result itself). */
  private readonly replyCache = new Map<number, ReplyMsg>();

  // --- time ---
  now = 0;
  private lastStatus = 0;
  private executedAtLastStatus = 0;

  /** Reasons for every dropped input, counted; also the protocol counters observers read. */
  readonly counters = new Map<string, number>();
  private out: Outputs = emptyOutputs();

  constructor(opts: ReplicaOptions) {
    this.quorums = validateConfig(opts.config);
    this.params = { ...defaultParams, ...opts.params };
    validateParams(this.params);
    this.id = opts.id;
    if (!Number.isInteger(this.id) || this.id < 0 || this.id >= opts.config.n) throw new Error(`replica id ${this.id} is not in 0..${opts.config.n - 1}`);
    this.config = opts.config;
    this.auth = new Auth(opts.config, opts.signer, opts.verifier);
    this.state = new ReplicatedState(opts.app);
    this.genesisDigest = this.state.digest();
    this.stableCert = { seq: 0, stateDigest: this.genesisDigest, sigs: [] };
    this.stableSnapshot = this.state.snapshot();
    this.selectRule = opts.selectRule ?? selectValue;
    this.vcContext = { auth: this.auth, quorums: this.quorums, window: this.params.window, genesisDigest: this.genesisDigest };
    if (opts.durable) this.restore(opts.durable);
  }

  /** One input in, everything it causes out. */
  step(input: Input): Outputs {
    switch (input.kind) {
      case 'tick':
        this.onTick();
        break;
      case 'request':
        this.onRequest(input.message.request);
        break;
      case 'message':
        this.onMessage(input.message);
        break;
    }
    const out = this.out;
    this.out = emptyOutputs();
    return out;
  }

  get leader(): ReplicaId {
    return leaderOf(this.view, this.config.n);
  }

  get isLeader(): boolean {
    return this.leader === this.id && this.status === 'normal';
  }

  get lowWatermark(): number {
    return this.stableCert.seq;
  }

  get highWatermark(): number {
    return this.stableCert.seq + this.params.window;
  }

  /** The digest of the replicated state as of `executed` (costly: serialises the whole state). */
  stateDigest(): Digest {
    return this.state.digest();
  }

  // =====================================================================================
  // 1. Client requests
  // =====================================================================================

  private onRequest(request: ClientRequest): void {
    if (!this.auth.isClient(request.clientId)) return this.drop('request from unknown client', request.clientId);
    const session = this.state.session(request.clientId);
    if (session && request.ts < session.ts) return this.drop('request older than the last executed one', request.clientId);
    // Verified before anything else, cached replies included: only the client itself may make
    // us answer (and sign) on its behalf.
    if (!this.auth.verifyRequest(request)) return this.drop('bad client signature', request.clientId);
    if (session && request.ts === session.ts) {
      // A retransmission: the client lost our reply. Answer again; never execute twice.
      this.out.replies.push({ clientId: request.clientId, message: this.replyFor(request.clientId, session.ts, session.slot, session.result) });
      return;
    }

    const key = requestKey(request);
    if (this.isLeader) {
      if (!this.ordering.has(key)) {
        this.ordering.add(key);
        this.queue.push(request);
        this.proposeQueued();
      }
      return;
    }
    // A backup relays the request to the leader and starts suspecting it.
    const pending = this.waiting.get(request.clientId);
    if (!pending || pending.request.ts < request.ts) {
      this.waiting.set(request.clientId, { request, since: this.now });
    }
    if (this.status === 'normal') this.send(this.leader, { type: 'request', request });
  }

  /** The leader fills free slots in the window with batches of queued requests. */
  private proposeQueued(): void {
    while (
      this.isLeader &&
      this.queue.length > 0 &&
      this.nextSlot - 1 - this.executed < this.params.maxInflight &&
      this.nextSlot <= this.highWatermark
    ) {
      this.propose(this.nextSlot++, this.takeBatch());
    }
  }

  /**
   * Up to maxBatch queued requests, at most one per client: backups reject a batch naming a
   * client twice (a correct leader never sends one), so a client with two requests queued must
   * not get its leader deposed. Its later request waits for the next slot.
   */
  private takeBatch(): Batch {
    const batch: Batch = [];
    const clients = new Set<number>();
    for (let i = 0; i < this.queue.length && batch.length < this.params.maxBatch; ) {
      const r = this.queue[i]!;
      if (clients.has(r.clientId)) {
        i++;
        continue;
      }
      clients.add(r.clientId);
      batch.push(r);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private propose(slot: number, batch: Batch): void {
    const digest = batchDigest(batch);
    const sig = this.auth.signVote('accept', this.view, slot, digest);
    const msg: ProposeMsg = { type: 'propose', view: this.view, slot, batch, sig };
    this.acceptProposal(msg, digest);
    this.broadcast(msg);
    this.onAcceptsChanged(slot);
  }

  // =====================================================================================
  // 2. Normal case: PROPOSE → ACCEPT → prepared → COMMIT → decided
  // =====================================================================================

  private onMessage(m: ReplicaMessage): void {
    if ('from' in m) {
      if (!this.auth.isReplica(m.from)) return this.drop('message from unknown replica', m.from);
      if (m.from === this.id) return this.drop('message claims to be from this replica', m.from);
    }
    switch (m.type) {
      case 'propose':
        return this.onPropose(m, false);
      case 'accept':
        return this.onAccept(m);
      case 'commit':
        return this.onCommit(m);
      case 'checkpoint':
        return this.onCheckpoint(m);
      case 'view-change':
        return this.onViewChange(m);
      case 'new-view':
        return this.onNewView(m);
      case 'status':
        return this.onStatus(m);
      case 'decision':
        return this.onDecision(m);
      case 'state':
        return this.onState(m);
    }
  }

  /**
   * A backup accepts a proposal only in its installed view, inside the watermarks, once per
   * (view, slot), with the leader's signature and every client signature valid.
   * `fromNewView` proposals were already recomputed from the NEW-VIEW's evidence.
   */
  private onPropose(m: ProposeMsg, fromNewView: boolean): void {
    const leader = leaderOf(m.view, this.config.n);
    if (m.view < this.view) return this.drop('proposal for an old view', leader);
    if (m.view > this.view || this.status !== 'normal') return this.drop('proposal for a view not installed here', leader);
    if (leader === this.id) return this.drop('proposal claims to be from this replica', leader);
    if (!this.inWindow(m.slot)) return this.drop('proposal outside the watermarks', leader);
    const digest = batchDigest(m.batch);
    if (!this.auth.verifyProposal(m.view, m.slot, digest, m.sig)) return this.drop('proposal with a bad leader signature', leader);
    this.noteSlot(m.slot);

    const s = this.slot(m.slot);
    const digestHex = toHex(digest);
    if (s.proposal && s.proposal.view === m.view) {
      if (s.proposal.digestHex !== digestHex) return this.leaderMisbehaved(leader, `two proposals for slot ${m.slot} in view ${m.view}`);
      return this.drop('duplicate proposal', leader);
    }
    const leaderVote = s.accepts.get(leader);
    if (leaderVote && leaderVote.view === m.view && leaderVote.digestHex !== digestHex) {
      return this.leaderMisbehaved(leader, `proposal and ACCEPT disagree for slot ${m.slot} in view ${m.view}`);
    }
    if (!fromNewView) {
      const problem = this.checkBatch(m.batch);
      if (problem) return this.leaderMisbehaved(leader, `proposed an invalid batch: ${problem}`);
    }
    if (s.decided && s.decided.digestHex !== digestHex) {
      // Never vote against a decision. Who is at fault depends on the views (found by Twins):
      // a decision of a later view makes this proposal merely stale; a fresh proposal, or a
      // NEW-VIEW of the decision's own view, against it is one faulty leader equivocating; only
      // a NEW-VIEW for a later view, recomputed here from n − f VIEW-CHANGEs, contradicting it
      // means more than f replicas are faulty.
      const decidedView = s.decided.cert.view;
      if (decidedView > m.view) return this.drop('proposal contradicts a decision of a later view', leader);
      if (fromNewView && decidedView < m.view) return this.alarm(`proposal for slot ${m.slot} contradicts its commit certificate`);
      return this.leaderMisbehaved(leader, `proposal for slot ${m.slot} in view ${m.view} contradicts its commit certificate`);
    }
    this.acceptProposal(m, digest);
    const sig = this.auth.signVote('accept', m.view, m.slot, digest);
    SlotState.record(this.slot(m.slot).accepts, this.id, { view: m.view, digest, digestHex, sig });
    this.broadcast({ type: 'accept', view: m.view, slot: m.slot, digest, from: this.id, sig });
    this.onAcceptsChanged(m.slot);
  }

  /** Records the proposal as this replica's vote, durably, before any message that depends on it. */
  private acceptProposal(m: ProposeMsg, digest: Digest): void {
    const s = this.slot(m.slot);
    const digestHex = toHex(digest);
    s.proposal = { view: m.view, digest, digestHex, batch: m.batch, sig: m.sig };
    s.bodies.set(digestHex, m.batch);
    s.lastActivity = this.now;
    SlotState.record(s.accepts, leaderOf(m.view, this.config.n), { view: m.view, digest, digestHex, sig: m.sig });
    this.out.persist.push({ kind: 'proposal', slot: m.slot, view: m.view, batch: m.batch, sig: m.sig });
    // The COMMITs may have come first: the decision was waiting for exactly this body.
    if (s.decided && s.decided.digestHex === digestHex) this.executeDecided();
  }

  /** A correct leader checked every request before signing; a bad one is proof against it. */
  private checkBatch(batch: Batch): string | null {
    const clients = new Set<number>();
    for (const r of batch) {
      if (clients.has(r.clientId)) return `client ${r.clientId} appears twice`;
      clients.add(r.clientId);
      if (!this.auth.verifyRequest(r)) return `bad signature on client ${r.clientId}'s request ${r.ts}`;
    }
    return null;
  }

  private onAccept(m: AcceptMsg): void {
    if (m.view < this.view) return this.drop('ACCEPT for an old view', m.from);
    if (!this.inWindow(m.slot)) return this.drop('ACCEPT outside the watermarks', m.from);
    if (!this.auth.verifyVote('accept', m.from, m.view, m.slot, m.digest, m.sig)) return this.drop('ACCEPT with a bad signature', m.from);
    this.noteSlot(m.slot);
    const s = this.slot(m.slot);
    const digestHex = toHex(m.digest);
    if (m.from === leaderOf(m.view, this.config.n) && s.proposal && s.proposal.view === m.view && s.proposal.digestHex !== digestHex) {
      return this.leaderMisbehaved(m.from, `ACCEPT contradicts its proposal for slot ${m.slot} in view ${m.view}`);
    }
    const r = SlotState.record(s.accepts, m.from, { view: m.view, digest: m.digest, digestHex, sig: m.sig });
    if (r === 'conflict') return this.misbehaviour(m.from, `two ACCEPTs for slot ${m.slot} in view ${m.view}`);
    if (r === 'recorded') this.onAcceptsChanged(m.slot);
  }

  /** q matching ACCEPTs (the proposal counts as the leader's) for the proposal we accepted: prepared. */
  private checkPrepared(slotNo: number): void {
    const s = this.log.get(slotNo);
    if (!s || !s.proposal || this.status !== 'normal' || s.proposal.view !== this.view) return;
    if (s.prepared && s.prepared.cert.view >= this.view) return;
    const { view, digest, digestHex } = s.proposal;
    const sigs = SlotState.matching(s.accepts, view, digestHex);
    if (sigs.length < this.quorums.q) return;
    const cert: VoteCert = { view, slot: slotNo, digest, sigs: sigs.slice(0, this.quorums.q) };
    s.prepared = { cert, digestHex };
    s.lastActivity = this.now;
    this.out.persist.push({ kind: 'prepared', cert });
    if (this.waitsForFastCertificate(s)) {
      this.deferred.set(slotNo, this.now + this.params.deferTicks);
      return;
    }
    this.sendCommit(s, view, digest, digestHex);
  }

  /** Deferred policy, stable view, no recent misses: give the fast certificate a moment first. */
  private waitsForFastCertificate(s: SlotState): boolean {
    return this.params.mode === 'fast' && this.params.commitPolicy === 'deferred' && !s.decided && s.slot > this.fastPausedThrough;
  }

  /** A new ACCEPT for a slot may complete a prepare certificate, and on the fast path a decision. */
  private onAcceptsChanged(slotNo: number): void {
    this.checkPrepared(slotNo);
    if (this.params.mode === 'fast') this.checkFastDecision(slotNo);
  }

  /**
   * Qf matching ACCEPTs decide on their own (brief §2.3). Purely local and safe in any view: Qf
   * intersects every classic quorum and every view-change set in enough correct replicas
   * (q+Qf−n ≥ f+1; τ = Qf−2f of them are in any n−f VIEW-CHANGEs).
   */
  private checkFastDecision(slotNo: number): void {
    const s = this.log.get(slotNo);
    if (!s || s.decided) return;
    const cert = SlotState.quorumCert(s.accepts, slotNo, this.quorums.fast);
    if (cert) this.decide(s, { kind: 'fast', ...cert });
  }

  private sendCommit(s: SlotState, view: number, digest: Digest, digestHex: string): void {
    if (s.commitSent && s.commitSent.view >= view) return;
    const sig = this.auth.signVote('commit', view, s.slot, digest);
    s.commitSent = { view, digestHex, sig };
    SlotState.record(s.commits, this.id, { view, digest, digestHex, sig });
    this.out.persist.push({ kind: 'commit-sent', slot: s.slot, view, digest });
    this.broadcast({ type: 'commit', view, slot: s.slot, digest, from: this.id, sig });
    this.checkDecided(s.slot);
  }

  /**
   * COMMITs from any view count: q matching ones are a commit certificate whichever view they are
   * from, which lets a replica that moved on still learn an older decision.
   */
  private onCommit(m: CommitMsg): void {
    if (!this.inWindow(m.slot)) return this.drop('COMMIT outside the watermarks', m.from);
    if (!this.auth.verifyVote('commit', m.from, m.view, m.slot, m.digest, m.sig)) return this.drop('COMMIT with a bad signature', m.from);
    this.noteSlot(m.slot);
    const s = this.slot(m.slot);
    const r = SlotState.record(s.commits, m.from, { view: m.view, digest: m.digest, digestHex: toHex(m.digest), sig: m.sig });
    if (r === 'conflict') return this.misbehaviour(m.from, `two COMMITs for slot ${m.slot} in view ${m.view}`);
    if (r !== 'recorded') return;
    // Decided fast without sending COMMIT: a straggler is collecting COMMITs, so help it finish.
    if (s.decided?.cert.kind === 'fast' && !s.commitSent && s.prepared && s.prepared.digestHex === s.decided.digestHex) {
      this.sendCommit(s, s.prepared.cert.view, s.prepared.cert.digest, s.prepared.digestHex);
    }
    this.checkDecided(m.slot);
  }

  private checkDecided(slotNo: number): void {
    const s = this.log.get(slotNo);
    if (!s || s.decided) return;
    const cert = SlotState.quorumCert(s.commits, slotNo, this.quorums.q);
    if (cert) this.decide(s, { kind: 'commit', ...cert });
  }

  private decide(s: SlotState, cert: DecisionCert): void {
    const digestHex = toHex(cert.digest);
    s.decided = { cert, digestHex };
    s.lastActivity = this.now;
    this.count(cert.kind === 'fast' ? 'fast commits' : 'classic commits');
    if (this.deferred.delete(s.slot) && cert.kind === 'fast') this.fastMisses = 0;
    this.out.persist.push({ kind: 'decided', cert, batch: s.body(digestHex) });
    this.executeDecided();
  }

  // =====================================================================================
  // 3. Execution, strictly in slot order
  // =====================================================================================

  private executeDecided(): void {
    for (;;) {
      const s = this.log.get(this.executed + 1);
      if (!s || !s.decided) return;
      const batch = s.body(s.decided.digestHex);
      if (!batch) return; // decided without the body: a peer's DECISION will bring it
      this.execute(s, batch);
    }
  }

  private execute(s: SlotState, batch: Batch): void {
    const cert = s.decided!.cert;
    const applied: Outputs['executed'][number]['applied'] = [];
    for (const request of batch) {
      const outcome = this.state.execute(request, s.slot);
      const key = requestKey(request);
      this.ordering.delete(key);
      const w = this.waiting.get(request.clientId);
      if (w && w.request.ts <= request.ts) this.waiting.delete(request.clientId);
      if (outcome.kind === 'applied') applied.push({ clientId: request.clientId, ts: request.ts, result: outcome.result });
    }
    // One signature for all of the slot's replies (see replies.ts).
    for (const reply of signReplies(this.auth, this.id, this.view, s.slot, applied)) {
      this.replyCache.set(reply.clientId, reply);
      this.out.replies.push({ clientId: reply.clientId, message: reply });
    }
    this.executed = s.slot;
    this.viewChangeAttempts = 0;
    this.out.executed.push({ slot: s.slot, view: cert.view, digest: cert.digest, applied, cert, batch });
    if (s.slot % this.params.checkpointInterval === 0) this.takeCheckpoint(s.slot);
    if (this.pendingStable && this.pendingStable.seq <= this.executed) {
      const cert = this.pendingStable;
      this.pendingStable = undefined;
      this.onStableCertificate(cert);
    }
    this.proposeQueued();
  }

  private replyFor(clientId: number, ts: number, slot: number, result: Uint8Array): ReplyMsg {
    const cached = this.replyCache.get(clientId);
    if (cached && cached.ts === ts && cached.view === this.view) return cached;
    const [reply] = signReplies(this.auth, this.id, this.view, slot, [{ clientId, ts, result }]) as [ReplyMsg];
    this.replyCache.set(clientId, reply);
    return reply;
  }

  // =====================================================================================
  // 4. Checkpoints and log truncation
  // =====================================================================================

  private takeCheckpoint(seq: number): void {
    const snapshot = this.state.snapshot();
    const digest = sha256(snapshot);
    const sig = this.auth.sign(this.auth.statements.checkpoint(seq, digest));
    this.ownCheckpoints.set(seq, { digest, snapshot, sig });
    this.recordCheckpointVote(seq, this.id, digest, sig);
    this.broadcast({ type: 'checkpoint', seq, stateDigest: digest, from: this.id, sig });
  }

  private onCheckpoint(m: CheckpointMsg): void {
    if (m.seq <= this.lowWatermark) return; // already stable here: nothing to learn
    if (m.seq % this.params.checkpointInterval !== 0 || m.seq > this.highWatermark) return this.drop('CHECKPOINT for a sequence number outside the window', m.from);
    if (!this.auth.verifyReplica(m.from, this.auth.statements.checkpoint(m.seq, m.stateDigest), m.sig)) return this.drop('CHECKPOINT with a bad signature', m.from);
    this.noteSlot(m.seq);
    this.recordCheckpointVote(m.seq, m.from, m.stateDigest, m.sig);
  }

  private recordCheckpointVote(seq: number, from: ReplicaId, digest: Digest, sig: Uint8Array): void {
    let votes = this.checkpointVotes.get(seq);
    if (!votes) {
      votes = new Map();
      this.checkpointVotes.set(seq, votes);
    }
    if (votes.has(from)) return;
    const digestHex = toHex(digest);
    votes.set(from, { digestHex, sig, digest });
    const matching = [...votes.entries()].filter(([, v]) => v.digestHex === digestHex).sort((a, b) => a[0] - b[0]);
    if (matching.length >= this.quorums.q) {
      this.onStableCertificate({ seq, stateDigest: digest, sigs: matching.slice(0, this.quorums.q).map(([f, v]) => ({ from: f, sig: v.sig })) });
    }
  }

  /** A verified checkpoint certificate above our low watermark: advance, truncate, or fetch state. */
  private onStableCertificate(cert: CheckpointCert): void {
    if (cert.seq <= this.lowWatermark) return;
    if (this.executed < cert.seq) {
      // Behind it. Usually only by a few slots still being executed here, so keep the log and
      // apply the certificate on reaching it; if peers have truncated past us, STATUS makes
      // them send their state.
      if (!this.pendingStable || this.pendingStable.seq < cert.seq) this.pendingStable = cert;
      this.sendStatus();
      return;
    }
    const own = this.ownCheckpoints.get(cert.seq);
    if (this.executed >= cert.seq && own && !bytesEqual(own.digest, cert.stateDigest)) {
      this.alarm(`state at checkpoint ${cert.seq} differs from the certified one`);
      return;
    }
    if (!own) return; // executed past it without a checkpoint of our own: a later one will do
    this.stableCert = cert;
    this.stableSnapshot = own.snapshot;
    this.out.persist.push({ kind: 'checkpoint', cert, snapshot: own.snapshot });
    this.truncate(cert.seq);
    this.event({ type: 'checkpoint-stable', seq: cert.seq });
    this.proposeQueued();
  }

  private truncate(seq: number): void {
    for (const slot of this.log.keys()) if (slot <= seq) this.log.delete(slot);
    for (const s of this.ownCheckpoints.keys()) if (s <= seq) this.ownCheckpoints.delete(s);
    for (const s of this.checkpointVotes.keys()) if (s <= seq) this.checkpointVotes.delete(s);
    if (this.nextSlot <= seq) this.nextSlot = seq + 1;
  }

  // =====================================================================================
  // 5. Catch-up: STATUS, DECISION, STATE
  // =====================================================================================

  private sendStatus(): void {
    this.lastStatus = this.now;
    const sig = this.auth.sign(this.auth.statements.status(this.view, this.executed, this.lowWatermark, this.id));
    this.broadcast({ type: 'status', view: this.view, executed: this.executed, stable: this.lowWatermark, from: this.id, sig });
  }

  /** A peer told us how far it got: send what it is missing, from our own verified log. */
  private onStatus(m: StatusMsg): void {
    if (!this.auth.verifyReplica(m.from, this.auth.statements.status(m.view, m.executed, m.stable, m.from), m.sig)) return this.drop('STATUS with a bad signature', m.from);
    if (m.view < this.view && this.status === 'normal' && this.newViewMsg) this.send(m.from, this.newViewMsg);
    if (m.view <= this.view && this.status === 'view-change') {
      const mine = this.viewChanges.get(this.view)?.get(this.id);
      if (mine) this.send(m.from, mine);
    }
    if (m.executed < this.lowWatermark && this.stableSnapshot) {
      // The certificate's digest is the snapshot's hash: checked on every path that sets them.
      const sig = this.auth.sign(this.auth.statements.state(this.id, this.stableCert.seq, this.stableCert.stateDigest));
      this.send(m.from, { type: 'state', checkpoint: this.stableCert, snapshot: this.stableSnapshot, from: this.id, sig });
    }
    if (m.stable < this.lowWatermark && m.executed >= this.lowWatermark && this.lowWatermark > 0) {
      // It executed past our stable checkpoint but never saw it certified: relay the q signed
      // CHECKPOINTs that certify it (each verifies against its own signer).
      for (const s of this.stableCert.sigs) {
        if (s.from !== m.from) this.send(m.from, { type: 'checkpoint', seq: this.stableCert.seq, stateDigest: this.stableCert.stateDigest, from: s.from, sig: s.sig });
      }
    }
    let shipped = 0;
    for (let slot = Math.max(m.executed, this.lowWatermark) + 1; shipped < MAX_DECISIONS_PER_STATUS; slot++) {
      const s = this.log.get(slot);
      if (!s) break;
      const batch = s.decided ? s.body(s.decided.digestHex) : undefined;
      if (!s.decided || !batch) continue;
      const sig = this.auth.sign(this.auth.statements.decision(this.id, slot, s.decided.cert.digest));
      this.send(m.from, { type: 'decision', batch, cert: s.decided.cert, from: this.id, sig });
      shipped++;
    }
  }

  /** A shipped decision is self-certifying: q COMMIT signatures over the digest of its batch. */
  private onDecision(m: DecisionMsg): void {
    const slotNo = m.cert.slot;
    if (slotNo <= this.executed || !this.inWindow(slotNo)) return; // nothing we can use
    if (!this.auth.verifyReplica(m.from, this.auth.statements.decision(m.from, slotNo, m.cert.digest), m.sig)) return this.drop('DECISION with a bad signature', m.from);
    if (!bytesEqual(batchDigest(m.batch), m.cert.digest)) return this.drop('DECISION whose batch does not match its certificate', m.from);
    const s = this.slot(slotNo);
    if (s.decided && s.body(s.decided.digestHex)) return this.executeDecided();
    const problem = this.auth.checkDecisionCert(m.cert);
    if (problem) return this.drop(`DECISION: ${problem}`, m.from);
    if (s.decided && s.decided.digestHex !== toHex(m.cert.digest)) return this.alarm(`two commit certificates disagree on slot ${slotNo}`);
    s.bodies.set(toHex(m.cert.digest), m.batch);
    if (s.decided) {
      this.out.persist.push({ kind: 'decided', cert: s.decided.cert, batch: m.batch });
      this.executeDecided();
    } else {
      this.decide(s, m.cert);
    }
  }

  /** Installs a peer's snapshot only after checking it against a verified checkpoint certificate. */
  private onState(m: StateMsg): void {
    const cert = m.checkpoint;
    if (cert.seq <= this.executed) return; // we already have this state or newer
    const snapshotDigest = sha256(m.snapshot);
    if (!this.auth.verifyReplica(m.from, this.auth.statements.state(m.from, cert.seq, snapshotDigest), m.sig)) return this.drop('STATE with a bad signature', m.from);
    const problem = this.auth.checkCheckpointCert(cert, this.quorums.q, this.genesisDigest);
    if (problem) return this.drop(`STATE: ${problem}`, m.from);
    if (!bytesEqual(snapshotDigest, cert.stateDigest)) return this.misbehaviour(m.from, `served a snapshot that does not match checkpoint ${cert.seq}`);
    try {
      this.state.restore(m.snapshot);
    } catch (e) {
      return this.misbehaviour(m.from, `served a malformed snapshot: ${(e as Error).message}`);
    }
    this.executed = cert.seq;
    this.highestSeen = Math.max(this.highestSeen, cert.seq);
    this.stableCert = cert;
    this.stableSnapshot = m.snapshot;
    if (this.pendingStable && this.pendingStable.seq <= cert.seq) this.pendingStable = undefined;
    this.replyCache.clear();
    this.out.persist.push({ kind: 'checkpoint', cert, snapshot: m.snapshot });
    this.truncate(cert.seq);
    for (const [clientId, w] of this.waiting) {
      const session = this.state.session(clientId);
      if (session && session.ts >= w.request.ts) this.waiting.delete(clientId);
    }
    this.event({ type: 'state-transferred', seq: cert.seq, from: m.from });
    this.executeDecided();
  }

  // =====================================================================================
  // 6. View change
  // =====================================================================================

  private leaderMisbehaved(leader: ReplicaId, what: string): void {
    this.misbehaviour(leader, what);
    if (leader === this.leader && this.status === 'normal') this.startViewChange(this.view + 1, `leader misbehaved: ${what}`);
  }

  /** Moves to `newView`: persist the view first, then never vote below it again. */
  private startViewChange(newView: number, reason: string): void {
    if (newView <= this.view) return;
    this.view = newView;
    this.status = 'view-change';
    this.deferred.clear();
    this.newViewMsg = undefined;
    this.out.persist.push({ kind: 'view', view: newView, normal: false });
    this.viewChangeDeadline = Infinity;
    this.viewChangeAttempts++;
    this.event({ type: 'view-change-started', view: newView, reason });
    const vc = this.buildViewChange(newView);
    this.storeViewChange(vc);
    this.broadcast(vc);
    this.maybeSendNewView();
    // Views below the new one are over: forget their VIEW-CHANGEs.
    for (const v of this.viewChanges.keys()) if (v < newView) this.viewChanges.delete(v);
  }

  /** Everything this replica can prove about each slot above its stable checkpoint. */
  private buildViewChange(newView: number): ViewChangeMsg {
    const slots: SlotEvidence[] = [];
    const bodies = new Map<string, Batch>();
    const sorted = [...this.log.keys()].filter((k) => k > this.lowWatermark && k <= this.highWatermark).sort((a, b) => a - b);
    for (const slotNo of sorted) {
      const s = this.log.get(slotNo)!;
      const e: SlotEvidence = { slot: slotNo };
      // Evidence whose body we lack is left out: a new leader could not re-propose it, and the
      // correct replicas that prepared it carry it (they had the proposal).
      const withBody = (hex: string) => {
        const b = s.body(hex);
        if (b) bodies.set(hex, b);
        return b !== undefined;
      };
      if (s.proposal && s.proposal.view < newView && withBody(s.proposal.digestHex)) {
        e.lastVote = { view: s.proposal.view, digest: s.proposal.digest, leaderSig: s.proposal.sig };
      }
      if (s.prepared && s.prepared.cert.view < newView && withBody(s.prepared.digestHex)) e.prepared = s.prepared.cert;
      if (s.decided && s.decided.cert.view < newView && withBody(s.decided.digestHex)) e.decided = s.decided.cert;
      if (e.lastVote || e.prepared || e.decided) slots.push(e);
    }
    const body = { newView, from: this.id, checkpoint: this.stableCert, slots, batches: [...bodies.values()] };
    return { type: 'view-change', ...body, sig: this.auth.sign(this.auth.statements.viewChange(body)) };
  }

  private storeViewChange(vc: ViewChangeMsg): void {
    let set = this.viewChanges.get(vc.newView);
    if (!set) {
      set = new Map();
      this.viewChanges.set(vc.newView, set);
    }
    if (!set.has(vc.from)) set.set(vc.from, vc);
    // PBFT's rule: the timer for a view starts only once n − f replicas are changing to it. A
    // replica alone in a higher view waits for the others instead of running further ahead, so
    // correct replicas cannot drift apart in views and never meet. Replicas changing to a LATER
    // view count too (they gave up on this one): otherwise two correct replicas whose third
    // correct peer already moved past their view, its VIEW-CHANGE for their view lost, would wait
    // for ever — one replica ahead cannot pull them by the join rule (f+1) (found by the vc-lie
    // strategy, test/faults/regressions.test.ts).
    if (vc.newView >= this.view && this.status === 'view-change' && this.viewChangeDeadline === Infinity && this.changingAtOrAbove(this.view) >= this.quorums.viewChangeSet) {
      const exponent = Math.min(this.viewChangeAttempts - 1, this.params.maxBackoffExponent);
      this.viewChangeDeadline = this.now + this.params.viewChangeTimeoutTicks * 2 ** Math.max(0, exponent);
    }
  }

  /** Distinct replicas whose VIEW-CHANGE asks for `view` or a later one. */
  private changingAtOrAbove(view: number): number {
    const senders = new Set<ReplicaId>();
    for (const [v, set] of this.viewChanges) if (v >= view) for (const from of set.keys()) senders.add(from);
    return senders.size;
  }

  private onViewChange(m: ViewChangeMsg): void {
    if (m.newView < this.view) return this.drop('VIEW-CHANGE for an old view', m.from);
    if (m.newView === this.view && this.status === 'normal') {
      // The sender missed our NEW-VIEW.
      if (this.newViewMsg) this.send(m.from, this.newViewMsg);
      return;
    }
    if (this.viewChanges.get(m.newView)?.has(m.from)) return;
    const problem = checkViewChange(m, this.vcContext);
    if (problem) return this.drop(problem, m.from);
    // Bound memory against a peer that sends VIEW-CHANGEs for ever-higher views: keep only its highest.
    // Only after the check: a forgery naming another sender must not erase that sender's real one.
    for (const [v, set] of this.viewChanges) if (v < m.newView && v > this.view) set.delete(m.from);
    this.storeViewChange(m);

    // Join rule: f+1 replicas want a higher view, so at least one correct one does.
    const wanting = new Map<ReplicaId, number>();
    for (const [v, set] of this.viewChanges) {
      if (v <= this.view) continue;
      for (const from of set.keys()) wanting.set(from, Math.max(wanting.get(from) ?? 0, v));
    }
    if (wanting.size >= this.config.f + 1) {
      const target = Math.min(...wanting.values());
      this.startViewChange(target, `${wanting.size} replicas asked for view ${target} or higher`);
    }
    this.maybeSendNewView();
  }

  /** The new leader, holding n − f VIEW-CHANGEs for its view, computes and broadcasts NEW-VIEW. */
  private maybeSendNewView(): void {
    if (this.status !== 'view-change' || this.leader !== this.id) return;
    const set = this.viewChanges.get(this.view);
    if (!set || set.size < this.quorums.viewChangeSet) return;
    // Our own first, then by replica id: deterministic, so a replay yields the same NEW-VIEW.
    const own = set.get(this.id);
    if (!own) return;
    const others = [...set.values()].filter((vc) => vc.from !== this.id).sort((a, b) => a.from - b.from);
    const vcs = [own, ...others].slice(0, this.quorums.viewChangeSet);
    const plan = planNewView(vcs, this.quorums.tau, this.selectRule);
    if ('error' in plan) return this.alarm(`cannot form NEW-VIEW ${this.view}: ${plan.error}`);
    const proposals: ProposeMsg[] = plan.slots.map((p) => ({
      type: 'propose',
      view: this.view,
      slot: p.slot,
      batch: p.batch,
      sig: this.auth.signVote('accept', this.view, p.slot, p.digest),
    }));
    const body = { view: this.view, viewChanges: vcs, proposals };
    const nv: NewViewMsg = { type: 'new-view', ...body, sig: this.auth.sign(this.auth.statements.newView(body)) };
    this.broadcast(nv);
    this.installNewView(nv, plan.checkpoint);
  }

  private onNewView(m: NewViewMsg): void {
    const leader = leaderOf(m.view, this.config.n);
    if (m.view < this.view || (m.view === this.view && this.status === 'normal')) return this.drop('NEW-VIEW for a view already installed or passed', leader);
    if (leader === this.id) return this.drop('NEW-VIEW claims to be from this replica', leader);
    if (!this.auth.verifyReplica(leader, this.auth.statements.newView(m), m.sig)) return this.drop('NEW-VIEW with a bad signature', leader);
    const problem = this.checkNewView(m);
    if (problem) {
      // A signed, wrong NEW-VIEW is proof against its leader: move on to the next view.
      this.misbehaviour(leader, `invalid NEW-VIEW ${m.view}: ${problem}`);
      if (m.view >= this.view) this.startViewChange(m.view + 1, `invalid NEW-VIEW from replica ${leader}`);
      return;
    }
    const plan = planNewView(m.viewChanges, this.quorums.tau, this.selectRule);
    if ('error' in plan) return this.alarm(`NEW-VIEW ${m.view}: ${plan.error}`);
    this.view = m.view;
    this.installNewView(m, plan.checkpoint);
  }

  /** Recomputes the leader's choices from its own evidence and rejects any difference. */
  private checkNewView(m: NewViewMsg): string | null {
    if (m.viewChanges.length !== this.quorums.viewChangeSet) return `carries ${m.viewChanges.length} VIEW-CHANGEs, needs exactly ${this.quorums.viewChangeSet}`;
    const senders = new Set<number>();
    for (const vc of m.viewChanges) {
      if (vc.newView !== m.view) return `carries a VIEW-CHANGE for view ${vc.newView}`;
      if (senders.has(vc.from)) return `carries two VIEW-CHANGEs from replica ${vc.from}`;
      senders.add(vc.from);
      const problem = checkViewChange(vc, this.vcContext);
      if (problem) return problem;
    }
    const plan = planNewView(m.viewChanges, this.quorums.tau, this.selectRule);
    if ('error' in plan) return plan.error;
    if (plan.slots.length !== m.proposals.length) return `proposes ${m.proposals.length} slots, the evidence gives ${plan.slots.length}`;
    for (let i = 0; i < plan.slots.length; i++) {
      const want = plan.slots[i]!;
      const got = m.proposals[i]!;
      if (got.view !== m.view || got.slot !== want.slot) return `proposal ${i} is for view ${got.view} slot ${got.slot}, expected slot ${want.slot}`;
      const digest = batchDigest(got.batch);
      if (!bytesEqual(digest, want.digest)) return `slot ${want.slot}: proposes a different value than the evidence selects`;
      if (!this.auth.verifyProposal(m.view, got.slot, digest, got.sig)) return `slot ${want.slot}: bad proposal signature`;
    }
    return null;
  }

  /** Enters the new view: adopt its checkpoint, accept its re-proposals, hand pending requests over. */
  private installNewView(m: NewViewMsg, checkpoint: CheckpointCert): void {
    this.status = 'normal';
    this.newViewMsg = m;
    this.out.persist.push({ kind: 'view', view: m.view, normal: true });
    this.out.persist.push({ kind: 'new-view', message: m });
    for (const v of this.viewChanges.keys()) if (v <= m.view) this.viewChanges.delete(v);
    this.event({ type: 'new-view-installed', view: m.view, leader: this.leader, reproposed: m.proposals.length });
    if (checkpoint.seq > this.lowWatermark) this.onStableCertificate(checkpoint);

    const leading = this.leader === this.id;
    const lastSlot = m.proposals.length > 0 ? m.proposals[m.proposals.length - 1]!.slot : checkpoint.seq;
    // Re-proposed slots commit classically: the fast path is for a stable view. Set before the
    // re-proposals are accepted below: ACCEPTs for them that arrived ahead of this NEW-VIEW may
    // prepare a slot right away, and it must not start waiting for a fast certificate.
    this.fastPausedThrough = Math.max(this.fastPausedThrough, lastSlot);
    const reproposed = new Set<string>();
    for (const p of m.proposals) {
      for (const r of p.batch) reproposed.add(requestKey(r));
      if (leading) {
        const digest = batchDigest(p.batch);
        this.acceptProposal(p, digest);
        this.onAcceptsChanged(p.slot);
      } else {
        this.onPropose(p, true);
      }
    }
    this.nextSlot = Math.max(lastSlot, this.lowWatermark, this.executed) + 1;

    // Requests still waiting go to the new leader (or into its queue), and their timers restart.
    this.queue.length = 0;
    this.ordering.clear();
    for (const key of reproposed) this.ordering.add(key);
    for (const w of this.waiting.values()) {
      w.since = this.now;
      if (leading) {
        const key = requestKey(w.request);
        if (!this.ordering.has(key)) {
          this.ordering.add(key);
          this.queue.push(w.request);
        }
      } else {
        this.send(this.leader, { type: 'request', request: w.request });
      }
    }
    if (leading) this.waiting.clear();
    this.proposeQueued();
  }

  // =====================================================================================
  // 7. Timers
  // =====================================================================================

  private onTick(): void {
    this.now++;
    if (this.status === 'view-change') {
      if (this.now >= this.viewChangeDeadline) this.startViewChange(this.view + 1, 'no NEW-VIEW before the timeout');
    } else if (!this.isLeader) {
      for (const w of this.waiting.values()) {
        if (this.now - w.since >= this.params.requestTimeoutTicks) {
          this.startViewChange(this.view + 1, `request ${w.request.clientId}:${w.request.ts} not executed in time`);
          break;
        }
      }
    }
    if (this.deferred.size > 0) this.commitMissedFastSlots();
    if (this.now - this.lastStatus >= this.params.statusIntervalTicks) {
      const stalled = this.executed === this.executedAtLastStatus;
      this.executedAtLastStatus = this.executed;
      const behind = (stalled && (this.highestSeen > this.executed || this.waiting.size > 0)) || this.status === 'view-change';
      // Behind or waiting: ask every interval. Otherwise a slow heartbeat still finds what we don't know we miss.
      if (behind || this.now - this.lastStatus >= 8 * this.params.statusIntervalTicks) this.sendStatus();
      if (this.status === 'normal') this.retransmit();
      // CHECKPOINTs may be lost too, and without a stable checkpoint the window never moves.
      for (const [seq, cp] of this.ownCheckpoints) {
        if (seq > this.lowWatermark) this.broadcast({ type: 'checkpoint', seq, stateDigest: cp.digest, from: this.id, sig: cp.sig });
      }
    }
  }

  /**
   * Deferred policy: a prepared slot whose fast certificate did not complete in time falls back
   * to COMMIT. After `fastMissLimit` misses in a row (a slow or silent replica), stop waiting for
   * a while: at n = 3f+1 one slow replica is enough to make every fast certificate miss.
   */
  private commitMissedFastSlots(): void {
    for (const [slotNo, deadline] of this.deferred) {
      if (deadline > this.now) continue;
      this.deferred.delete(slotNo);
      const s = this.log.get(slotNo);
      if (!s || s.decided || !s.prepared || this.status !== 'normal') continue;
      this.sendCommit(s, s.prepared.cert.view, s.prepared.cert.digest, s.prepared.digestHex);
      this.count('fast path misses');
      if (++this.fastMisses >= this.params.fastMissLimit) {
        this.fastMisses = 0;
        // The pause covers the `classicSlotsAfterFallback` slots after the highest one in use
        // (nextSlot is the next free one, so nextSlot − 1; without the −1 a leader paused one slot more than its backups).
        this.fastPausedThrough = Math.max(this.highestSeen, this.nextSlot - 1) + this.params.classicSlotsAfterFallback;
        this.count('fast path fallbacks');
        this.event({ type: 'fast-path-fallback', through: this.fastPausedThrough, reason: `${this.params.fastMissLimit} slots in a row missed the fast certificate` });
      }
    }
  }

  /** Re-sends our own messages for slots that stopped making progress (messages may be lost). */
  private retransmit(): void {
    for (const s of this.log.values()) {
      if (s.decided || this.now - s.lastActivity < this.params.statusIntervalTicks) continue;
      s.lastActivity = this.now;
      const p = s.proposal;
      if (!p || p.view !== this.view) continue;
      if (this.isLeader) {
        this.broadcast({ type: 'propose', view: p.view, slot: s.slot, batch: p.batch, sig: p.sig });
      } else {
        const own = s.accepts.get(this.id);
        const sig = own && own.view === p.view ? own.sig : this.auth.signVote('accept', p.view, s.slot, p.digest);
        SlotState.record(s.accepts, this.id, { view: p.view, digest: p.digest, digestHex: p.digestHex, sig });
        this.broadcast({ type: 'accept', view: p.view, slot: s.slot, digest: p.digest, from: this.id, sig });
      }
      if (s.commitSent) {
        const c = s.commitSent;
        const digest = s.commits.get(this.id)?.digest;
        if (digest) this.broadcast({ type: 'commit', view: c.view, slot: s.slot, digest, from: this.id, sig: c.sig });
      }
    }
  }

  // =====================================================================================
  // Restart from durable state
  // =====================================================================================

  private restore(d: DurableState): void {
    if (d.checkpoint) {
      this.state.restore(d.checkpoint.snapshot);
      this.stableCert = d.checkpoint.cert;
      this.stableSnapshot = d.checkpoint.snapshot;
      this.executed = d.checkpoint.cert.seq;
    }
    this.view = d.view;
    this.status = d.normal ? 'normal' : 'view-change';
    // Without it, a restarted replica could not bring a peer still changing views into this one.
    if (d.normal && d.newView?.view === d.view) this.newViewMsg = d.newView;
    for (const [slotNo, ds] of [...d.slots.entries()].sort((a, b) => a[0] - b[0])) {
      if (slotNo <= this.lowWatermark) continue;
      const s = this.slot(slotNo);
      if (ds.proposal) {
        const digest = batchDigest(ds.proposal.batch);
        const digestHex = toHex(digest);
        s.proposal = { view: ds.proposal.view, digest, digestHex, batch: ds.proposal.batch, sig: ds.proposal.sig };
        s.bodies.set(digestHex, ds.proposal.batch);
        SlotState.record(s.accepts, leaderOf(ds.proposal.view, this.config.n), { view: ds.proposal.view, digest, digestHex, sig: ds.proposal.sig });
        if (ds.proposal.view === this.view && leaderOf(this.view, this.config.n) === this.id) this.nextSlot = Math.max(this.nextSlot, slotNo + 1);
      }
      if (ds.prepared) s.prepared = { cert: ds.prepared, digestHex: toHex(ds.prepared.digest) };
      if (ds.commitSent) {
        // Ed25519 is deterministic: re-signing yields the very signature we sent before the crash.
        const { view, digest } = ds.commitSent;
        const digestHex = toHex(digest);
        const sig = this.auth.signVote('commit', view, slotNo, digest);
        s.commitSent = { view, digestHex, sig };
        SlotState.record(s.commits, this.id, { view, digest, digestHex, sig });
      }
      if (ds.decided) {
        const digestHex = toHex(ds.decided.cert.digest);
        s.decided = { cert: ds.decided.cert, digestHex };
        if (ds.decided.batch) s.bodies.set(digestHex, ds.decided.batch);
      }
      this.highestSeen = Math.max(this.highestSeen, slotNo);
    }
    this.nextSlot = Math.max(this.nextSlot, this.executed + 1, this.lowWatermark + 1);
    this.executeDecided();
    if (this.status === 'view-change') {
      // We may have crashed before our VIEW-CHANGE left: send it (again).
      const vc = this.buildViewChange(this.view);
      this.storeViewChange(vc);
      this.broadcast(vc);
      this.viewChangeDeadline = Infinity;
      this.viewChangeAttempts = 1;
    }
  }

  /** Outputs produced while restoring (re-execution, a re-sent VIEW-CHANGE); the driver takes them once. */
  takeRestoreOutputs(): Outputs {
    const out = this.out;
    this.out = emptyOutputs();
    return out;
  }

  // =====================================================================================
  // Helpers
  // =====================================================================================

  private slot(slotNo: number): SlotState {
    let s = this.log.get(slotNo);
    if (!s) {
      s = new SlotState(slotNo);
      s.lastActivity = this.now;
      this.log.set(slotNo, s);
    }
    return s;
  }

  private inWindow(slot: number): boolean {
    return slot > this.lowWatermark && slot <= this.highWatermark;
  }

  private noteSlot(slot: number): void {
    if (slot > this.highestSeen) this.highestSeen = slot;
  }

  private broadcast(message: ReplicaMessage): void {
    this.out.send.push({ to: 'all', message });
  }

  private send(to: ReplicaId, message: ReplicaMessage | RequestMsg): void {
    this.out.send.push({ to, message });
  }

  private event(e: ProtocolEvent): void {
    this.out.events.push(e);
  }

  private count(key: string): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
  }

  private drop(reason: string, from?: number): void {
    this.count(`drop: ${reason}`);
    this.event({ type: 'drop', reason, ...(from === undefined ? {} : { from }) });
  }

  private misbehaviour(culprit: ReplicaId, what: string): void {
    this.count('misbehaviour detected');
    this.event({ type: 'misbehaviour', culprit, what });
  }

  private alarm(what: string): void {
    this.count('alarm');
    this.event({ type: 'alarm', what });
  }
}

function requestKey(r: ClientRequest): string {
  return `${r.clientId}:${r.ts}`;
}
