/**
 * A tiny in-memory driver for scripted replica tests (etcd-raft's interaction tests, TigerBeetle's
 * replica_test): n real replicas with deterministic Ed25519 keys, a FIFO "network" of envelopes,
 * and rules that drop or hold messages by predicate. Every message a replica sends, and every
 * message a test injects, goes through `encodeMessage` → `decodeMessage` on the way, so the codec
 * is exercised on real traffic.
 *
 * The harness also holds every replica's and client's signing key, so a test can sign anything
 * any party could sign: forged, equivocating or stale ACCEPT / COMMIT / CHECKPOINT / PROPOSE /
 * VIEW-CHANGE / NEW-VIEW messages, and certificates with exactly the signers it wants.
 *
 * Driver obligations from io.ts are followed by the drivers' own `carryOut` (src/core/driver.ts):
 * for every step, `persist` ops are applied to the replica's DurableState before its `send`s enter
 * the network.
 */
import { decodeKvResult, encodeKvCommand, type KvCommand, type KvResult } from '../../src/app/kv-command.ts';
import { kvStoreFactory } from '../../src/app/kv-store.ts';
import { decodeMessage, encodeMessage } from '../../src/codec/wire.ts';
import { Auth } from '../../src/core/auth.ts';
import { leaderOf, quorums, type ClusterConfig, type ProtocolParams, type Quorums } from '../../src/core/config.ts';
import { carryOut, memoryDisk, type DriverIO } from '../../src/core/driver.ts';
import { emptyDurableState, type DurableState } from '../../src/core/durable.ts';
import type { ClientReply, ExecutedSlot, Input, Outputs, PersistOp, ProtocolEvent } from '../../src/core/io.ts';
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
  Message,
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
} from '../../src/core/messages.ts';
import { Replica } from '../../src/core/replica.ts';
import { restartReplica } from '../../src/core/restart.ts';
import type { SelectRule } from '../../src/core/select.ts';
import { batchDigest, type VoteKind } from '../../src/core/statements.ts';
import { sha256 } from '../../src/crypto/hash.ts';
import { stateDigestOf } from '../../src/core/replicated-state.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { simCluster } from '../../src/sim/simulation.ts';

export { batchDigest, leaderOf };

/** One message in flight from one replica to another. */
export interface Envelope {
  from: number;
  to: number;
  message: ReplicaMessage | RequestMsg;
}

export type Predicate = (e: Envelope) => boolean;

/** What a replica can send: a protocol message, or a client request it relays. */
export type Sendable = ReplicaMessage | RequestMsg;
type OfType<T extends Sendable['type']> = Extract<Sendable, { type: T }>;

export interface HarnessOptions {
  n?: number;
  f?: number;
  clients?: number;
  params?: Partial<ProtocolParams>;
  /** Build the config with this cluster id instead of simCluster's 'sim' (same keys). */
  clusterId?: string;
  /** A replacement view-change rule for every replica: only to show a broken rule gets caught. */
  selectRule?: SelectRule;
}

/**
 * Small, fast defaults: timeouts the tests can reach with a handful of ticks. The scripted tests
 * walk the classic path message by message, so they pin `mode: 'classic'` (the product default is
 * 'fast'); fast-path tests pass `{ mode: 'fast' }`.
 */
export const testParams: Partial<ProtocolParams> = {
  mode: 'classic',
  checkpointInterval: 128,
  window: 256,
  maxInflight: 8,
  maxBatch: 64,
  requestTimeoutTicks: 10,
  relayAfterTicks: 2,
  viewChangeTimeoutTicks: 20,
  statusIntervalTicks: 5,
};

/** One verifier for all parties: verification is a pure function, a cached success is still real. */
const sharedVerifier = new SignatureVerifier({ cacheEntries: 1 << 16 });

/** The record of one `step`: what went in and what came out. */
export interface StepRecord {
  id: number;
  input: Input;
  out: Outputs;
}

export class Harness {
  readonly n: number;
  readonly f: number;
  readonly config: ClusterConfig;
  readonly params: Partial<ProtocolParams>;
  readonly quorums: Quorums;
  readonly replicaSigners: Signer[];
  readonly clientSigners: Signer[];
  /** Statements and verification from an outside observer's point of view. */
  readonly auth: Auth;
  replicas: Replica[];
  /** Each replica's "disk": every persist op it emitted, applied in order. */
  readonly disks: DurableState[];
  /** Every step of every replica, in order. */
  readonly history: StepRecord[] = [];
  /** Messages in flight, delivered FIFO. */
  network: Envelope[] = [];
  /** Messages a hold rule caught; `release` puts them back. */
  held: Envelope[] = [];
  /** Messages a drop rule discarded. */
  readonly dropped: Envelope[] = [];
  /** Every reply any replica sent to any client. */
  readonly replies: (ClientReply & { from: number })[] = [];
  /** Replicas that are crashed: they are not ticked and messages to them vanish. */
  readonly down = new Set<number>();
  private readonly dropRules = new Set<Predicate>();
  private readonly holdRules = new Set<Predicate>();
  private readonly clientTs: number[];
  private readonly selectRule: SelectRule | undefined;
  private readonly io: DriverIO[];

