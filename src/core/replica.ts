/**
 * The byzpax replica: classic Byzantine Paxos as a pure, deterministic state machine.
 *
 *     const outputs = replica.step(input)   // input: a peer message, a client request, or a tick
 *
 * No clock, socket, randomness or disk: the driver feeds inputs and carries out the outputs in the
 * order `io.ts` prescribes (persist, then send). The same code runs in the simulator and in a
 * real process.
 *
 * This file is the facade: `step()` dispatches each input to the section that handles it. The
 * protocol itself is a set of plain functions over one explicit state object. Read it in order:
 *   0. replica-state.ts         everything a replica holds, which section owns each field, output helpers
 *   1. requests.ts              handleRequest → the leader batches (maybePropose) → propose
 *   2. normal-case.ts           handlePropose → ACCEPT → prepared (q ACCEPTs) → COMMIT → decided (q COMMITs,
 *                               or Qf ACCEPTs on the fast path)
 *   3. execution.ts             maybeExecute: strictly in slot order, only with a decision certificate
 *   4. checkpoints.ts           every K slots; q matching CHECKPOINTs make one stable; the log is truncated
 *   5. catch-up.ts              STATUS gossip; peers answer with DECISIONs (shipped certificates) or STATE
 *   6. view-change-handlers.ts  VIEW-CHANGE → the new leader's NEW-VIEW, recomputed by every receiver;
 *                               the pure checks and the SELECT-based plan are in view-change.ts and select.ts
 *   7. timers.ts                request timeouts, view-change back-off, fast-path fallback, retransmission
 *   8. restore.ts               rebuilding memory from durable state after a restart
 *   9. invariants.ts            what must hold after every step; `invariants()` below runs it
 * The sections' imports form no cycle (checked by the layer rules): the three calls that would
 * close one — propose again, ask for state, blame the leader — go through `ReplicaState.triggers`,
 * wired in the constructor below.
 * Beside them: slot.ts (one slot's votes and certificates), auth.ts and statements.ts (what is
 * signed), messages.ts, io.ts (inputs and outputs), replicated-state.ts (the application, sessions
 * and membership). Membership change: membership.ts (configurations as replicated state, changes
 * as system commands, the boundary B where one takes effect) and epochs.ts (the chain of verified
 * configurations and the proofs linking them); checkpoints.ts switches epochs at B.
 *
 * Names say what a function does: `handleX` handles message or input X, `maybeX` does X if its
 * condition holds, `startX`/`becomeX` change the replica's mode, `validateX`/`checkX` are pure and
 * return a reason or null.
 *
 * Invariants a correct replica keeps (checked by the simulator, and locally by invariants.ts):
 *   - it signs at most one ACCEPT and one COMMIT per (view, slot), and as leader one PROPOSE;
 *   - its view never decreases, and after VIEW-CHANGE(v) it votes in no view below v;
 *   - it executes a slot only after holding q matching COMMIT signatures for it, in slot order.
 */
import type { StateMachine } from './state-machine.ts';
import { Auth, type SignFn, type VerifyFn } from './auth.ts';
import { handleDecision, handleState, handleStatus, sendStatus } from './catch-up.ts';
import { handleCheckpoint } from './checkpoints.ts';
import { defaultParams, epochOf, validateConfig, validateParams, type ClusterConfig, type ProtocolParams, type Quorums, type ReplicaId } from './config.ts';
import type { Membership } from './membership.ts';
import type { DurableState } from './durable.ts';
import { checkInvariants } from './invariants.ts';
import type { Input, Outputs } from './io.ts';
import { MAX_LINKS_PER_PROOF, type ConfigProofMsg, type Digest, type EpochLink, type ReplicaMessage, type StatusMsg } from './messages.ts';
import { handleAccept, handleCommit, handlePropose } from './normal-case.ts';
import { ReplicaState, type ReplicaCounter } from './replica-state.ts';
import { ReplicatedState } from './replicated-state.ts';
import { handleRequest, maybePropose } from './requests.ts';
import { restore } from './restore.ts';
import { selectValue, type SelectRule } from './select.ts';
import { handleTick } from './timers.ts';
import { blameLeader, handleNewView, handleViewChange, startViewChange } from './view-change-handlers.ts';

export interface ReplicaOptions {
  id: ReplicaId;
  config: ClusterConfig;
  params?: Partial<ProtocolParams>;
  signer: SignFn;
  verifier: VerifyFn;
  /** Keys this replica may sign with after a key rotation; the one matching its entry in an epoch signs for it. */
  moreSigners?: SignFn[];
  /** A fresh application instance (its initial state is the genesis state). */
  app: StateMachine;
  /** Present when restarting: what the replica persisted before it stopped. */
  durable?: DurableState;
  /** The view-change selection rule; replaceable only so tests can prove a broken rule is caught. */
  selectRule?: SelectRule;
}

export class Replica {
  readonly id: ReplicaId;
  /** The genesis configuration (cluster.json); `configuration` is the current epoch's. */
  readonly config: ClusterConfig;
  readonly params: ProtocolParams;
  private readonly s: ReplicaState;

