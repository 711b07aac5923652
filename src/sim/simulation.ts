/**
 * One deterministic simulated run ("schedule"): n replicas running the real core with real keys,
 * closed-loop clients, a faulty network, crashes and restarts from persisted state, all driven by
 * one seeded PRNG on a virtual clock of ticks.
 *
 * A run has two phases, after TigerBeetle's VOPR:
 *   safety    `steps` ticks of chaos: loss, duplication, delay, partitions, crashes; every output
 *             of every correct replica is checked as it happens (checker.ts);
 *   liveness  the network heals and crashed replicas restart (at most f may stay down); every
 *             client request must then complete within `livenessTicks`.
 * At the end the clients' history is checked for linearizability.
 *
 * Replicas are reached through the `ProtocolNode` seam (src/core/node.ts), so any one of them can be replaced by an
 * adversary holding its real key: `byzantine` runs strategies of the src/faults library there
 * (counted against f, like `silent`), `nodeFactory` anything else.
 */
import { kvStoreFactory } from '../app/kv-store.ts';
import type { Operation } from '../check/history.ts';
import type { KvInput, KvOutput } from '../check/kv-model.ts';
import { decodeMessage, encodeMessage } from '../codec/wire.ts';
import { Auth } from '../core/auth.ts';
import { leaderOf, type ClusterConfig, type ProtocolParams } from '../core/config.ts';
import { describeMessage } from '../core/describe.ts';
import { carryOut, memoryDisk, type DriverIO } from '../core/driver.ts';
import { emptyDurableState, type DurableState } from '../core/durable.ts';
import { emptyOutputs, type ExecutedSlot, type Input, type Outputs } from '../core/io.ts';
import { isReplicaMessage, type DecisionCert, type Message, type ReplicaMessage, type RequestMsg } from '../core/messages.ts';
import { SilentNode, type ProtocolNode, type StartedNode } from '../core/node.ts';
import { HonestNode, startHonestNode } from '../core/restart.ts';
import { deterministicKeyPair } from '../crypto/keys.ts';
import { Signer } from '../crypto/signer.ts';
import { SignatureVerifier } from '../crypto/verifier.ts';
import { InMemoryCollusionHub, startByzantineNode, type CollusionHub, type StrategyName, type StrategyTuning } from '../faults/registry.ts';
import { toHex } from '../crypto/bytes.ts';
import { verifyReply } from '../core/replies.ts';
import { bump, emptyDetections, normalizeReason, SafetyChecker, type Detections } from './checker.ts';
import { finishRun, type RunOutcome } from './end-of-run.ts';
import { SimNetwork, type Address, type NetworkFaults } from './network.ts';
import { Prng } from '../random/prng.ts';
import { SimClient, type SimMembershipView } from './sim-client.ts';
import { SimAdmin, type PlannedChange } from './sim-admin.ts';
import { epochOf, memberOf } from '../core/config.ts';
import type { MembershipChange } from '../core/membership.ts';

export interface SimOptions {
  seed: number;
  n: number;
  f: number;
  clients: number;
  opsPerClient: number;
  /** Ticks of the safety (chaos) phase. */
  steps: number;
  /** Bound on the liveness phase, in ticks. */
  livenessTicks: number;
  /** Crash and restart replicas (at most f down at once), sometimes the leader. */
  crash: boolean;
  /** Draw loss, duplication, delays and partitions per seed; false = a calm network. */
  networkFaults: boolean;
  params: Partial<ProtocolParams>;
  /** Keep the full trace (otherwise only the last lines, for failure reports). */
  trace: boolean;
  /**
   * Replicas that receive everything and send nothing, from the start (a Byzantine replica that
   * withholds its votes, FAST-GRIEF-1). They count against f: random crashes keep the total ≤ f.
   */
  silent?: number[];
  /**
   * Replicas that run a Byzantine strategy (src/faults) with their real key, from the start and
   * after every restart. They count against f like `silent`: random crashes of correct replicas
   * keep the total of faulty replicas ≤ f (a Byzantine replica itself may still crash and restart).
   * More than f Byzantine replicas need `allowMoreThanF` — only to show the checker is not vacuous.
   */
  byzantine?: { id: number; strategy: StrategyName }[];
  allowMoreThanF?: boolean;
  /** Knobs for the Byzantine strategies (flood rate, crash-recover schedule, …). */
  tuning?: Partial<StrategyTuning>;
  /** Replaces replica `id` with another node (the Byzantine seam). */
  nodeFactory?: (id: number, ctx: NodeContext) => ProtocolNode | undefined;
  /** Scripted faults, on top of (or instead of) the random ones. */
  script?: ScriptedFault[];
  /** Watches the run: every trace line, every execution by a correct replica. */
  observer?: SimObserver;
  /**
   * Membership changes during the chaos phase, submitted one at a time by an admin client: `true`
   * draws a plan from the seed (grow, shrink, replace a member or the leader, rotate a key, change
   * f), or give the plan. New members start as joining replicas with only the genesis
   * configuration; removed ones keep running and must stop voting. A drawn plan also replaces
   * every replica running the `removed-member` strategy, which attacks once it is out.
   */
  reconfig?: boolean | PlannedChange[];
}

