/**
 * Twins (Bano, Sonnino, Chursin, Perelman, Li, Ching, Malkhi; OPODIS 2021) for byzpax.
 *
 * A twin is two honest, unmodified `Replica` instances that share one replica's identity and
 * signing key (same id, same config entry, same Ed25519 seed), each with its own durable state and
 * its own application. Every message addressed to that id reaches BOTH instances; what either one
 * sends goes out under that id. Run side by side behind different network partitions, the pair
 * behaves like one Byzantine replica that equivocates (two PROPOSEs or NEW-VIEWs for one view,
 * two VIEW-CHANGEs with different evidence) and forgets its locks (one copy votes and reports in
 * later views without what its sibling prepared) — without a single line of adversary code.
 * Double votes (two ACCEPTs or two COMMITs for one (view, slot)) are counted too, but at n = 4 with
 * one twin they cannot occur: a backup twin only ever sees one proposal per (view, slot) from a
 * correct leader, and a twinned leader's two copies cannot both prepare (each needs q − 1 = 2 of
 * the 3 correct replicas, which accept only one proposal per (view, slot)). The twinned replica is the one (f = 1) faulty replica: the safety
 * checker watches only the n − 1 other, correct replicas, and the clients' history must still be
 * linearizable.
 *
 * Scenarios. A scenario is (the twinned id, one network partition per round for R rounds):
 *
 *   instances  the n primaries 0..n−1 plus the twin's second copy, written t' (n + 1 instances).
 *   partition  either "connected" (one group) or a 2-way split of the n + 1 instances in which at
 *              least one side holds a classic quorum q of DISTINCT identities (t and t' count
 *              once). For n = 4, f = 1 (q = 3) that is 12 of the 15 splits plus "connected" = 13
 *              partitions, for every twinned id: all 5 (1,4)-splits, and the 7 of the 10
 *              (2,3)-splits whose 3-side does not hold both twins.
 *   leader     byzpax's leader is view mod n and moves only through view changes, so the leader
 *              dimension of Twins is expressed by WHICH id is twinned — 0 is the view-0 leader
 *              (an equivocating leader), 1 the view-1 leader (an equivocating successor), 2 and 3
 *              backups (double votes; they lead views 2 and 3 if reached) — together with the
 *              partitions, which force the view changes. All n ids are enumerated.
 *   rounds     each round lasts `roundTicks` ticks (default 30: 2.5 request timeouts of the default
 *              twins params, enough for a view change and a few slots). Messages are
 *              delivered one tick after being sent, in send order; a message whose sender and
 *              receiver are in different groups of the round in which it arrives is lost.
 *              Clients reach every instance in every round.
 *   order      scenario #k, k ∈ [0, n·P^R): twin = k mod n, then the partitions of rounds 1..R are
 *              the base-P digits of ⌊k / n⌋, round 1 least significant. n = 4, R = 3: 8,788
 *              scenarios; R = 4: 114,244. `enumerateTwinsScenarios` walks them from `offset` in
 *              steps of `stride` (modulo the total; a stride coprime to the total visits distinct
 *              scenarios), so any subset replays exactly by number.
 *
 * After the R rounds the network heals for good (the twins stay twins: both copies stay up and
 * connected) and the run continues until every client request completed, or `livenessTicks`.
 * Safety (the checker's S1–S6, S8, client results, linearizability) must hold in every scenario.
 * Liveness is reported (`live`), not part of the verdict: a twin is a live Byzantine replica that
 * keeps equivocating after healing, and the protocol's answer to that is timeouts and view changes
 * with exponential back-off; whether all requests complete within the bound is a measurement.
 *
 * Determinism: no Math.random and no clock inside a scenario; the workload's PRNG is seeded by
 * `seed` only, so every scenario of a sweep issues the same requests. Crypto is real Ed25519 on
 * every message, which is also what makes thousands of scenarios affordable: signatures are
 * deterministic, identical (key, statement) pairs recur across scenarios with common prefixes,
 * and a memoising signer plus a shared cache of successful verifications do each distinct one
 * once. Every message goes through the real codec (encodeMessage once per send, decodeMessage per
 * delivery).
 */