  constructor(opts: ReplicaOptions) {
    if (epochOf(opts.config) !== 0) throw new Error(`a replica starts from the genesis configuration (epoch 0), not epoch ${epochOf(opts.config)}`);
    validateConfig(opts.config);
    const params = { ...defaultParams, ...opts.params };
    validateParams(params);
    const id = opts.id;
    // An id outside genesis is a replica joining: it follows until a verified epoch lists it.
    if (!Number.isSafeInteger(id) || id < 0) throw new Error(`replica id ${id} must be a non-negative integer`);
    const auth = new Auth(opts.config, opts.signer, opts.verifier);
    this.id = id;
    this.config = opts.config;
    this.params = params;
    const signers = [opts.signer, ...(opts.moreSigners ?? [])];
    const r = (this.s = new ReplicaState({ id, config: opts.config, params, auth, signers, app: new ReplicatedState(opts.app, opts.config), selectRule: opts.selectRule ?? selectValue }));
    r.triggers = {
      maybePropose: () => maybePropose(r),
      sendStatus: () => sendStatus(r),
      blameLeader: (leader, what) => blameLeader(r, leader, what),
      startViewChange: (view, reason) => startViewChange(r, view, reason),
    };
    if (opts.durable) restore(this.s, opts.durable);
  }

  /** The configuration of the current epoch: its members, f and keys. */
  get configuration(): ClusterConfig {
    return this.s.config;
  }

  get epoch(): number {
    return this.s.epoch;
  }

  get quorums(): Quorums {
    return this.s.quorums;
  }

  /** Signs and checks for the current epoch. */
  get auth(): Auth {
    return this.s.auth;
  }

  /** Whether this replica votes in the current epoch (false while joining, and after being removed). */
  get isMember(): boolean {
    return this.s.member;
  }

  /** Whom `'all'` means now: the current members and, once a change is scheduled, the next epoch's. */
  peers(): ReplicaId[] {
    return this.s.peers();
  }

  /**
   * The configurations a transport should connect by: the current epoch's and any later one known
   * here (a scheduled change's next epoch), so joining members are reached before their epoch.
   */
  knownConfigurations(): ClusterConfig[] {
    return this.s.knownConfigurations();
  }

  /** The replicated membership: the current configuration, a pending change, its boundary. */
  get membership(): Membership {
    return this.s.app.membership;
  }

  /** Proofs of every configuration after genesis verified here (what `byzpax config fetch` and joiners need). */
  get epochLinks(): readonly EpochLink[] {
    return this.s.chain.links;
  }

  /** The STATUS this replica last broadcast (signed; at most one status interval old). */
  get lastStatus(): StatusMsg | undefined {
    return this.s.lastStatusMsg;
  }

  /** The answer to a client that knows the configurations up to epoch `since` (see ConfigQueryMsg). */
  configProof(since: number): ConfigProofMsg {
    return { type: 'config-proof', links: this.s.chain.linksAbove(since).slice(0, MAX_LINKS_PER_PROOF) };
  }

  /** One input in, everything it causes out. */
  step(input: Input): Outputs {
    switch (input.kind) {
      case 'tick':
        handleTick(this.s);
        break;
      case 'request':
        handleRequest(this.s, input.message.request, input.fromClient === input.message.request.clientId);
        break;
      case 'message':
        handleMessage(this.s, input.message, input.from);
        break;
    }
    return this.s.takeOutputs();
  }

  /** Outputs produced while restoring (re-execution, a re-sent VIEW-CHANGE); the driver takes them once. */
  takeRestoreOutputs(): Outputs {
    return this.s.takeOutputs();
  }

  /** Every invariant of invariants.ts this replica's state violates, described; empty when all hold. */
  invariants(): string[] {
    return checkInvariants(this.s);
  }

  /** The current view, or during a view change the view being changed to. */
  get view(): number {
    return this.s.view;
  }

  /** 'normal' once the view's NEW-VIEW is installed (view 0 starts installed). */
  get status(): 'normal' | 'view-change' {
    return this.s.status;
  }

  /** Last slot executed. */
  get executed(): number {
    return this.s.executed;
  }

  /** Ticks seen so far. */
  get now(): number {
    return this.s.now;
  }

  /** Reasons for every dropped input, counted; also the protocol counters observers read. */
  get counters(): ReadonlyMap<ReplicaCounter, number> {
    return this.s.counters;
  }

  get leader(): ReplicaId {
    return this.s.leader;
  }

  get isLeader(): boolean {
    return this.s.isLeader;
  }

  get lowWatermark(): number {
    return this.s.lowWatermark;
  }

  get highWatermark(): number {
    return this.s.highWatermark;
  }

  /** The digest of the replicated state as of `executed` (costly: serialises the whole state). */
  stateDigest(): Digest {
    return this.s.app.digest();
  }

  /**
   * Test-only: the replica's whole state, to inspect collections or to corrupt it deliberately
   * (proving `invariants()` fires). Protocol code never reaches in through this.
   */
  get internalsForTests(): ReplicaState {
    return this.s;
  }
}

/**
 * Routes a peer message to its section's handler, after the checks every message shares.
 * `channel`: the replica whose own authenticated channel carried it, if the driver knows.
 */
function handleMessage(r: ReplicaState, m: ReplicaMessage, channel: ReplicaId | undefined): void {
  if ('from' in m) {
    if (m.from === r.id) return r.drop('message claims to be from this replica', m.from);
    // STATUS and STATE cross epochs (a replica behind, one joining); their handlers find the key.
    if (m.type !== 'status' && m.type !== 'state' && !r.auth.isReplica(m.from)) return r.drop('message from a replica that is not a member of the current epoch', m.from);
  }
  switch (m.type) {
    case 'propose':
      return handlePropose(r, m, false);
    case 'accept':
      return handleAccept(r, m, channel);
    case 'commit':
      return handleCommit(r, m, channel);
    case 'checkpoint':
      return handleCheckpoint(r, m);
    case 'view-change':
      return handleViewChange(r, m);
    case 'new-view':
      return handleNewView(r, m);
    case 'status':
      return handleStatus(r, m);
    case 'decision':
      return handleDecision(r, m);
    case 'state':
      return handleState(r, m);
  }
}