export type ScriptedFault =
  | { at: number; action: 'crash' | 'restart'; replica: number }
  | { at: number; action: 'crash-leader' }
  | { at: number; action: 'isolate'; replicas: number[] }
  /**
   * Cuts off, for `ticks`, whoever leads the highest view a correct replica is in: forces a view
   * change whether that leader is correct or Byzantine.
   */
  | { at: number; action: 'isolate-leader'; ticks: number }
  | { at: number; action: 'heal' };

export interface SimObserver {
  trace?(line: string): void;
  executed?(replica: number, e: ExecutedSlot, now: number): void;
  completed?(clientId: number, op: Operation<KvInput, KvOutput>, now: number): void;
}

export const defaultSimOptions: Omit<SimOptions, 'seed'> = {
  n: 4,
  f: 1,
  clients: 3,
  opsPerClient: 8,
  steps: 600,
  livenessTicks: 4000,
  crash: true,
  networkFaults: true,
  params: { checkpointInterval: 8, window: 16, maxInflight: 4, maxBatch: 4, requestTimeoutTicks: 40, viewChangeTimeoutTicks: 50, statusIntervalTicks: 10 },
  trace: false,
};

/**
 * Sums over decisions. `hops` is the length of the longest causal chain of messages from the
 * PROPOSE to the decision (message delays in the brief's sense: fast 2, classic 3); `ticks` is the
 * virtual time it took, which also counts waiting (the deferred policy's δ) and slow links.
 */
export interface DecisionCost {
  count: number;
  hops: number;
  ticks: number;
}

export interface NodeContext {
  config: ClusterConfig;
  params: Partial<ProtocolParams>;
  signer: Signer;
  verifier: SignatureVerifier;
  prng: Prng;
  /** On a restart, what this replica had persisted; a custom node must resume from it. */
  durable: DurableState | undefined;
}

export interface SimResult extends RunOutcome {
  seed: number;
  viewChanges: number;
  crashes: number;
  stateTransfers: number;
  messages: number;
  /** Decisions by correct replicas, by the certificate they executed on. */
  fastCommits: number;
  classicCommits: number;
  fallbacks: number;
  /** Signatures made and verifications asked for by all replicas (cache hits included). */
  signs: number;
  verifies: number;
  /** Bytes of all frames sent (replicas and clients). */
  bytes: number;
  /** Per decision by a correct replica, by path: what it took from the proposal to the decision. */
  decisions: { fast: DecisionCost; classic: DecisionCost };
  /** Highest view a correct replica reached (0: the first leader stayed). */
  maxView: number;
  /** What correct replicas and clients caught faulty replicas doing. */
  detections: Detections;
  faults: string;
  trace: string[];
}

/** The simulated admin's client id (its key may sign membership changes). */
export const SIM_ADMIN_ID = 1000;

/** Replica `id`'s key (any id: new members get theirs the same way); `rotation` > 0 is its rotated key. */
export function simReplicaKey(id: number, rotation = 0): { seed: Uint8Array; publicKey: Uint8Array } {
  return deterministicKeyPair(rotation === 0 ? `sim-replica-${id}` : `sim-replica-${id}-rotated-${rotation}`);
}

/** Keys are derived from fixed labels: the simulation uses real Ed25519, reproducibly. */
export function simCluster(n: number, f: number, clients: number): { config: ClusterConfig; replicaSeeds: Uint8Array[]; clientSeeds: Uint8Array[]; adminSeed: Uint8Array } {
  const replicaKeys = Array.from({ length: n }, (_, i) => simReplicaKey(i));
  const clientKeys = Array.from({ length: clients }, (_, i) => deterministicKeyPair(`sim-client-${i}`));
  const admin = deterministicKeyPair('sim-admin-0');
  return {
    config: {
      clusterId: 'sim',
      n,
      f,
      replicas: replicaKeys.map((k, id) => ({ id, publicKey: k.publicKey })),
      clients: clientKeys.map((k, id) => ({ id, publicKey: k.publicKey })),
      admins: [{ id: SIM_ADMIN_ID, publicKey: admin.publicKey }],
    },
    replicaSeeds: replicaKeys.map((k) => k.seed),
    clientSeeds: clientKeys.map((k) => k.seed),
    adminSeed: admin.seed,
  };
}

/** One verifier shared by every simulated party: a cached verification is still a real one, done once. */
const sharedVerifier = new SignatureVerifier({ cacheEntries: 1 << 17 });

export class Simulation {
  readonly opts: SimOptions;
  readonly prng: Prng;
  readonly config: ClusterConfig;
  readonly network: SimNetwork;
  readonly checker: SafetyChecker;
  readonly history: Operation<KvInput, KvOutput>[] = [];
  private readonly auth: Auth;
  private readonly replicaSeeds: Uint8Array[];
  private readonly nodes: (ProtocolNode | undefined)[];
  private readonly disks: DurableState[];
  /** Per replica: its disk, its links and the checkers, for `carryOut`. */
  private readonly io: DriverIO[];
  private readonly clients: SimClient[];
  private readonly traceLines: string[] = [];
  private now = 0;
  private eventCounter = 0;
  private readonly counts = { viewChanges: 0, crashes: 0, stateTransfers: 0, fastCommits: 0, classicCommits: 0, fallbacks: 0, signs: 0, verifies: 0 };
  private readonly decisionCosts = { fast: { count: 0, hops: 0, ticks: 0 }, classic: { count: 0, hops: 0, ticks: 0 } };
  /** `view:slot` → tick its proposal first left a leader (PROPOSE or NEW-VIEW). */
  private readonly proposedAt = new Map<string, number>();
  /** Per replica, `view:slot` → the longest causal chain of each kind of message it received for that proposal. */
  private readonly hopsSeen: Map<string, { propose: number; accept: number; commit: number }>[];
  private faultsDescription = 'calm';
  /** Replicas that stay down through the liveness phase (at most f). */
  private permanentlyDown = new Set<number>();
  private readonly byzantine = new Map<number, StrategyName>();
  /** Shared by every `collude` replica of the run. */
  private readonly hub: CollusionHub | undefined;
  private readonly detections: Detections = emptyDetections();
  /** Per client request: each replica's (slot, result) reply, until the client accepts one. */
  private readonly replyLog = new Map<string, Map<number, string>>();
  private readonly acceptedReply = new Map<string, string>();