import { kvStoreFactory } from '../app/kv-store.ts';
import type { Operation } from '../check/history.ts';
import type { KvInput, KvOutput } from '../check/kv-model.ts';
import { decodeMessage, encodeMessage } from '../codec/wire.ts';
import { Auth, type SignFn } from '../core/auth.ts';
import { defaultParams, quorums, type ClusterConfig, type ProtocolParams } from '../core/config.ts';
import { describeMessage } from '../core/describe.ts';
import { carryOut, memoryDisk, type DriverIO } from '../core/driver.ts';
import { emptyDurableState, type DurableState } from '../core/durable.ts';
import type { Input } from '../core/io.ts';
import { isReplicaMessage, type Message, type ReplicaMessage } from '../core/messages.ts';
import { startHonestNode, type HonestNode, type ReplicaStartOptions } from '../core/restart.ts';
import type { SelectRule } from '../core/select.ts';
import { batchDigest } from '../core/statements.ts';
import { toHex } from '../crypto/bytes.ts';
import { LruCache } from '../crypto/lru.ts';
import { Signer } from '../crypto/signer.ts';
import { SignatureVerifier } from '../crypto/verifier.ts';
import { SafetyChecker } from './checker.ts';
import { finishRun, type RunOutcome } from './end-of-run.ts';
import { Prng } from '../random/prng.ts';
import { SimClient } from './sim-client.ts';
import { simCluster } from './simulation.ts';

// =====================================================================================
// Options and scenarios
// =====================================================================================

export interface TwinsOptions {
  n: number;
  f: number;
  /** Chaos rounds per scenario (R). */
  rounds: number;
  /** Ticks per round. */
  roundTicks: number;
  /** Bound on the healed final round, in ticks. */
  livenessTicks: number;
  clients: number;
  opsPerClient: number;
  /**
   * Think time: client c starts its k-th operation (k from 0) no earlier than tick
   * k·opGapTicks + c, so the workload spans the chaos rounds instead of finishing in the first.
   */
  opGapTicks: number;
  /** Seeds the clients' workload (the same in every scenario of a sweep). */
  seed: number;
  params: Partial<ProtocolParams>;
  /** Swapped into the CORRECT replicas only (the twins run the real rule): tests prove a broken rule is caught. */
  selectRule?: SelectRule;
  /** Keep a full event trace in the result. */
  trace: boolean;
}

/** Small timers, relative to a one-tick network: a request timeout is 12 ticks, a round 30. */
export const defaultTwinsParams: Partial<ProtocolParams> = {
  checkpointInterval: 4,
  window: 8,
  maxInflight: 2,
  maxBatch: 2,
  deferTicks: 2,
  requestTimeoutTicks: 12,
  viewChangeTimeoutTicks: 16,
  maxBackoffExponent: 3,
  statusIntervalTicks: 4,
};

export const defaultTwinsOptions: TwinsOptions = {
  n: 4,
  f: 1,
  rounds: 3,
  roundTicks: 30,
  livenessTicks: 1500,
  clients: 2,
  opsPerClient: 4,
  opGapTicks: 25,
  seed: 1,
  params: defaultTwinsParams,
  trace: false,
};

export function twinsOptions(partial: Partial<TwinsOptions> = {}): TwinsOptions {
  return { ...defaultTwinsOptions, ...partial, params: { ...defaultTwinsParams, ...partial.params } };
}

/**
 * Groups of instance indices: 0..n−1 are the primaries (instance i has id i), n is the twin's
 * second copy (id = the twinned id).
 */
export type Partition = number[][];