  constructor(opts: HarnessOptions = {}) {
    this.n = opts.n ?? 4;
    this.f = opts.f ?? 1;
    const clients = opts.clients ?? 3;
    const { config, replicaSeeds, clientSeeds } = simCluster(this.n, this.f, clients);
    this.config = opts.clusterId ? { ...config, clusterId: opts.clusterId } : config;
    this.params = { ...testParams, ...opts.params };
    this.selectRule = opts.selectRule;
    this.quorums = quorums(this.n, this.f);
    this.replicaSigners = replicaSeeds.map((s) => new Signer(s));
    this.clientSigners = clientSeeds.map((s) => new Signer(s));
    this.auth = new Auth(this.config, { sign: () => new Uint8Array(64) }, sharedVerifier);
    this.disks = replicaSeeds.map(() => emptyDurableState());
    this.clientTs = clientSeeds.map(() => 0);
    this.io = replicaSeeds.map((_, id) => ({
      disk: memoryDisk(this.disks[id]!),
      network: {
        send: (s) => {
          const message = roundTrip(s.message, `replica ${id}`);
          const targets = s.to === 'all' ? [...Array(this.n).keys()].filter((t) => t !== id) : [s.to];
          for (const to of targets) this.network.push({ from: id, to, message });
        },
        reply: (r) => this.replies.push({ ...r, from: id }),
      },
    }));
    this.replicas = replicaSeeds.map((_, id) => this.build(id, undefined).replica);
  }

  private build(id: number, durable: DurableState | undefined): { replica: Replica; outputs: Outputs } {
    return restartReplica(
      {
        id,
        config: this.config,
        params: this.params,
        signer: this.replicaSigners[id]!,
        verifier: sharedVerifier,
        app: kvStoreFactory(),
        ...(this.selectRule ? { selectRule: this.selectRule } : {}),
      },
      durable,
    );
  }