  /** Ground truth: every epoch's Auth, as the correct replicas verified it (they must agree). */
  private readonly epochAuths: Auth[] = [];
  private readonly epochKeys: string[] = [];
  readonly membershipView: SimMembershipView = {
    latest: () => this.epochAuths[this.epochAuths.length - 1]!,
    authOf: (epoch) => this.epochAuths[epoch],
  };
  private readonly admin: SimAdmin | undefined;

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.prng = new Prng(opts.seed);
    const { config, replicaSeeds, clientSeeds, adminSeed } = simCluster(opts.n, opts.f, opts.clients);
    this.config = config;
    this.replicaSeeds = replicaSeeds;
    for (const b of opts.byzantine ?? []) {
      if (!Number.isInteger(b.id) || b.id < 0 || b.id >= opts.n) throw new Error(`byzantine replica ${b.id} is not in 0..${opts.n - 1}`);
      if (this.byzantine.has(b.id) || opts.silent?.includes(b.id)) throw new Error(`replica ${b.id} is given two faulty roles`);
      this.byzantine.set(b.id, b.strategy);
    }
    if (this.faultyBudgetUsed > opts.f && !opts.allowMoreThanF) {
      throw new Error(`${this.faultyBudgetUsed} silent or Byzantine replicas but f=${opts.f}: more than f faulty replicas void every guarantee (set allowMoreThanF to show it)`);
    }
    const colluders = [...this.byzantine].filter(([, s]) => s === 'collude').map(([id]) => id);
    this.hub = colluders.length > 0 ? new InMemoryCollusionHub(colluders) : undefined;
    this.network = new SimNetwork(this.prng.fork());
    this.auth = new Auth(config, new Signer(replicaSeeds[0]!), sharedVerifier);
    this.epochAuths.push(this.auth);
    this.epochKeys.push(describeConfig(config));
    this.checker = new SafetyChecker(this.auth, (slot) => this.authForSlot(slot), (id) => this.nodes[id]?.honest ?? false);
    this.disks = replicaSeeds.map(() => emptyDurableState());
    this.hopsSeen = replicaSeeds.map(() => new Map());
    this.io = replicaSeeds.map((_, id) => this.driverIO(id));
    this.nodes = replicaSeeds.map((_, id) => this.startNode(id, false).node);
    const clientPrng = this.prng.fork();
    const keys = ['k0', 'k1', 'k2'];
    this.clients = clientSeeds.map((seed, id) => {
      const signer = new Signer(seed);
      return new SimClient(
        { id, operations: opts.opsPerClient, keys, retryTicks: 30 },
        this.membershipView,
        (statement) => signer.sign(statement),
        clientPrng.fork(),
        this.history,
        { event: () => ++this.eventCounter },
      );
    });
    if (opts.reconfig) {
      const retire = [...this.byzantine].filter(([, s]) => s === 'removed-member').map(([id]) => id);
      const plan = opts.reconfig === true ? drawReconfigPlan(this.prng.fork(), opts.n, retire) : opts.reconfig;
      const adminSigner = new Signer(adminSeed);
      const startAt = 20 + this.prng.int(Math.max(1, Math.floor(opts.steps / 3)));
      this.admin = new SimAdmin(SIM_ADMIN_ID, plan, this.membershipView, (s) => adminSigner.sign(s), startAt, 30, (change) => this.onChangeAccepted(change));
    }
  }

  /** The epoch whose slots include `slot`, as the correct replicas verified them. */
  private authForSlot(slot: number): Auth {
    for (let e = this.epochAuths.length - 1; e > 0; e--) if (slot > this.epochStart[e]!) return this.epochAuths[e]!;
    return this.epochAuths[0]!;
  }

  private readonly epochStart: number[] = [0];

  /** A correct replica started an epoch: the first report defines it, every other must match. */
  private onEpochStarted(replica: number, epoch: number, activatedAt: number, config: ClusterConfig): void {
    const key = `${activatedAt}/${describeConfig(config)}`;
    const known = this.epochKeys[epoch];
    if (known === undefined) {
      if (epoch !== this.epochAuths.length) return this.checker.report(`replica ${replica} started epoch ${epoch} before epoch ${this.epochAuths.length}`);
      this.epochKeys[epoch] = key;
      this.epochStart[epoch] = activatedAt;
      this.epochAuths[epoch] = this.auth.forConfig(config);
      this.trace(`epoch ${epoch} begins after slot ${activatedAt}: members {${config.replicas.map((r) => r.id).join(',')}} f=${config.f}`);
    } else if (epoch > 0 && known !== key) {
      this.checker.report(`replica ${replica} started epoch ${epoch} as ${key}, others as ${known}`);
    }
  }

  /** An accepted change that adds a member: its replica starts now, as a joining replica. */
  private onChangeAccepted(change: MembershipChange): void {
    this.trace(`admin: change accepted ${JSON.stringify(change, (_, v) => (v instanceof Uint8Array ? `${toHex(v).slice(0, 8)}…` : v))}`);
    const member = change.kind === 'add' || change.kind === 'replace' ? change.member : undefined;
    if (member && !this.nodes[member.id]) {
      this.ensureSlot(member.id);
      this.nodes[member.id] = this.startNode(member.id, false).node;
      this.trace(`+ R${member.id} starts, joining from the genesis configuration`);
    }
  }

  /** Makes room for replica `id` (a new member) in the per-replica tables. */
  private ensureSlot(id: number): void {
    while (this.disks.length <= id) {
      const i = this.disks.length;
      this.replicaSeeds.push(simReplicaKey(i).seed);
      this.disks.push(emptyDurableState());
      this.hopsSeen.push(new Map());
      this.io.push(this.driverIO(i));
      this.nodes.push(undefined);
    }
  }

  /**
   * How many replicas may be faulty at once: f, and while membership changes, the smallest f of
   * the epochs in play (a replica down across a boundary counts in both). Every down replica
   * counts, removed ones included, to stay on the safe side.
   */
  private get crashBudget(): number {
    const n = this.epochAuths.length;
    const fs = this.epochAuths.slice(Math.max(0, n - 2)).map((a) => a.config.f);
    return Math.min(this.config.f, ...fs);
  }

  /** Replicas that are faulty by design (silent or Byzantine): the crash budget is f minus these. */
  private get faultyBudgetUsed(): number {
    return (this.opts.silent?.length ?? 0) + this.byzantine.size;
  }

  private startNode(id: number, restart: boolean): StartedNode {
    const signer = new Signer(this.replicaSeeds[id]!);
    // A key rotation in the plan: the replica holds its next key too, which signs once its epoch lists it.
    const moreSigners = this.opts.reconfig ? [new Signer(simReplicaKey(id, 1).seed)] : [];
    const durable = restart ? this.disks[id]! : undefined;
    if (this.opts.silent?.includes(id)) return { node: new SilentNode(id), outputs: emptyOutputs() };
    const strategy = this.byzantine.get(id);
    if (strategy) {
      return startByzantineNode(strategy, {
        id,
        config: this.config,
        params: this.opts.params,
        signer,
        verifier: sharedVerifier,
        random: this.prng.fork(),
        durable,
        hub: this.hub,
        tuning: this.opts.tuning,
      });
    }
    const custom = this.opts.nodeFactory?.(id, { config: this.config, params: this.opts.params, signer, verifier: sharedVerifier, prng: this.prng.fork(), durable });
    if (custom) return { node: custom, outputs: emptyOutputs() };
    return startHonestNode({ id, config: this.config, params: this.opts.params, signer, moreSigners, verifier: sharedVerifier, app: kvStoreFactory() }, durable);
  }

  /** One step of a node, and everything it causes: its outputs, then any raw frames it wants sent. */
  private stepNode(id: number, node: ProtocolNode, input: Input): void {
    this.carryOut(id, node, node.step(input));
  }

  private carryOut(id: number, node: ProtocolNode, out: Outputs): void {
    carryOut(out, this.io[id]!, node.takeRawFrames?.());
    if (!node.honest) return;
    this.checker.onView(id, node.view);
    for (const v of node.invariants?.() ?? []) this.checker.report(`invariant at replica ${id}: ${v}`);
  }

  trace(line: string): void {
    this.opts.observer?.trace?.(line);
    this.traceLines.push(`${String(this.now).padStart(5)} ${line}`);
    if (!this.opts.trace && this.traceLines.length > 4000) this.traceLines.splice(0, 2000);
  }

  /** Every replica slot ever started: members of any epoch, joining and removed ones. */
  private get replicaAddresses(): Address[] {
    return this.nodes.map((_, id) => id);
  }

  /** Who a send from `id` reaches: `'all'` is every other replica. */
  private targetsOf(id: number, to: number | 'all'): Address[] {
    return to === 'all' ? this.replicaAddresses.filter((a) => a !== id) : [to];
  }

  /** Replica `id`'s disk, links and checkers; honesty is read per call, as the node in the slot changes. */
  private driverIO(id: number): DriverIO {
    const honest = () => this.nodes[id]?.honest ?? true;
    const disk = memoryDisk(this.disks[id]!);
    return {
      disk: {
        write: (ops, mustSync) => {
          disk.write(ops, mustSync);
          for (const op of ops) if (op.kind === 'decided' && honest()) this.countDecision(id, op.cert);
        },
      },
      network: {
        send: (s) => {
          if (honest()) this.checker.onSent(id, s.message);
          const frame = encodeMessage(s.message);
          const hops = this.hopsOf(id, s.message);
          for (const to of this.targetsOf(id, s.to)) this.network.send(id, to, frame, this.now, hops);
          if (this.opts.trace) this.trace(`R${id} → ${s.to === 'all' ? '*' : `R${s.to}`} ${describeMessage(s.message)}`);
        },
        reply: (r) => this.network.send(id, `client:${r.clientId}`, encodeMessage(r.message), this.now),
        raw: (r) => {
          for (const to of this.targetsOf(id, r.to)) this.network.send(id, to, r.frame, this.now);
          if (this.opts.trace) this.trace(`R${id} → ${r.to === 'all' ? '*' : `R${r.to}`} raw frame of ${r.frame.length} bytes`);
        },
      },
      observer: {
        // Counted for correct replicas only: what a Byzantine node's embedded replica does is its own business.
        event: (ev) => {
          const h = honest();
          if (ev.type === 'drop') {
            if (h) {
              bump(this.detections.drops, normalizeReason(ev.reason));
              if (ev.from !== undefined) bump(this.detections.dropsFrom, ev.from);
            }
            if (this.opts.trace) this.trace(`R${id} drops: ${ev.reason}${ev.from === undefined ? '' : ` (from ${ev.from})`}`);
            return;
          }
          if (h) {
            // A state transfer resets where execution continues; events come before the step's executions.
            if (ev.type === 'state-transferred') {
              this.checker.onExecutionReset(id, ev.seq);
              this.counts.stateTransfers++;
            }
            if (ev.type === 'view-change-started') this.counts.viewChanges++;
            if (ev.type === 'fast-path-fallback') this.counts.fallbacks++;
            if (ev.type === 'misbehaviour') {
              bump(this.detections.misbehaviourBy, ev.culprit);
              bump(this.detections.misbehaviour, normalizeReason(ev.what));
              if (this.detections.first.length < 10) this.detections.first.push({ at: this.now, by: id, culprit: ev.culprit, what: ev.what });
            }
            if (ev.type === 'alarm') this.checker.report(`alarm at replica ${id}: ${ev.what}`);
            if (ev.type === 'epoch-started') this.onEpochStarted(id, ev.epoch, ev.activatedAt, ev.config);
          }
          this.trace(`R${id} ${ev.type} ${JSON.stringify({ ...ev, type: undefined, config: undefined })}`);
        },
        executed: (e) => {
          if (honest()) {
            this.checker.onExecuted(id, e);
            this.counts[e.cert.kind === 'fast' ? 'fastCommits' : 'classicCommits']++;
            this.opts.observer?.executed?.(id, e, this.now);
          }
          if (this.opts.trace) this.trace(`R${id} executes s${e.slot} v${e.view} (${e.batch.length} req)`);
        },
      },
    };
  }

  /*
   * Message delays per decision. Every frame carries (outside the bytes, invisible to replicas)
   * the length of the causal chain behind it: PROPOSE 1, ACCEPT one more than the PROPOSE it
   * answers, COMMIT one more than the ACCEPTs that prepared it. A fast decision then sits at the
   * deepest ACCEPT seen (2 on a clean run), a classic one at the deepest COMMIT (3).
   */
  private hopsAt(id: number, key: string): { propose: number; accept: number; commit: number } {
    const seen = this.hopsSeen[id]!;
    let h = seen.get(key);
    if (!h) seen.set(key, (h = { propose: 0, accept: 0, commit: 0 }));
    return h;
  }

  /** This replica's own ACCEPT for a proposal: the leader's is its PROPOSE. */
  private ownAcceptHops(id: number, key: string): number {
    return this.hopsAt(id, key).propose + 1;
  }

  private hopsOf(id: number, m: Message | RequestMsg): number {
    if (m.type === 'propose' || m.type === 'new-view') {
      const proposals = m.type === 'propose' ? [m] : m.proposals;
      for (const p of proposals) if (!this.proposedAt.has(`${p.view}:${p.slot}`)) this.proposedAt.set(`${p.view}:${p.slot}`, this.now);
      return 1;
    }
    if (m.type === 'accept') return this.ownAcceptHops(id, `${m.view}:${m.slot}`);
    if (m.type === 'commit') {
      const key = `${m.view}:${m.slot}`;
      return Math.max(this.hopsAt(id, key).accept, this.ownAcceptHops(id, key)) + 1;
    }
    return 0;
  }

  private noteHops(to: number, m: Message, hops: number): void {
    const note = (key: string, kind: 'propose' | 'accept' | 'commit') => {
      const h = this.hopsAt(to, key);
      if (hops > h[kind]) h[kind] = hops;
    };
    if (m.type === 'new-view') for (const p of m.proposals) note(`${p.view}:${p.slot}`, 'propose');
    if (m.type === 'propose' || m.type === 'accept' || m.type === 'commit') note(`${m.view}:${m.slot}`, m.type);
  }

  private countDecision(id: number, cert: DecisionCert): void {
    const key = `${cert.view}:${cert.slot}`;
    const proposed = this.proposedAt.get(key);
    if (proposed === undefined) return;
    const seen = this.hopsAt(id, key);
    const accepts = Math.max(seen.accept, this.ownAcceptHops(id, key));
    const c = this.decisionCosts[cert.kind === 'fast' ? 'fast' : 'classic'];
    c.count++;
    c.hops += cert.kind === 'fast' ? accepts : Math.max(seen.commit, accepts + 1);
    c.ticks += this.now - proposed;
  }

  private deliver(to: Address, from: Address, frame: Uint8Array, hops: number): void {
    const decoded = decodeMessage(frame);
    if (!decoded.ok) {
      this.trace(`${String(to)} drops a frame from ${String(from)}: ${decoded.reason}`);
      if (typeof to === 'number' && this.nodes[to]?.honest) bump(this.detections.malformedFrames, normalizeReason(decoded.reason));
      return;
    }
    const m: Message = decoded.message;
    if (typeof to === 'string') {
      if (this.admin && to === `client:${this.admin.id}`) {
        if (m.type !== 'reply') return;
        const outcome = this.admin.onReply(m, this.now);
        if (outcome) this.trace(`admin: ${outcome.ok ? 'accepted' : 'refused'} ${outcome.change.kind}: ${outcome.detail}`);
        return;
      }
      const client = this.clients[Number(to.slice('client:'.length))];
      if (!client || m.type !== 'reply') return;
      this.noteReply(client.opts.id, m);
      const r = client.onReply(m);
      if (r.rejected) bump(this.detections.clientRejections, normalizeReason(r.rejected));
      if (r.accepted) {
        const last = client.accepted[client.accepted.length - 1]!;
        this.onReplyAccepted(client.opts.id, last.ts, `${last.slot}/${toHex(last.result)}`);
        this.checker.onClientAccepted(client.opts.id, last.ts, last.slot, last.result);
        this.trace(`client ${client.opts.id} completes request ${last.ts} (slot ${last.slot})`);
        if (r.op) this.opts.observer?.completed?.(client.opts.id, r.op, this.now);
      }
      return;
    }
    const node = this.nodes[to];
    if (!node) return;
    if (m.type !== 'request' && !isReplicaMessage(m)) return; // replies and client queries are not for replicas
    this.noteHops(to, m, hops);
    // The simulated network is the authenticated channel: `from` is who really sent the frame.
    const input: Input =
      m.type === 'request'
        ? { kind: 'request', message: m, ...(typeof from === 'string' ? { fromClient: Number(from.slice('client:'.length)) } : {}) }
        : { kind: 'message', message: m as ReplicaMessage, ...(typeof from === 'number' ? { from } : {}) };
    this.stepNode(to, node, input);
  }

  /**
   * Client-side detection: a validly signed reply whose (slot, result) differs from what the client
   * accepted for that request is a lie, attributed to its signer (correct replicas never differ).
   */
  private noteReply(clientId: number, m: Extract<Message, { type: 'reply' }>): void {
    if (m.clientId !== clientId || !this.auth.isReplica(m.from)) return;
    if (!verifyReply(this.auth, m)) return;
    const request = `${clientId}:${m.ts}`;
    const key = `${m.slot}/${toHex(m.result)}`;
    const accepted = this.acceptedReply.get(request);
    if (accepted !== undefined) {
      if (key !== accepted) bump(this.detections.wrongReplies, m.from);
      return;
    }
    let log = this.replyLog.get(request);
    if (!log) this.replyLog.set(request, (log = new Map()));
    // A replica's first different answer counts; the same answer twice is a retransmission.
    const prior = log.get(m.from);
    if (prior === undefined) log.set(m.from, key);
    else if (prior !== key) bump(this.detections.wrongReplies, m.from);
  }

  private onReplyAccepted(clientId: number, ts: number, key: string): void {
    const request = `${clientId}:${ts}`;
    this.acceptedReply.set(request, key);
    for (const [from, k] of this.replyLog.get(request) ?? []) if (k !== key) bump(this.detections.wrongReplies, from);
    this.replyLog.delete(request);
  }

  /** Advances the virtual clock by one tick. */
  private tick(chaos: boolean): void {
    this.now++;
    for (const f of this.opts.script ?? []) if (f.at === this.now) this.applyScripted(f);
    if (this.scriptedHealAt === this.now) {
      this.network.heal();
      this.trace('network heals');
    }
    if (chaos) this.injectFaults();
    for (const p of this.network.due(this.now)) this.deliver(p.to, p.from, p.frame, p.hops);
    for (let id = 0; id < this.nodes.length; id++) {
      const node = this.nodes[id];
      if (node) this.stepNode(id, node, { kind: 'tick' });
    }
    for (const c of this.clients) {
      for (const s of c.tick(this.now)) {
        const frame = encodeMessage(s.message);
        const targets = s.to === 'all' ? this.replicaAddresses : [s.to];
        for (const to of targets) this.network.send(`client:${c.opts.id}`, to, frame, this.now);
      }
    }
    if (this.admin) {
      for (const s of this.admin.tick(this.now)) {
        const frame = encodeMessage(s.message);
        for (const to of s.to === 'all' ? this.replicaAddresses : [s.to]) this.network.send(`client:${this.admin.id}`, to, frame, this.now);
      }
    }
  }

  private chaos = { crashRate: 0, partitionRate: 0, partitionUntil: 0 };
  private scriptedHealAt = -1;

  private drawFaults(): void {
    if (!this.opts.networkFaults) return;
    const p = this.prng;
    const faults: NetworkFaults = {
      dropRate: p.pick([0, 0, 0.01, 0.05, 0.1]),
      duplicateRate: p.pick([0, 0.02, 0.05]),
      delayMin: 1,
      delayMax: p.pick([2, 3, 5, 8]),
      longDelayRate: p.pick([0, 0.01, 0.03]),
    };
    this.network.faults = faults;
    this.chaos.partitionRate = p.pick([0, 0, 0.004, 0.01]);
    this.faultsDescription = `drop=${faults.dropRate} dup=${faults.duplicateRate} delay=1..${faults.delayMax} long=${faults.longDelayRate} partitions=${this.chaos.partitionRate}`;
  }

  private injectFaults(): void {
    const p = this.prng;
    if (this.opts.crash) {
      const down = this.nodes.filter((x) => !x).length;
      const byzantineUp = [...this.byzantine.keys()].filter((id) => this.nodes[id]);
      if (down + this.faultyBudgetUsed < this.crashBudget && p.chance(1 / 120)) {
        // Half of the crashes hit the current leader: the case a view change must survive.
        const alive = this.nodes.flatMap((x, id) => (x ? [id] : []));
        const views = alive.map((id) => this.nodes[id]!.view);
        const leader = leaderOf(Math.max(...views), this.membershipView.latest().config);
        const victim = p.chance(0.5) && this.nodes[leader] ? leader : p.pick(alive);
        this.crash(victim);
      } else if (byzantineUp.length > 0 && p.chance(1 / 240)) {
        // The f budget is spent on Byzantine replicas, but they may still crash and restart from
        // their disk: a strategy must resume from durable state like a replica does.
        this.crash(p.pick(byzantineUp));
      } else if (down > 0 && p.chance(1 / 80)) {
        const dead = this.nodes.flatMap((x, id) => (x ? [] : [id]));
        this.restart(p.pick(dead));
      }
    }
    if (this.chaos.partitionRate > 0) {
      if (this.network.partitioned && this.now >= this.chaos.partitionUntil) {
        this.network.heal();
        this.trace('network heals');
      } else if (!this.network.partitioned && p.chance(this.chaos.partitionRate)) {
        const size = p.range(1, Math.floor(this.config.n / 2));
        const group = p.shuffle([...this.replicaAddresses]).slice(0, size);
        this.network.isolate(group, this.replicaAddresses);
        this.chaos.partitionUntil = this.now + p.range(20, 150);
        this.trace(`partition: {${group.join(',')}} cut off until ${this.chaos.partitionUntil}`);
      }
    }
  }

  private applyScripted(f: ScriptedFault): void {
    switch (f.action) {
      case 'crash':
        return this.crash(f.replica);
      case 'restart':
        return this.restart(f.replica);
      case 'crash-leader': {
        const views = this.nodes.flatMap((x) => (x ? [x.view] : []));
        return this.crash(leaderOf(Math.max(...views), this.config));
      }
      case 'isolate':
        this.network.isolate(f.replicas, this.replicaAddresses);
        return this.trace(`partition: {${f.replicas.join(',')}} cut off`);
      case 'isolate-leader': {
        const views = this.nodes.flatMap((x) => (x && x.honest ? [x.view] : []));
        const leader = leaderOf(Math.max(0, ...views), this.config);
        this.network.isolate([leader], this.replicaAddresses);
        // Random partitions must not heal it early, and it heals on its own.
        this.chaos.partitionUntil = Math.max(this.chaos.partitionUntil, this.now + f.ticks);
        this.scriptedHealAt = this.now + f.ticks;
        return this.trace(`partition: leader {${leader}} cut off for ${f.ticks} ticks`);
      }
      case 'heal':
        this.network.heal();
        return this.trace('network heals');
    }
  }

  /** Which replicas are up right now. */
  get alive(): number[] {
    return this.nodes.flatMap((x, id) => (x ? [id] : []));
  }

  private collectCosts(node: ProtocolNode | undefined): void {
    if (node instanceof HonestNode) {
      this.counts.signs += node.replica.auth.counters.signed;
      this.counts.verifies += node.replica.auth.counters.verifyRequests;
    }
  }

  crash(id: number): void {
    if (!this.nodes[id]) return;
    this.collectCosts(this.nodes[id]);
    this.nodes[id] = undefined;
    this.counts.crashes++;
    this.trace(`! R${id} crashes`);
  }

  restart(id: number): void {
    if (this.nodes[id]) return;
    this.trace(`^ R${id} restarts from disk (view ${this.disks[id]!.view}, checkpoint ${this.disks[id]!.checkpoint?.cert.seq ?? 0})`);
    const { node, outputs } = this.startNode(id, true);
    this.nodes[id] = node;
    if (node.honest) this.checker.onExecutionReset(id, this.disks[id]!.checkpoint?.cert.seq ?? 0);
    this.carryOut(id, node, outputs);
  }

  /** The node in replica slot `id` right now (undefined while crashed): tests read a strategy's own stats. */
  nodeOf(id: number): ProtocolNode | undefined {
    return this.nodes[id];
  }

  run(): SimResult {
    this.drawFaults();
    if (this.opts.silent?.length) this.faultsDescription += ` silent={${this.opts.silent.join(',')}}`;
    if (this.byzantine.size > 0) this.faultsDescription += ` byzantine={${[...this.byzantine].map(([id, s]) => `${id}:${s}`).join(',')}}`;
    this.trace(`seed ${this.opts.seed}: n=${this.config.n} f=${this.config.f} ${this.faultsDescription}`);
    for (let t = 0; t < this.opts.steps && this.checker.violations.length === 0; t++) this.tick(true);

    // Liveness: heal, restart, and maybe keep up to f replicas down for good.
    this.network.heal();
    this.network.faults = { dropRate: 0, duplicateRate: 0, delayMin: 1, delayMax: 3, longDelayRate: 0 };
    const keepDown = this.opts.crash && this.prng.chance(0.3);
    for (let id = 0; id < this.nodes.length; id++) {
      if (!this.nodes[id]) {
        if (keepDown && !this.byzantine.has(id) && this.permanentlyDown.size + this.faultyBudgetUsed < this.crashBudget) this.permanentlyDown.add(id);
        else this.restart(id);
      }
    }
    this.trace(`liveness phase: network healed; down for good: {${[...this.permanentlyDown].join(',')}}`);
    const { live, linearizable } = finishRun(
      {
        tick: () => this.tick(false),
        now: () => this.now,
        clients: this.admin ? [...this.clients, this.admin] : this.clients,
        history: this.history,
        checker: this.checker,
        states: () => this.nodes.flatMap((node, id) => (node instanceof HonestNode ? [{ replica: id, executed: node.executed, digest: node.replica.stateDigest() }] : [])),
        trace: (line) => this.trace(line),
      },
      { livenessTicks: this.opts.livenessTicks, stragglerTicks: 60, linearizability: { timeoutMs: 20_000 } },
    );

    const operations = this.clients.reduce((a, c) => a + c.opts.operations, 0);
    for (const node of this.nodes) this.collectCosts(node);
    return {
      seed: this.opts.seed,
      violations: [...this.checker.violations],
      live,
      linearizable,
      committed: this.checker.highestExecuted,
      operations,
      completed: this.clients.reduce((a, c) => a + c.done, 0),
      ticks: this.now,
      viewChanges: this.counts.viewChanges,
      crashes: this.counts.crashes,
      stateTransfers: this.counts.stateTransfers,
      messages: this.network.stats.sent,
      fastCommits: this.counts.fastCommits,
      classicCommits: this.counts.classicCommits,
      fallbacks: this.counts.fallbacks,
      signs: this.counts.signs,
      verifies: this.counts.verifies,
      bytes: this.network.stats.bytes,
      decisions: this.decisionCosts,
      maxView: this.checker.highestView,
      detections: this.detections,
      faults: this.faultsDescription,
      trace: this.traceLines,
    };
  }
}