export interface TwinsScenario {
  /** Scenario number: replays exactly with the same options. */
  index: number;
  /** The replica id that runs as two instances. */
  twin: number;
  /** Index into `twinsPartitions(n, f, twin)` for each round. */
  partitionIds: number[];
  partitions: Partition[];
}

/** The instance label: `3` for a primary, `3'` for the twin's second copy. */
export function instanceLabel(instance: number, n: number, twin: number): string {
  return instance < n ? String(instance) : `${twin}'`;
}

export function describePartition(p: Partition, n: number, twin: number): string {
  if (p.length === 1) return 'connected';
  return p.map((g) => `{${g.map((i) => instanceLabel(i, n, twin)).join(',')}}`).join('');
}

export function describeScenario(s: TwinsScenario, n: number): string {
  return `#${s.index} twin=${s.twin} rounds=${s.partitions.map((p) => describePartition(p, n, s.twin)).join(' | ')}`;
}

const partitionCache = new Map<string, Partition[]>();

/**
 * The partitions one round may use, in a fixed order: "connected" first, then every 2-way split
 * of the n + 1 instances (the side holding instance 0 given by a bit mask, ascending) in which at
 * least one side holds q distinct identities.
 */
export function twinsPartitions(n: number, f: number, twin: number): Partition[] {
  const key = `${n}/${f}/${twin}`;
  const cached = partitionCache.get(key);
  if (cached) return cached;
  const q = quorums(n, f).q;
  const instances = n + 1;
  const idOf = (i: number) => (i < n ? i : twin);
  const distinct = (g: number[]) => new Set(g.map(idOf)).size;
  const all = Array.from({ length: instances }, (_, i) => i);
  const out: Partition[] = [[all]];
  const full = (1 << instances) - 1;
  for (let mask = 1; mask < full; mask++) {
    if ((mask & 1) === 0) continue; // each unordered split once: the side holding instance 0
    const a = all.filter((i) => mask & (1 << i));
    const b = all.filter((i) => !(mask & (1 << i)));
    if (distinct(a) >= q || distinct(b) >= q) out.push([a, b]);
  }
  partitionCache.set(key, out);
  return out;
}

export function twinsScenarioCount(opts: Pick<TwinsOptions, 'n' | 'f' | 'rounds'>): number {
  const p = twinsPartitions(opts.n, opts.f, 0).length;
  for (let t = 1; t < opts.n; t++) {
    if (twinsPartitions(opts.n, opts.f, t).length !== p) throw new Error('partition counts differ between twinned ids');
  }
  return opts.n * p ** opts.rounds;
}

/** Decodes scenario #index (see the file comment for the order). */
export function twinsScenario(index: number, opts: Pick<TwinsOptions, 'n' | 'f' | 'rounds'>): TwinsScenario {
  const total = twinsScenarioCount(opts);
  if (!Number.isSafeInteger(index) || index < 0 || index >= total) throw new RangeError(`scenario ${index} is not in 0..${total - 1}`);
  const twin = index % opts.n;
  const parts = twinsPartitions(opts.n, opts.f, twin);
  let rest = Math.floor(index / opts.n);
  const partitionIds: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    partitionIds.push(rest % parts.length);
    rest = Math.floor(rest / parts.length);
  }
  return { index, twin, partitionIds, partitions: partitionIds.map((i) => parts[i]!) };
}

export interface EnumerateOptions {
  /** First scenario number (default 0). */
  offset?: number;
  /** How many (default: all of them). */
  count?: number;
  /** Step between scenario numbers, modulo the total (default 1). */
  stride?: number;
}

