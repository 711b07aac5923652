/**
 * One replica as a real process: the pure protocol core wrapped in a WebSocket transport, lmdb
 * storage, a tick timer, the application it is given and pino logs.
 *
 * The driver loop follows the core's contract (src/core/io.ts) like etcd-raft's Ready loop:
 * inputs (frames, ticks) queue up; a batch of them is stepped through the core; the batch's
 * promises (its view, its votes, a NEW-VIEW) are written in ONE fsync'd transaction, and only then
 * do the batch's messages and replies leave (see emit for why records may trail behind). Group
 * commit keeps the fsync cost per batch, not per message, and "persist before send" holds for
 * every message, because none leaves before the transaction that covers every step it rests on.
 * Which ops are promises, and the order outputs are carried out in, are the core's (driver.ts):
 * the batch runs the same `persistOf` and `release` as every other driver.
 *
 * The server knows neither the application nor any attack: the CLI hands it the application
 * factory and, for a Byzantine replica, the node to run in the honest replica's place.
 */
import type { Logger } from 'pino';
import type { StateMachine } from '../core/state-machine.ts';
import type { Cluster } from '../cluster/cluster-file.ts';
import { decodeMessage, encodeMessage } from '../codec/wire.ts';
import type { SignFn, VerifyFn } from '../core/auth.ts';
import { epochOf, leaderOf, memberOf, type ClusterConfig, type ProtocolParams } from '../core/config.ts';
import { persistOf, release, type Network, type StepObserver } from '../core/driver.ts';
import type { DurableState } from '../core/durable.ts';
import { isReplicaMessage } from '../core/messages.ts';
import { mayBeRelayed, type Input, type Outputs, type PersistOp, type ProtocolEvent } from '../core/io.ts';
import type { ProtocolNode, StartedNode } from '../core/node.ts';
import type { Replica } from '../core/replica.ts';
import { HonestNode, startHonestNode } from '../core/restart.ts';
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { Signer } from '../crypto/signer.ts';
import { SignatureVerifier } from '../crypto/verifier.ts';
import { ReplicaTransport, type LinkFaults, type TransportLimits } from '../net/replica-transport.ts';
import { openLmdbStorage, type Durability } from '../storage/lmdb-storage.ts';
import { StorageError, type ReplicaStorage } from '../storage/replica-storage.ts';
import type { Registry } from 'prom-client';
import { ReplicaMetrics, serveMetrics, type MetricsProbe } from './metrics.ts';
import { realTimeParams } from './real-time-params.ts';

export interface ReplicaServerOptions {
  cluster: Cluster;
  id: number;
  seed: Uint8Array;
  /** Directory of this replica's lmdb environment. */
  dataDir: string;
  logger: Logger;
  /** Milliseconds per protocol tick (the core's timers count ticks). */
  tickMs?: number;
  /** Overrides on top of the cluster file's settings and the real-time defaults. */
  params?: Partial<ProtocolParams>;
  limits?: Partial<TransportLimits>;
  faults?: LinkFaults;
  /** 'fsync' (default) or 'os-cache' (survives kill -9, not power loss; see src/storage/lmdb-storage.ts). */
  durability?: Durability;
  /** The application the replica runs (a fresh instance per call). */
  app: () => StateMachine;
  /**
   * Runs `start`'s node instead of the honest protocol, with this replica's real key: how the CLI
   * runs a Byzantine strategy (src/faults). `label` names it in logs and status.
   */
  node?: { label: string; start(ctx: ReplicaNodeContext): StartedNode };
  /** Storage to use instead of lmdb in `dataDir` (tests). */
  storage?: ReplicaStorage;
  /** Serve Prometheus metrics on GET /metrics at this port (0: any free one); off when absent. */
  metricsPort?: number;
  /** The address metrics listen on (default 127.0.0.1: metrics say a lot about a replica). */
  metricsHost?: string;
  /**
   * Where to listen when the genesis file does not list this replica (one joining after a
   * membership change; its address is in the replicated configuration it has yet to learn).
   */
  listenUrl?: string;
  /**
   * A later configuration (written by `byzpax config fetch`) to find peers by until this replica
   * has verified one at least as recent itself. Only addresses and keys to connect with: the
   * protocol trusts nothing in it.
   */
  peerHints?: ClusterConfig;
  /** Keys this replica will hold after a key rotation (it signs with the one its entry lists). */
  nextSeeds?: Uint8Array[];
}