/** A configuration in a few words, to compare what replicas verified. */
function describeConfig(c: ClusterConfig): string {
  return `e${epochOf(c)} f=${c.f} ${c.replicas.map((r) => `${r.id}:${toHex(r.publicKey).slice(0, 8)}`).join(',')} c=${c.clients.map((k) => k.id).join(',')}`;
}

/**
 * A seed's membership plan. Every step is computed when it is due, from the configuration then
 * current: grow by three and raise f, shrink (from n ≥ 5), replace a member or the member leading
 * view 0, rotate a key, change f, or a mix of them.
 */
export function drawReconfigPlan(prng: Prng, n: number, retire: readonly number[] = []): PlannedChange[] {
  let nextId = n;
  const freshMember = () => {
    const id = nextId++;
    return { id, publicKey: simReplicaKey(id).publicKey, address: '' };
  };
  const add: PlannedChange = () => ({ kind: 'add', member: freshMember() });
  const remove: PlannedChange = (c) => {
    const cfg = c.latest().config;
    if (cfg.n - 1 < 3 * cfg.f + 1) return undefined;
    return { kind: 'remove', id: cfg.replicas[prng.int(cfg.n)]!.id };
  };
  const replace: PlannedChange = (c) => {
    const cfg = c.latest().config;
    return { kind: 'replace', id: cfg.replicas[prng.int(cfg.n)]!.id, member: freshMember() };
  };
  const replaceFirst: PlannedChange = (c) => ({ kind: 'replace', id: c.latest().config.replicas[0]!.id, member: freshMember() });
  const rotate: PlannedChange = (c) => {
    const cfg = c.latest().config;
    const candidates = cfg.replicas.filter((r) => r.id < n && toHex(r.publicKey) === toHex(simReplicaKey(r.id).publicKey));
    if (candidates.length === 0) return undefined;
    const r = prng.pick(candidates);
    return { kind: 'rotate-key', id: r.id, publicKey: simReplicaKey(r.id, 1).publicKey };
  };
  const setF = (f: number): PlannedChange => (c) => Math.floor((c.latest().config.n - 1) / 3) >= f && c.latest().config.f !== f ? { kind: 'set-f', f } : undefined;
  const plans: PlannedChange[][] = [
    [add, add, add, setF(2)],
    n >= 5 ? [setF(1), remove, remove] : [add, remove],
    [replace],
    [replaceFirst],
    [rotate],
    [replaceFirst, add, rotate, remove],
  ];
  const plan = [...prng.pick(plans)];
  // Replicas the plan must remove (a removed-member strategy attacks only once it is out): each is
  // replaced, at a drawn step, unless an earlier step already removed it.
  for (const id of retire) {
    const replaceIt: PlannedChange = (c) => (memberOf(c.latest().config, id) ? { kind: 'replace', id, member: freshMember() } : undefined);
    plan.splice(prng.int(plan.length + 1), 0, replaceIt);
  }
  return plan;
}