/** Scenarios offset, offset+stride, … (mod the total), `count` of them, in that fixed order. */
export function* enumerateTwinsScenarios(opts: Pick<TwinsOptions, 'n' | 'f' | 'rounds'>, sel: EnumerateOptions = {}): Generator<TwinsScenario> {
  const total = twinsScenarioCount(opts);
  const offset = sel.offset ?? 0;
  const stride = sel.stride ?? 1;
  const count = sel.count ?? total;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= total) throw new RangeError(`offset ${offset} is not in 0..${total - 1}`);
  if (!Number.isSafeInteger(stride) || stride < 1) throw new RangeError(`stride ${stride} must be a positive integer`);
  if (count > total) throw new RangeError(`asked for ${count} scenarios, there are ${total}`);
  if (count > 1 && gcd(stride % total, total) !== 1) throw new RangeError(`stride ${stride} is not coprime to the ${total} scenarios: it would repeat some`);
  for (let i = 0; i < count; i++) yield twinsScenario((offset + i * stride) % total, opts);
}

/**
 * A stride that spreads a sample over the whole enumeration: the integer nearest total·(√5−1)/2
 * that is coprime to the total (consecutive samples then differ in every round's partition).
 */
export function spreadStride(total: number): number {
  let s = Math.max(1, Math.round((total * (Math.sqrt(5) - 1)) / 2));
  while (total > 1 && gcd(s, total) !== 1) s++;
  return s;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return Math.abs(a);
}

// =====================================================================================
// Crypto shared by every scenario
// =====================================================================================

/**
 * A signer that remembers its signatures. Ed25519 is deterministic, so returning the signature
 * made earlier for the same bytes is exactly what signing again would produce — only cheaper.
 */
export class MemoSigner implements SignFn {
  private readonly cache: LruCache<string, Uint8Array>;
  hits = 0;
  signed = 0;
  constructor(
    private readonly signer: Signer,
    entries = 1 << 16,
  ) {
    this.cache = new LruCache(entries);
  }
  sign(message: Uint8Array): Uint8Array {
    const key = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('latin1');
    const hit = this.cache.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.signed++;
    const sig = this.signer.sign(message);
    this.cache.set(key, sig);
    return sig;
  }
}

interface TwinsCrypto {
  config: ClusterConfig;
  replicaSigners: MemoSigner[];
  clientSigners: MemoSigner[];
  verifier: SignatureVerifier;
}

const cryptoCache = new Map<string, TwinsCrypto>();

function twinsCrypto(n: number, f: number, clients: number): TwinsCrypto {
  const key = `${n}/${f}/${clients}`;
  let c = cryptoCache.get(key);
  if (!c) {
    const { config, replicaSeeds, clientSeeds } = simCluster(n, f, clients);
    c = {
      config,
      replicaSigners: replicaSeeds.map((s) => new MemoSigner(new Signer(s))),
      clientSigners: clientSeeds.map((s) => new MemoSigner(new Signer(s))),
      verifier: new SignatureVerifier({ cacheEntries: 1 << 18 }),
    };
    cryptoCache.set(key, c);
  }
  return c;
}

/** Signatures made and verifications run on the backend, against calls answered from caches. */
export function twinsCryptoStats(): { signed: number; signHits: number; verified: number; verifyHits: number } {
  let signed = 0;
  let signHits = 0;
  let verified = 0;
  let verifyHits = 0;
  for (const c of cryptoCache.values()) {
    for (const s of [...c.replicaSigners, ...c.clientSigners]) {
      signed += s.signed;
      signHits += s.hits;
    }
    verified += c.verifier.stats.verified;
    verifyHits += c.verifier.stats.cacheHits;
  }
  return { signed, signHits, verified, verifyHits };
}

// =====================================================================================
// One scenario
// =====================================================================================