/** What a node in a replica's place is built from. */
export interface ReplicaNodeContext {
  id: number;
  config: ClusterConfig;
  params: Partial<ProtocolParams>;
  signer: SignFn;
  verifier: VerifyFn;
  /** What this replica persisted before, if it restarts. */
  durable: DurableState | undefined;
  app: () => StateMachine;
}

export interface ReplicaStatus {
  id: number;
  view: number;
  leader: number;
  normal: boolean;
  executed: number;
  /**
   * Digest of the replicated state after `executed` (hex): equal on replicas that agree. '' while
   * the replica is still executing (taken once it stays at one slot from one status to the next).
   */
  stateDigest: string;
  fastCommits: number;
  classicCommits: number;
  fallbacks: number;
  viewChanges: number;
  peers: number[];
  drops: number;
  /** Set when this replica runs a Byzantine strategy instead of the protocol: its name. */
  byzantine?: string;
  /** Misbehaviour this (honest) replica detected, by culprit replica id. */
  detected: Record<number, number>;
  /** Cost counters since start: Ed25519 signatures made, signature checks run (cache hits excluded). */
  signs: number;
  verifies: number;
  /** Protocol bytes this replica sent to peers and clients, and received from them. */
  bytesOut: number;
  bytesIn: number;
  /** The epoch this replica is in, whether it votes in it, and the epoch's members and f. */
  epoch: number;
  member: boolean;
  members: number[];
  f: number;
  /** Process CPU time (ms) and resident memory (bytes). */
  cpuMs: number;
  rssBytes: number;
  /** V8 heap in use, and memory outside it held by JavaScript objects (Buffers): what a leak would grow. */
  heapUsedBytes: number;
  externalBytes: number;
}

/** Records are written at least this often (ms); a tick runs every tickMs, so this is a bound. */
const RECORD_FLUSH_MS = 20;

/** Inputs stepped together before one storage transaction. */
const MAX_INPUTS_PER_BATCH = 256;
/** Inputs waiting beyond this are client requests first to go: a flood must not exhaust memory. */
const MAX_QUEUED_INPUTS = 20_000;

export class ReplicaServer {
  /** The honest replica; undefined when this replica runs a Byzantine strategy instead. */
  readonly replica: Replica | undefined;
  private readonly node: ProtocolNode;
  /** What the node produced while starting, carried out first by `start`. */
  private readonly startOutputs: Outputs;
  readonly transport: ReplicaTransport;
  /** Everything this replica counts, typed; exported for Prometheus with `metricsPort`. */
  readonly metrics: ReplicaMetrics;
  private readonly registry: Registry | undefined;
  private metricsServer: { port: number; close(): Promise<void> } | undefined;
  /** Called once the replica stopped itself after a storage failure or an internal error. */
  onFatal: ((e: unknown) => void) | undefined;
  private readonly log: Logger;
  private readonly queue: Input[] = [];
  private tickQueued = false;
  private draining = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly signer: Signer;
  /** Every key this replica holds: its first, then the keys it rotates to (`nextSeeds`). */
  private readonly signers: Signer[];
  private readonly verifier: SignatureVerifier;
  /** The epochs of the configurations the transport was last given (`0`, `3/4`): changes on a membership change. */
  private membershipKey = '';
  private bytesOut = 0;
  private bytesIn = 0;
  /** Records (decisions, prepare certificates, checkpoints) not yet handed to storage (see emit). */
  private heldRecords: PersistOp[] = [];
  private lastRecordFlush = 0;
  /** Record writes still in flight. */
  private background: Promise<void> = Promise.resolve();
  /** A background write failed: we can no longer vouch for what we remember. */
  private storageFailure: unknown;
  /** The state digest, recomputed only when execution moved on (it hashes a snapshot). */
  private digestAt = { executed: -1, hex: '' };
  /** The executed slot at the previous status call (see stateDigestHex). */
  private statusAt = -1;
  /** Resolves when the drain loop is idle (for clean shutdown). */
  private idle: Promise<void> = Promise.resolve();