  r(id: number): Replica {
    const r = this.replicas[id];
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  leaderOf(view: number): number {
    return leaderOf(view, this.config);
  }

  // ------------------------------------------------------------------ stepping and routing

  /** Steps one replica, applies its persist ops to its disk, and puts its sends on the network. */
  step(id: number, input: Input): Outputs {
    const out = this.r(id).step(input);
    this.record(id, input, out);
    return out;
  }

  private record(id: number, input: Input, out: Outputs): void {
    this.history.push({ id, input, out });
    // Every replica checks its own invariants (src/core/invariants.ts) after every step: a test
    // fails at the step that broke one, whatever it asserts afterwards.
    const violated = this.r(id).invariants();
    if (violated.length > 0) throw new Error(`replica ${id} violates its invariants after a ${input.kind} step: ${violated.join('; ')}`);
    carryOut(out, this.io[id]!);
  }

  /**
   * Delivers a message as if from the network (through the codec), bypassing drop/hold rules: from
   * nobody in particular, or on replica `channel`'s own authenticated channel.
   */
  inject(to: number, message: ReplicaMessage | RequestMsg, channel = -1): Outputs {
    const m = roundTrip(message, 'test');
    return this.deliver({ from: channel, to, message: m });
  }

  /** The harness network authenticates the sender like a channel does (`inject`ed messages come from nobody). */
  private deliver(e: Envelope): Outputs {
    const input: Input = e.message.type === 'request' ? { kind: 'request', message: e.message } : { kind: 'message', message: e.message, ...(e.from >= 0 ? { from: e.from } : {}) };
    return this.step(e.to, input);
  }

  /**
   * Delivers everything in flight, and everything that delivery causes, FIFO, until the network
   * is empty. Returns how many messages were delivered.
   */
  deliverAll(maxMessages = 20_000): number {
    let delivered = 0;
    while (this.network.length > 0) {
      if (delivered >= maxMessages) throw new Error(`deliverAll: more than ${maxMessages} messages; livelock?`);
      const e = this.network.shift()!;
      if (this.down.has(e.to) || [...this.dropRules].some((p) => p(e))) {
        this.dropped.push(e);
        continue;
      }
      if ([...this.holdRules].some((p) => p(e))) {
        this.held.push(e);
        continue;
      }
      this.deliver(e);
      delivered++;
    }
    return delivered;
  }

  /** Drops every message matching `p` from now on; returns a function that removes the rule. */
  dropWhere(p: Predicate): () => void {
    this.dropRules.add(p);
    return () => this.dropRules.delete(p);
  }

  /** Holds back every message matching `p` from now on; returns a function that removes the rule. */
  holdWhere(p: Predicate): () => void {
    this.holdRules.add(p);
    return () => this.holdRules.delete(p);
  }

  clearRules(): void {
    this.dropRules.clear();
    this.holdRules.clear();
  }

  /** Takes held messages matching `p` out of the hold queue (they are returned, not delivered). */
  takeHeld(p: Predicate = () => true): Envelope[] {
    const taken = this.held.filter(p);
    this.held = this.held.filter((e) => !p(e));
    return taken;
  }

  /** Delivers held messages matching `p` directly (ignoring the rules), then returns what they caused. */
  release(p: Predicate = () => true): void {
    for (const e of this.takeHeld(p)) if (!this.down.has(e.to)) this.deliver(e);
  }

  /** Cuts replica `id` off: every message to or from it is dropped. Returns the undo. */
  isolate(id: number): () => void {
    return this.dropWhere((e) => e.to === id || e.from === id);
  }

  /** Advances the clock of the given replicas (default: all that are up) by `times` ticks. */
  tick(times = 1, ids: number[] = [...Array(this.n).keys()]): void {
    for (let t = 0; t < times; t++) {
      for (const id of ids) if (!this.down.has(id)) this.step(id, { kind: 'tick' });
    }
  }

  /** Ticks and delivers, `times` rounds. */
  run(times: number, ids?: number[]): void {
    for (let t = 0; t < times; t++) {
      this.tick(1, ids);
      this.deliverAll();
    }
  }

  crash(id: number): void {
    this.down.add(id);
  }

  /** Rebuilds replica `id` from its disk (as a process restart would) and routes its restore outputs. */
  restart(id: number): Outputs {
    this.down.delete(id);
    const { replica, outputs: out } = this.build(id, cloneDurable(this.disks[id]!));
    this.replicas[id] = replica;
    // Recorded like a step (there is no input kind for "restart"; a tick stands in for it in the history).
    this.record(id, { kind: 'tick' }, out);
    return out;
  }

  // ------------------------------------------------------------------ clients

  /** A request signed by client `clientId`; `ts` defaults to the client's next number. */
  request(clientId: number, command: KvCommand, ts?: number): ClientRequest {
    const t = ts ?? ++this.clientTs[clientId]!;
    if (ts !== undefined) this.clientTs[clientId] = Math.max(this.clientTs[clientId]!, ts);
    const op = encodeKvCommand(command);
    const signer = this.clientSigners[clientId];
    if (!signer) throw new Error(`no client ${clientId}`);
    return { clientId, ts: t, op, sig: signer.sign(this.auth.statements.request({ clientId, ts: t, op })) };
  }

  put(clientId: number, key: string, value: string, ts?: number): ClientRequest {
    return this.request(clientId, { op: 'put', key, value }, ts);
  }

  get(clientId: number, key: string, ts?: number): ClientRequest {
    return this.request(clientId, { op: 'get', key }, ts);
  }

  /**
   * A client sends `request` to one replica, or to all of them; the request passes the codec. It
   * comes on the channel of client `channel` (by default its own client's, as from a real client;
   * null: a path that authenticates nobody).
   */
  submit(request: ClientRequest, to: number | 'all' = this.leaderOf(this.maxView()), channel: number | null = request.clientId): Outputs[] {
    const targets = to === 'all' ? [...Array(this.n).keys()] : [to];
    const outs: Outputs[] = [];
    for (const t of targets) {
      if (this.down.has(t)) continue;
      const m = roundTrip({ type: 'request', request }, `client ${request.clientId}`) as RequestMsg;
      outs.push(this.step(t, { kind: 'request', message: m, ...(channel === null ? {} : { fromClient: channel }) }));
    }
    return outs;
  }

  /** Replies sent to `clientId` (for request `ts`, if given). */
  repliesTo(clientId: number, ts?: number): (ReplyMsg & { sentBy: number })[] {
    return this.replies
      .filter((r) => r.clientId === clientId && (ts === undefined || r.message.ts === ts))
      .map((r) => ({ ...r.message, sentBy: r.from }));
  }

  // ------------------------------------------------------------------ observations

  maxView(): number {
    return Math.max(...this.replicas.filter((_, i) => !this.down.has(i)).map((r) => r.view));
  }

  /** Every output of replica `id` so far, in order. */
  outputsOf(id: number): Outputs[] {
    return this.history.filter((h) => h.id === id).map((h) => h.out);
  }

  events(id: number): ProtocolEvent[] {
    return this.outputsOf(id).flatMap((o) => o.events);
  }

  eventsOf<T extends ProtocolEvent['type']>(id: number, type: T): Extract<ProtocolEvent, { type: T }>[] {
    return this.events(id).filter((e): e is Extract<ProtocolEvent, { type: T }> => e.type === type);
  }

  /** Reasons of every input replica `id` dropped. */
  drops(id: number): string[] {
    return this.eventsOf(id, 'drop').map((e) => e.reason);
  }

  executed(id: number): ExecutedSlot[] {
    return this.outputsOf(id).flatMap((o) => o.executed);
  }

  persisted(id: number): PersistOp[] {
    return this.outputsOf(id).flatMap((o) => o.persist);
  }

  /** Messages of `type` replica `id` has put on the network (each broadcast counted once per target). */
  sentBy<T extends Sendable['type']>(id: number, type: T): OfType<T>[] {
    return this.outputsOf(id)
      .flatMap((o) => o.send)
      .map((s) => s.message)
      .filter((m): m is OfType<T> => m.type === type);
  }

  /** Messages of `type` replica `id` broadcast (`to: 'all'`), as opposed to answers to one peer. */
  broadcastBy<T extends Sendable['type']>(id: number, type: T): OfType<T>[] {
    return this.outputsOf(id)
      .flatMap((o) => o.send)
      .filter((s) => s.to === 'all')
      .map((s) => s.message)
      .filter((m): m is OfType<T> => m.type === type);
  }

  inFlight<T extends Sendable['type']>(type: T, p: Predicate = () => true): (Envelope & { message: OfType<T> })[] {
    return [...this.network, ...this.held].filter((e) => e.message.type === type && p(e)) as (Envelope & { message: OfType<T> })[];
  }

  // ------------------------------------------------------------------ signing as anyone

  sign(by: number, statement: Uint8Array): Uint8Array {
    const s = this.replicaSigners[by];
    if (!s) throw new Error(`no key for replica ${by}`);
    return s.sign(statement);
  }

  /** A PROPOSE for (view, slot, batch), signed by `by` (default: the leader of `view`). */
  propose(view: number, slot: number, batch: Batch, by = this.leaderOf(view)): ProposeMsg {
    return { type: 'propose', view, slot, batch, sig: this.voteSig('accept', by, view, slot, batchDigest(batch)) };
  }

  voteSig(kind: VoteKind, by: number, view: number, slot: number, digest: Digest): Uint8Array {
    return this.sign(by, this.auth.statements.vote(kind, view, slot, digest));
  }

  accept(from: number, view: number, slot: number, digest: Digest, signedBy = from): AcceptMsg {
    return { type: 'accept', view, slot, digest, from, sig: this.voteSig('accept', signedBy, view, slot, digest) };
  }

  commit(from: number, view: number, slot: number, digest: Digest, signedBy = from): CommitMsg {
    return { type: 'commit', view, slot, digest, from, sig: this.voteSig('commit', signedBy, view, slot, digest) };
  }

  checkpoint(from: number, seq: number, stateDigest: Digest, signedBy = from): CheckpointMsg {
    return { type: 'checkpoint', seq, stateDigest, from, sig: this.sign(signedBy, this.auth.statements.checkpoint(seq, stateDigest)) };
  }

  /** A vote certificate signed by `signers` over exactly (kind, view, slot, digest). */
  voteCert(kind: VoteKind, view: number, slot: number, digest: Digest, signers: number[]): VoteCert {
    return { view, slot, digest, sigs: signers.map((from) => ({ from, sig: this.voteSig(kind, from, view, slot, digest) })) };
  }

  /** A commit certificate (q COMMITs) or, with kind 'fast', a fast one (Qf ACCEPTs). */
  decisionCert(kind: 'commit' | 'fast', view: number, slot: number, digest: Digest, signers: number[]): DecisionCert {
    return { kind, ...this.voteCert(kind === 'fast' ? 'accept' : 'commit', view, slot, digest, signers) };
  }

  checkpointCert(seq: number, stateDigest: Digest, signers: number[]): CheckpointCert {
    return { epoch: 0, seq, stateDigest, sigs: signers.map((from) => ({ from, sig: this.sign(from, this.auth.statements.checkpoint(seq, stateDigest)) })) };
  }

  genesisCert(): CheckpointCert {
    return { epoch: 0, seq: 0, stateDigest: this.genesisDigest(), sigs: [] };
  }

  genesisDigest(): Digest {
    return new Replica({ id: 0, config: this.config, signer: this.replicaSigners[0]!, verifier: sharedVerifier, app: kvStoreFactory() }).stateDigest();
  }

  viewChange(from: number, newView: number, opts: { checkpoint?: CheckpointCert; slots?: SlotEvidence[]; batches?: Batch[]; signedBy?: number } = {}): ViewChangeMsg {
    const body = { newView, from, checkpoint: opts.checkpoint ?? this.genesisCert(), slots: opts.slots ?? [], batches: opts.batches ?? [] };
    return { type: 'view-change', ...body, sig: this.sign(opts.signedBy ?? from, this.auth.statements.viewChange(body)) };
  }

  /** A NEW-VIEW signed by `by` (default: the leader of `view`); its proposals are taken as given. */
  newView(view: number, viewChanges: ViewChangeMsg[], proposals: ProposeMsg[], by = this.leaderOf(view)): NewViewMsg {
    const body = { view, viewChanges, proposals };
    return { type: 'new-view', ...body, sig: this.sign(by, this.auth.statements.newView(body)) };
  }

  status(from: number, view: number, executed: number, stable: number): StatusMsg {
    return { type: 'status', epoch: 0, view, executed, stable, from, sig: this.sign(from, this.auth.statements.status(view, executed, stable, from)) };
  }

  /** A plain VoteCert is taken as a commit certificate. */
  decision(from: number, batch: Batch, voteCert: VoteCert | DecisionCert): DecisionMsg {
    const cert: DecisionCert = { ...voteCert, kind: 'kind' in voteCert ? voteCert.kind : 'commit' };
    return { type: 'decision', batch, cert, from, sig: this.sign(from, this.auth.statements.decision(from, cert.slot, cert.digest)) };
  }

  state(from: number, checkpoint: CheckpointCert, snapshot: Uint8Array): StateMsg {
    return { type: 'state', links: [], checkpoint, snapshot, from, sig: this.sign(from, this.auth.statements.state(from, checkpoint.seq, stateDigestOf(snapshot) ?? sha256(snapshot))) };
  }

  // ------------------------------------------------------------------ scripted scenarios

  /**
   * The leader of view 0 falls silent (crashed); `request` is sent to every replica; the backups
   * time out on it and move to view 1, whose leader (replica 1) sends NEW-VIEW and orders it.
   */
  silentLeaderFailover(request: ClientRequest): void {
    const leader = this.leaderOf(this.maxView());
    this.crash(leader);
    this.submit(request, 'all');
    this.deliverAll();
    this.tick(this.params.requestTimeoutTicks ?? 40);
    this.deliverAll();
  }

  /** Orders `requests` one by one: each goes to the leader of the current view, then everything is delivered. */
  order(...requests: ClientRequest[]): void {
    for (const r of requests) {
      this.submit(r);
      this.deliverAll();
    }
  }
}

/** Encodes and strictly decodes a message, as the network would; throws if the codec refuses it. */
export function roundTrip<M extends Message>(m: M, who: string): M {
  const d = decodeMessage(encodeMessage(m));
  if (!d.ok) throw new Error(`${who} produced a ${m.type} the codec rejects: ${d.reason}`);
  return d.message as M;
}

/** A deep copy of a durable state, so a restarted replica and the "disk" share no mutable objects. */
export function cloneDurable(d: DurableState): DurableState {
  return {
    view: d.view,
    normal: d.normal,
    newView: d.newView,
    checkpoint: d.checkpoint ? { cert: d.checkpoint.cert, snapshot: d.checkpoint.snapshot } : undefined,
    slots: new Map([...d.slots].map(([k, v]) => [k, { ...v }])),
    links: [...d.links],
  };
}

/** The decoded KV result of a reply or an applied request. */
export function kvResult(result: Uint8Array): KvResult {
  return decodeKvResult(result);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * A deep copy with every byte string replaced by its hex: compares structures by their bytes only.
 * (cbor-x's decoder adds a `dataView` property to every Uint8Array it reads, so a request whose op
 * the KV store has decoded no longer `toEqual`s an untouched copy of itself.)
 */
export function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return `0x${hex(x)}`;
  if (Array.isArray(x)) return x.map(plain);
  if (x instanceof Map) return new Map([...x].map(([k, v]) => [k, plain(v)]));
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}