export interface TwinsResult extends RunOutcome {
  index: number;
  twin: number;
  scenario: string;
  /** View changes started / NEW-VIEWs installed by correct replicas. */
  viewChanges: number;
  newViews: number;
  /** Highest view a correct replica reached. */
  maxView: number;
  /** (view, slot)s for which the twin pair signed two different PROPOSEs (NEW-VIEW re-proposals included). */
  conflictingProposals: number;
  /** (kind, view, slot)s for which the twin pair sent two different ACCEPTs or two different COMMITs (double votes). */
  conflictingVotes: number;
  /** Views for which the twin pair signed two different NEW-VIEWs. */
  conflictingNewViews: number;
  /** Views for which the twin pair signed two different VIEW-CHANGEs (different evidence). */
  conflictingViewChanges: number;
  /** Misbehaviour the correct replicas detected (and proved) against the twinned id. */
  detected: number;
  /** Decisions by correct replicas on a fast / commit certificate. */
  fastCommits: number;
  classicCommits: number;
  messages: number;
  trace: string[];
}

type Dest = { kind: 'instance'; i: number } | { kind: 'client'; c: number };

interface Packet {
  from: number | `client:${number}`;
  to: Dest;
  frame: Uint8Array;
}

class Instance {
  readonly node: HonestNode;
  readonly disk: DurableState = emptyDurableState();
  /** Set by the run: this instance's disk, links and checkers. */
  io!: DriverIO;
  constructor(
    readonly index: number,
    readonly id: number,
    readonly correct: boolean,
    opts: ReplicaStartOptions,
  ) {
    // Twins start fresh: there is nothing to restore, so nothing to carry out.
    this.node = startHonestNode(opts, undefined).node;
  }
}

export class TwinsRun {
  readonly opts: TwinsOptions;
  readonly scenario: TwinsScenario;
  private readonly n: number;
  private readonly config: ClusterConfig;
  private readonly checker: SafetyChecker;
  private readonly instances: Instance[];
  private readonly clients: SimClient[];
  private readonly history: Operation<KvInput, KvOutput>[] = [];
  /** Group of each instance in the current round. */
  private group: number[];
  private inFlight: Packet[] = [];
  private now = 0;
  private eventCounter = 0;
  private readonly traceLines: string[] = [];
  private readonly twinSigned = new Map<string, { hex: string; conflict: boolean }>();
  private readonly counts = { viewChanges: 0, newViews: 0, maxView: 0, conflictingProposals: 0, conflictingVotes: 0, conflictingNewViews: 0, conflictingViewChanges: 0, detected: 0, fastCommits: 0, classicCommits: 0, messages: 0 };

  constructor(scenario: TwinsScenario, opts: TwinsOptions) {
    this.opts = opts;
    this.scenario = scenario;
    this.n = opts.n;
    const crypto = twinsCrypto(opts.n, opts.f, opts.clients);
    this.config = crypto.config;
    const auth = new Auth(this.config, crypto.replicaSigners[0]!, crypto.verifier);
    this.checker = new SafetyChecker(auth);
    const params = { ...defaultParams, ...opts.params };
    this.instances = Array.from({ length: opts.n + 1 }, (_, i) => {
      const id = i < opts.n ? i : scenario.twin;
      const correct = id !== scenario.twin;
      return new Instance(i, id, correct, {
        id,
        config: this.config,
        params,
        signer: crypto.replicaSigners[id]!,
        verifier: crypto.verifier,
        app: kvStoreFactory(),
        ...(correct && opts.selectRule ? { selectRule: opts.selectRule } : {}),
      });
    });
    for (const inst of this.instances) inst.io = this.driverIO(inst);
    this.group = this.instances.map(() => 0);
    const prng = new Prng(opts.seed);
    const keys = ['k0', 'k1'];
    this.clients = crypto.clientSigners.map(
      (signer, id) =>
        new SimClient({ id, operations: opts.opsPerClient, keys, retryTicks: 10 }, { latest: () => auth, authOf: (e) => (e === auth.epoch ? auth : undefined) }, (st) => signer.sign(st), prng.fork(), this.history, { event: () => ++this.eventCounter }),
    );
  }

  private label(i: number): string {
    return instanceLabel(i, this.n, this.scenario.twin);
  }

  private trace(line: string): void {
    if (this.opts.trace) this.traceLines.push(`${String(this.now).padStart(5)} ${line}`);
  }