  private constructor(
    private readonly opts: ReplicaServerOptions,
    private readonly storage: ReplicaStorage,
  ) {
    const { cluster, id } = opts;
    this.log = opts.logger.child({ replica: id });
    const signer = (this.signer = new Signer(opts.seed));
    this.signers = [signer, ...(opts.nextSeeds ?? []).map((seed) => new Signer(seed))];
    const verifier = (this.verifier = new SignatureVerifier());
    const durable = storage.load();
    const params = { ...realTimeParams, ...cluster.params, ...opts.params };
    const moreSigners = this.signers.slice(1);
    const started = opts.node
      ? opts.node.start({ id, config: cluster.config, params, signer, verifier, durable, app: opts.app })
      : startHonestNode({ id, config: cluster.config, params, signer, ...(moreSigners.length > 0 ? { moreSigners } : {}), verifier, app: opts.app() }, durable);
    this.node = started.node;
    this.startOutputs = started.outputs;
    this.replica = started.node instanceof HonestNode ? started.node.replica : undefined;
    if (opts.node) this.log.warn({ strategy: opts.node.label }, 'BYZANTINE: this replica runs an attack, not the protocol');
    const configs = this.networkConfigs();
    this.membershipKey = epochsOf(configs);
    this.transport = new ReplicaTransport({
      config: configs,
      ...(opts.listenUrl ? { listenUrl: opts.listenUrl } : {}),
      id,
      signer: this.currentSigner(),
      verifier,
      logger: this.log.child({ component: 'net' }),
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.faults ? { faults: opts.faults } : {}),
    });
    const exported = opts.metricsPort === undefined ? undefined : ReplicaMetrics.exported(this.metricsProbe());
    this.metrics = exported?.metrics ?? new ReplicaMetrics();
    this.registry = exported?.registry;
    this.transport.onReplicaFrame = (from, frame) => this.onFrame(frame, { replica: from });
    this.transport.onClientFrame = (clientId, frame) => this.onFrame(frame, { client: clientId });
    if (durable) this.log.info({ view: this.node.view, executed: this.node.executed }, 'recovered from disk');
  }

  static async start(opts: ReplicaServerOptions): Promise<ReplicaServer> {
    const storage = opts.storage ?? (await openLmdbStorage(opts.dataDir, { clusterId: opts.cluster.config.clusterId, replicaId: opts.id }, opts.durability));
    const server = new ReplicaServer(opts, storage);
    // A restarted replica re-announces what it persisted (its view, its NEW-VIEW) before anything else.
    await server.emit([server.startOutputs]);
    await server.transport.start();
    if (server.registry && opts.metricsPort !== undefined) {
      server.metricsServer = await serveMetrics(server.registry, opts.metricsPort, opts.metricsHost);
      server.log.info({ port: server.metricsServer.port }, 'metrics on /metrics');
    }
    server.timer = setInterval(() => server.onTick(), opts.tickMs ?? 10);
    server.log.info({ view: server.node.view, leader: server.leader, epoch: server.replica?.epoch ?? 0, member: server.replica?.isMember ?? true }, 'replica started');
    return server;
  }

  /** The configuration this replica is in: the honest replica's current one, else genesis. */
  get configuration(): ClusterConfig {
    return this.replica?.configuration ?? this.opts.cluster.config;
  }

  private get leader(): number {
    return leaderOf(this.node.view, this.configuration);
  }

  /**
   * Whom the transport connects to: the configurations the replica knows (its epoch's and a
   * scheduled next one), and the peer hints until the replica has reached their epoch.
   */
  private networkConfigs(): ClusterConfig[] {
    const configs = this.replica?.knownConfigurations() ?? [this.opts.cluster.config];
    const hints = this.opts.peerHints;
    const latest = epochOf(configs[configs.length - 1]!);
    return hints && epochOf(hints) > latest ? [...configs, hints] : configs;
  }

  /** The key this replica's entry in its current configuration lists (after a rotation, the new one). */
  private currentSigner(): Signer {
    const me = memberOf(this.configuration, this.opts.id);
    return (me && this.signers.find((s) => bytesEqual(s.publicKey, me.publicKey))) ?? this.signer;
  }

  /**
   * After each batch: if the configurations the replica knows changed (a change scheduled, an
   * epoch begun, a snapshot installed), tell the transport whom to connect to now. Checked every
   * batch rather than on those events: it costs two small arrays, and misses nothing.
   */
  private followMembership(): void {
    const r = this.replica;
    if (!r) return;
    const configs = this.networkConfigs();
    const key = epochsOf(configs);
    if (key === this.membershipKey) return;
    this.membershipKey = key;
    this.transport.setMembers(configs);
    this.transport.setSigner(this.currentSigner());
    this.log.info({ epoch: r.epoch, member: r.isMember, members: r.configuration.replicas.map((m) => m.id), peers: this.transport.knownPeers() }, 'membership changed: peers updated');
  }

  get id(): number {
    return this.opts.id;
  }

  /** The view and last executed slot this replica is at (what a Byzantine one claims). */
  get view(): number {
    return this.node.view;
  }

  get executed(): number {
    return this.node.executed;
  }

  /** The port metrics are served on (the actual one when `metricsPort` was 0), if any. */
  get metricsPort(): number | undefined {
    return this.metricsServer?.port;
  }

  status(): ReplicaStatus {
    const m = this.metrics;
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    let drops = this.transport.countsByKind.refused;
    for (const layer of [m.drops.core, m.drops.server]) for (const v of layer.values()) drops += v;
    return {
      id: this.opts.id,
      view: this.node.view,
      leader: this.leader,
      normal: this.replica ? this.replica.status === 'normal' : true,
      executed: this.node.executed,
      stateDigest: this.stateDigestHex(),
      fastCommits: m.commits.fast,
      classicCommits: m.commits.classic,
      fallbacks: m.fallbacks,
      viewChanges: m.viewChanges,
      peers: this.transport.connectedPeers(),
      drops,
      ...(this.opts.node ? { byzantine: this.opts.node.label } : {}),
      detected: Object.fromEntries(m.misbehaviour),
      signs: this.signer.signed,
      verifies: this.verifier.stats.verified,
      bytesOut: this.bytesOut,
      bytesIn: this.bytesIn,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      externalBytes: mem.external,
      epoch: this.replica?.epoch ?? 0,
      member: this.replica?.isMember ?? true,
      members: this.configuration.replicas.map((m) => m.id),
      f: this.configuration.f,
    };
  }

  /**
   * The state's digest as of `executed`, for status reports — or '' while the replica is executing.
   * Serialising the whole state costs time in its size, and taken at every report (4 a second)
   * under load it was a tenth of a backup's CPU (64 clients): so it is taken only once the replica
   * has stayed at one executed slot since the previous call, which is when anyone compares it.
   */
  private stateDigestHex(): string {
    if (!this.replica) return '';
    const executed = this.replica.executed;
    if (this.digestAt.executed === executed) return this.digestAt.hex;
    if (this.statusAt !== executed) {
      this.statusAt = executed;
      return '';
    }
    this.digestAt = { executed, hex: toHex(this.replica.stateDigest()) };
    return this.digestAt.hex;
  }

  private metricsProbe(): MetricsProbe {
    return {
      view: () => this.node.view,
      executed: () => this.node.executed,
      queueDepth: () => this.queue.length,
      connectedPeers: () => this.transport.connectedPeers().length,
      signatures: () => this.signer.signed,
      verifications: () => this.verifier.stats.verified,
      transport: () => ({ counters: this.transport.counters, byKind: this.transport.countsByKind }),
    };
  }

  private onTick(): void {
    // Ticks do not pile up behind a slow disk: one pending tick is enough to fire due timers.
    if (this.tickQueued) return;
    this.tickQueued = true;
    this.enqueue({ kind: 'tick' });
  }

  private onFrame(frame: Uint8Array, source: { replica: number } | { client: number }): void {
    this.bytesIn += frame.byteLength;
    const decoded = decodeMessage(frame);
    const who = 'replica' in source ? `replica ${source.replica}` : `client ${source.client}`;
    if (!decoded.ok) return this.dropFrame(`malformed frame: ${decoded.reason}`, who);
    const m = decoded.message;
    if ('client' in source) {
      if (m.type === 'config-query') return this.answerConfigQuery(source.client, m.since);
      // Clients may only send their own requests; everything else from them is noise or an attack.
      if (m.type !== 'request') return this.dropFrame(`a client sent a ${m.type} message`, who);
      if (m.request.clientId !== source.client) return this.dropFrame(`client ${source.client} sent a request signed as client ${m.request.clientId}`, who);
      if (this.queue.length >= MAX_QUEUED_INPUTS) return this.dropFrame('input queue full (client request shed)', who);
      return this.enqueue({ kind: 'request', message: m, fromClient: source.client });
    }
    if (m.type !== 'request' && !isReplicaMessage(m)) return this.dropFrame(`a replica sent a ${m.type} to a replica`, who);
    // A backup relays a client's request to the leader; the core checks the client's signature.
    if (m.type === 'request') return this.enqueue({ kind: 'request', message: m });
    // The core says which messages must come from their author (`mayBeRelayed`).
    if (!mayBeRelayed(m) && 'from' in m && m.from !== source.replica) {
      return this.dropFrame(`replica ${source.replica} sent a ${m.type} from replica ${m.from}`, who);
    }
    if (this.queue.length >= MAX_QUEUED_INPUTS * 2) return this.dropFrame('input queue full', who);
    this.enqueue({ kind: 'message', message: m, from: source.replica });
  }

  /**
   * A client behind a membership change asks for the proofs of the configurations since its own
   * (`byzpax status` asks every member, for their STATUS too).
   */
  private answerConfigQuery(clientId: number, since: number): void {
    if (!this.replica) return; // a Byzantine node stays quiet (its clients ask the others)
    // With the proofs, how this replica is (its last signed STATUS): what `byzpax status` shows.
    const status = this.replica.lastStatus;
    for (const m of [this.replica.configProof(since), ...(status ? [status] : [])]) {
      const frame = encodeMessage(m);
      this.bytesOut += frame.byteLength;
      this.transport.sendToClient(clientId, frame);
    }
  }

  private dropFrame(reason: string, who: string): void {
    this.metrics.drop('server', reason.replace(/:.*/, ''));
    this.log.warn({ from: who, reason }, 'dropped input');
  }

  private enqueue(input: Input): void {
    if (this.closed) return;
    this.queue.push(input);
    if (!this.draining) this.idle = this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const inputs = this.queue.splice(0, MAX_INPUTS_PER_BATCH);
        const outputs: Outputs[] = [];
        for (const input of inputs) {
          if (input.kind === 'tick') this.tickQueued = false;
          const out = this.node.step(input);
          this.metrics.observe(out);
          outputs.push(out);
        }
        await this.emit(outputs);
      }
    } catch (e) {
      // A failed write means we can no longer promise to remember what we signed; an exception
      // from the core is a bug that leaves its state unknown. Either way: stop, loudly; a restart
      // recovers from what is on disk.
      const what = e instanceof StorageError ? 'storage failed' : 'internal error';
      this.log.fatal({ err: e }, `${what}; stopping this replica`);
      process.exitCode = 1;
      void this.close().then(() => this.onFatal?.(e)); // not awaited: close() waits for this very loop to finish
    } finally {
      this.draining = false;
    }
  }

  /**
   * Persist, then send: the core's ordering contract. Only promises have to be on disk before a
   * message leaves — the view we are in, what we voted for (PROPOSE/ACCEPT, COMMIT), the NEW-VIEW
   * we signed — because a restarted replica must never contradict them. Prepare certificates,
   * decisions and checkpoints are records of what a quorum already signed; a replica that loses
   * them re-learns them from its peers. So records are held back and written with the next
   * promise, in the same transaction and before it, or in the background every RECORD_FLUSH_MS;
   * the messages and replies of a batch of records leave at once. That takes the decision's (and
   * on the fast path the prepare certificate's) write off every request's path, and most of its
   * CPU. Order is kept: a promise waits for every background write and goes to disk together
   * with every record before it, so whatever a message rests on — a COMMIT on its prepare
   * certificate, a VIEW-CHANGE on all the evidence it reports — is durable before it leaves.
   */
  private async emit(outputs: Outputs[]): Promise<void> {
    if (this.storageFailure) throw this.storageFailure;
    const { ops, mustSync } = persistOf(outputs);
    if (mustSync) {
      const all = this.heldRecords.concat(ops);
      this.heldRecords = [];
      await this.background;
      if (this.storageFailure) throw this.storageFailure;
      const t0 = performance.now();
      this.storage.applyNow(all);
      this.lastRecordFlush = performance.now();
      this.metrics.storageWrite('promise', (this.lastRecordFlush - t0) / 1000);
    } else {
      for (const op of ops) this.heldRecords.push(op);
      if (this.heldRecords.length > 0 && performance.now() - this.lastRecordFlush >= RECORD_FLUSH_MS) this.flushRecords();
    }
    // A Byzantine node's undecodable frames, produced by any of the batch's steps, go out with it.
    this.transport.batch(() => release(outputs, this.node.takeRawFrames?.(), this.network, this.observer));
    this.followMembership();
  }

  private readonly network: Network = {
    send: (s) => {
      const frame = encodeMessage(s.message);
      this.bytesOut += frame.byteLength * (s.to === 'all' ? this.transport.peerCount : 1);
      this.transport.send(s.to, frame);
    },
    reply: (r) => {
      const frame = encodeMessage(r.message);
      this.bytesOut += frame.byteLength;
      this.transport.sendToClient(r.clientId, frame);
    },
    raw: (r) => {
      this.bytesOut += r.frame.byteLength * (r.to === 'all' ? this.transport.peerCount : 1);
      this.transport.send(r.to, r.frame);
    },
  };

  private readonly observer: StepObserver = {
    event: (ev) => this.logEvent(ev),
    executed: (e) => this.log.debug({ view: e.view, slot: e.slot, path: e.cert.kind, requests: e.batch.length }, 'executed'),
  };

  private flushRecords(): void {
    const ops = this.heldRecords;
    this.heldRecords = [];
    const t0 = (this.lastRecordFlush = performance.now());
    const written = this.storage.apply(ops).then(() => this.metrics.storageWrite('record', (performance.now() - t0) / 1000)).catch((e: unknown) => {
      this.storageFailure = e;
      this.enqueue({ kind: 'tick' }); // wake the drain loop, which stops the replica
    });
    this.background = Promise.all([this.background, written]).then(() => undefined);
  }

  private logEvent(ev: ProtocolEvent): void {
    const view = this.node.view;
    switch (ev.type) {
      case 'drop':
        return this.log.warn({ view, from: ev.from, reason: ev.reason }, 'dropped message');
      case 'view-change-started':
        return this.log.warn({ view: ev.view, reason: ev.reason }, 'view change');
      case 'new-view-installed':
        return this.log.info({ view: ev.view, leader: ev.leader, reproposed: ev.reproposed }, 'new view installed');
      case 'misbehaviour':
        return this.log.error({ view, culprit: ev.culprit, what: ev.what }, 'misbehaviour detected');
      case 'checkpoint-stable':
        return this.log.info({ view, slot: ev.seq }, 'checkpoint stable');
      case 'state-transferred':
        return this.log.info({ view, slot: ev.seq, from: ev.from }, 'state transferred');
      case 'fast-path-fallback':
        return this.log.warn({ view, slot: ev.through, reason: ev.reason }, 'fast path fallback');
      case 'alarm':
        return this.log.fatal({ view, what: ev.what }, 'ALARM: evidence of more than f faulty replicas');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.metricsServer?.close();
    await this.transport.close();
    await this.idle.catch(() => undefined);
    // A clean shutdown keeps the held-back records too, so the restart has less to re-learn.
    if (this.heldRecords.length > 0 && !this.storageFailure) this.flushRecords();
    await this.background;
    await this.storage.close();
    this.log.info('replica stopped');
  }
}

const epochsOf = (configs: ClusterConfig[]): string => configs.map((c) => epochOf(c)).join('/');