  private setPartition(p: Partition): void {
    this.group = this.instances.map(() => 0);
    p.forEach((g, gi) => g.forEach((i) => (this.group[i] = gi)));
    this.trace(`partition ${describePartition(p, this.n, this.scenario.twin)}`);
  }

  /** Records what the twin pair signs, to count equivocation: same (kind, view, slot), different content. */
  private noteTwinSent(m: Message): void {
    const note = (key: string, hex: string, counter: 'conflictingProposals' | 'conflictingVotes' | 'conflictingNewViews' | 'conflictingViewChanges') => {
      const prior = this.twinSigned.get(key);
      if (!prior) this.twinSigned.set(key, { hex, conflict: false });
      else if (prior.hex !== hex && !prior.conflict) {
        prior.conflict = true;
        this.counts[counter]++;
        this.trace(`twin ${this.scenario.twin} equivocates: ${key}`);
      }
    };
    if (m.type === 'propose' || m.type === 'new-view') {
      const proposals = m.type === 'propose' ? [m] : m.proposals;
      for (const p of proposals) {
        const hex = toHex(batchDigest(p.batch));
        note(`propose/${p.view}/${p.slot}`, hex, 'conflictingProposals');
      }
      if (m.type === 'new-view') note(`new-view/${m.view}`, toHex(m.sig), 'conflictingNewViews');
    } else if (m.type === 'accept' || m.type === 'commit') {
      note(`${m.type}/${m.view}/${m.slot}`, toHex(m.digest), 'conflictingVotes');
    } else if (m.type === 'view-change') {
      note(`view-change/${m.newView}`, toHex(m.sig), 'conflictingViewChanges');
    }
  }

  private driverIO(inst: Instance): DriverIO {
    const correct = inst.correct;
    return {
      disk: memoryDisk(inst.disk),
      network: {
        send: (s) => {
          if (correct) this.checker.onSent(inst.id, s.message);
          else this.noteTwinSent(s.message);
          const frame = encodeMessage(s.message);
          this.counts.messages++;
          for (const j of this.targets(inst, s.to)) this.inFlight.push({ from: inst.index, to: { kind: 'instance', i: j }, frame });
          if (this.opts.trace) this.trace(`R${this.label(inst.index)} → ${s.to === 'all' ? '*' : `R${s.to}`} ${describeMessage(s.message)}`);
        },
        reply: (r) => {
          this.counts.messages++;
          this.inFlight.push({ from: inst.index, to: { kind: 'client', c: r.clientId }, frame: encodeMessage(r.message) });
        },
      },
      observer: {
        event: (ev) => {
          if (correct) {
            // A state transfer resets where execution continues; events come before the step's executions.
            if (ev.type === 'state-transferred') this.checker.onExecutionReset(inst.id, ev.seq);
            else if (ev.type === 'view-change-started') this.counts.viewChanges++;
            else if (ev.type === 'new-view-installed') {
              this.counts.newViews++;
              this.counts.maxView = Math.max(this.counts.maxView, ev.view);
            } else if (ev.type === 'misbehaviour' && ev.culprit === this.scenario.twin) this.counts.detected++;
            else if (ev.type === 'alarm') this.checker.report(`alarm at replica ${inst.id}: ${ev.what}`);
          }
          if (this.opts.trace && ev.type !== 'drop') this.trace(`R${this.label(inst.index)} ${ev.type} ${JSON.stringify({ ...ev, type: undefined })}`);
        },
        executed: (e) => {
          if (!correct) return;
          this.checker.onExecuted(inst.id, e);
          this.counts[e.cert.kind === 'fast' ? 'fastCommits' : 'classicCommits']++;
          if (this.opts.trace) this.trace(`R${this.label(inst.index)} executes s${e.slot} v${e.view} (${e.batch.length} req)`);
        },
      },
    };
  }

  private step(inst: Instance, input: Input): void {
    carryOut(inst.node.step(input), inst.io);
    if (inst.correct) {
      this.checker.onView(inst.id, inst.node.view);
      for (const v of inst.node.invariants?.() ?? []) this.checker.report(`invariant at replica ${inst.id}: ${v}`);
    }
  }

  /** Every instance holding the addressed id (both twins for the twinned id), never the sender or its twin. */
  private targets(from: Instance, to: number | 'all'): number[] {
    const out: number[] = [];
    for (const inst of this.instances) {
      if (inst.id === from.id) continue;
      if (to === 'all' || inst.id === to) out.push(inst.index);
    }
    return out;
  }

  private deliver(p: Packet): void {
    if (p.to.kind === 'instance' && typeof p.from === 'number' && this.group[p.from] !== this.group[p.to.i]) return; // cut by the partition
    const decoded = decodeMessage(p.frame);
    if (!decoded.ok) {
      this.checker.report(`codec: a frame from ${String(p.from)} does not decode: ${decoded.reason}`);
      return;
    }
    const m = decoded.message;
    if (p.to.kind === 'client') {
      const client = this.clients[p.to.c];
      if (!client || m.type !== 'reply') return;
      const r = client.onReply(m);
      if (r.accepted) {
        const last = client.accepted[client.accepted.length - 1]!;
        this.checker.onClientAccepted(client.opts.id, last.ts, last.slot, last.result);
        this.trace(`client ${client.opts.id} completes request ${last.ts} (slot ${last.slot})`);
      }
      return;
    }
    if (m.type !== 'request' && !isReplicaMessage(m)) return; // replies and client queries are not for replicas
    const inst = this.instances[p.to.i]!;
    // Channels authenticate the replica id (twins share one key), or the client.
    const input: Input =
      m.type === 'request'
        ? { kind: 'request', message: m, ...(typeof p.from === 'string' ? { fromClient: Number(p.from.slice('client:'.length)) } : {}) }
        : { kind: 'message', message: m as ReplicaMessage, ...(typeof p.from === 'number' ? { from: this.instances[p.from]!.id } : {}) };
    this.step(inst, input);
  }

  private tick(): void {
    this.now++;
    // Everything sent during the previous tick arrives now, in send order.
    const due = this.inFlight;
    this.inFlight = [];
    for (const p of due) this.deliver(p);
    for (const inst of this.instances) this.step(inst, { kind: 'tick' });
    for (const c of this.clients) {
      if (!c.waiting && this.now < c.done * this.opts.opGapTicks + c.opts.id) continue; // thinking
      for (const s of c.tick(this.now)) {
        const frame = encodeMessage(s.message);
        this.counts.messages++;
        for (const inst of this.instances) {
          if (s.to === 'all' || inst.id === s.to) this.inFlight.push({ from: `client:${c.opts.id}`, to: { kind: 'instance', i: inst.index }, frame });
        }
      }
    }
  }

  private get stopped(): boolean {
    return this.checker.violations.length > 0;
  }

  run(): TwinsResult {
    const s = this.scenario;
    this.trace(`scenario ${describeScenario(s, this.n)}`);
    for (const p of s.partitions) {
      this.setPartition(p);
      for (let t = 0; t < this.opts.roundTicks && !this.stopped; t++) this.tick();
    }
    this.setPartition([this.instances.map((i) => i.index)]);
    const { live, linearizable } = finishRun(
      {
        tick: () => this.tick(),
        now: () => this.now,
        clients: this.clients,
        history: this.history,
        checker: this.checker,
        states: () => this.instances.flatMap((inst) => (inst.correct ? [{ replica: inst.id, executed: inst.node.executed, digest: inst.node.replica.stateDigest() }] : [])),
        trace: (line) => this.trace(line),
      },
      { livenessTicks: this.opts.livenessTicks, stragglerTicks: 20, linearizability: { maxSteps: 2_000_000 } },
    );

    return {
      index: s.index,
      twin: s.twin,
      scenario: describeScenario(s, this.n),
      violations: [...this.checker.violations],
      live,
      linearizable,
      committed: this.checker.highestExecuted,
      operations: this.clients.reduce((a, c) => a + c.opts.operations, 0),
      completed: this.clients.reduce((a, c) => a + c.done, 0),
      ticks: this.now,
      ...this.counts,
      trace: this.traceLines,
    };
  }
}

export function runTwinsScenario(scenario: TwinsScenario | number, opts: Partial<TwinsOptions> = {}): TwinsResult {
  const o = twinsOptions(opts);
  const s = typeof scenario === 'number' ? twinsScenario(scenario, o) : scenario;
  return new TwinsRun(s, o).run();
}

// =====================================================================================
// Sweeps
// =====================================================================================

export interface TwinsSummary {
  scenarios: number;
  /** Total scenarios in the enumeration these were drawn from. */
  total: number;
  violations: number;
  failing: { index: number; scenario: string; violations: string[] }[];
  live: number;
  notLive: number[];
  linearizable: number;
  /** Scenarios in which the twin pair signed conflicting PROPOSEs / conflicting votes. */
  withConflictingProposals: number;
  withConflictingVotes: number;
  withConflictingNewViews: number;
  withConflictingViewChanges: number;
  /** Scenarios in which a correct replica installed a NEW-VIEW / detected the twin's misbehaviour. */
  withViewChange: number;
  withDetection: number;
  committed: number;
  operations: number;
  completed: number;
  fastCommits: number;
  classicCommits: number;
  seconds: number;
  perSecond: number;
}

/** Runs the selected scenarios (see `enumerateTwinsScenarios`) and sums them up. */
export function runTwins(opts: Partial<TwinsOptions> = {}, sel: EnumerateOptions = {}, onResult?: (r: TwinsResult) => void): TwinsSummary {
  const o = twinsOptions(opts);
  const started = performance.now();
  const sum: TwinsSummary = {
    scenarios: 0,
    total: twinsScenarioCount(o),
    violations: 0,
    failing: [],
    live: 0,
    notLive: [],
    linearizable: 0,
    withConflictingProposals: 0,
    withConflictingVotes: 0,
    withConflictingNewViews: 0,
    withConflictingViewChanges: 0,
    withViewChange: 0,
    withDetection: 0,
    committed: 0,
    operations: 0,
    completed: 0,
    fastCommits: 0,
    classicCommits: 0,
    seconds: 0,
    perSecond: 0,
  };
  for (const s of enumerateTwinsScenarios(o, sel)) {
    const r = new TwinsRun(s, o).run();
    sum.scenarios++;
    sum.violations += r.violations.length;
    if (r.violations.length > 0) sum.failing.push({ index: r.index, scenario: r.scenario, violations: r.violations });
    if (r.live) sum.live++;
    else sum.notLive.push(r.index);
    if (r.linearizable === 'ok') sum.linearizable++;
    if (r.conflictingProposals > 0) sum.withConflictingProposals++;
    if (r.conflictingVotes > 0) sum.withConflictingVotes++;
    if (r.conflictingNewViews > 0) sum.withConflictingNewViews++;
    if (r.conflictingViewChanges > 0) sum.withConflictingViewChanges++;
    if (r.newViews > 0) sum.withViewChange++;
    if (r.detected > 0) sum.withDetection++;
    sum.committed += r.committed;
    sum.operations += r.operations;
    sum.completed += r.completed;
    sum.fastCommits += r.fastCommits;
    sum.classicCommits += r.classicCommits;
    onResult?.(r);
  }
  const seconds = (performance.now() - started) / 1000;
  sum.seconds = Math.round(seconds * 100) / 100;
  sum.perSecond = seconds > 0 ? Math.round(sum.scenarios / seconds) : 0;
  return sum;
}
