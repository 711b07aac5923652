/**
 * A scripted driver for membership-change scenarios: real replicas with real Ed25519 keys (the
 * simulator's, `simReplicaKey`), an admin key that may sign changes, a FIFO network with drop and
 * hold rules, and replicas that join by id as the configuration grows. test/core/harness.ts does
 * the same for one fixed configuration; here `'all'` means what the sender's `peers()` says at
 * the time it sends (what a real transport does: members of its epoch, and of the next once
 * scheduled), and a replica outside genesis can be started to join.
 *
 * The test plays any Byzantine party: it `crash`es that replica (its own code stops running) and
 * injects what it wants in its name, signed with its real key for any epoch (`statements(epoch)`).
 * Every message passes the codec on the way, and every replica checks its invariants after every step.
 */
import { encodeKvCommand, type KvCommand } from '../../src/app/kv-command.ts';
import { kvStoreFactory } from '../../src/app/kv-store.ts';
import type { ClusterConfig, ProtocolParams } from '../../src/core/config.ts';
import { carryOut, memoryDisk } from '../../src/core/driver.ts';
import { emptyDurableState, type DurableState } from '../../src/core/durable.ts';
import type { ExecutedSlot, Input, Outputs, ProtocolEvent } from '../../src/core/io.ts';
import { decodeChangeResult, encodeSystemCommand, type ChangeResult, type MembershipChange } from '../../src/core/membership.ts';
import type { ClientRequest, ReplicaMessage, ReplyMsg, RequestMsg } from '../../src/core/messages.ts';
import { Replica } from '../../src/core/replica.ts';
import { restartReplica } from '../../src/core/restart.ts';
import { Statements } from '../../src/core/statements.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { SIM_ADMIN_ID, simCluster, simReplicaKey } from '../../src/sim/simulation.ts';
import { cloneDurable, roundTrip } from '../core/harness.ts';

export interface Envelope {
  from: number;
  to: number;
  message: ReplicaMessage | RequestMsg;
}

export type Predicate = (e: Envelope) => boolean;

/**
 * Small numbers so a boundary is a few slots away: a change executed at slot s takes effect at
 * B = the first multiple of 4 at or above s + 8.
 */
export const epochParams: Partial<ProtocolParams> = {
  mode: 'classic',
  checkpointInterval: 4,
  window: 8,
  maxInflight: 4,
  maxBatch: 8,
  requestTimeoutTicks: 10,
  viewChangeTimeoutTicks: 20,
  statusIntervalTicks: 5,
};

const verifier = new SignatureVerifier({ cacheEntries: 1 << 16 });

export class EpochHarness {
  /** The genesis configuration (epoch 0): replicas 0..n−1, clients 0..clients−1, admin SIM_ADMIN_ID. */
  readonly config: ClusterConfig;
  readonly params: Partial<ProtocolParams>;
  readonly replicas = new Map<number, Replica>();
  readonly disks = new Map<number, DurableState>();
  readonly history: { id: number; input: Input; out: Outputs }[] = [];
  network: Envelope[] = [];
  held: Envelope[] = [];
  readonly dropped: Envelope[] = [];
  readonly replies: { from: number; clientId: number; message: ReplyMsg }[] = [];
  readonly down = new Set<number>();
  private readonly dropRules = new Set<Predicate>();
  private readonly holdRules = new Set<Predicate>();
  private readonly clientSigners: Signer[];
  private readonly adminSigner: Signer;
  private readonly ts = new Map<number, number>();

  constructor(opts: { n?: number; f?: number; clients?: number; params?: Partial<ProtocolParams> } = {}) {
    const { config, clientSeeds, adminSeed } = simCluster(opts.n ?? 4, opts.f ?? 1, opts.clients ?? 2);
    this.config = config;
    this.params = { ...epochParams, ...opts.params };
    this.clientSigners = clientSeeds.map((s) => new Signer(s));
    this.adminSigner = new Signer(adminSeed);
    for (const r of config.replicas) this.start(r.id);
  }

  /** Starts replica `id` from genesis (a joining replica if genesis does not list it). */
  start(id: number): Replica {
    this.disks.set(id, emptyDurableState());
    return this.build(id, undefined);
  }

  private build(id: number, durable: DurableState | undefined): Replica {
    const { replica, outputs } = restartReplica(
      {
        id,
        config: this.config,
        params: this.params,
        signer: new Signer(simReplicaKey(id).seed),
        // Its rotated key too, as in the simulator: it signs once an epoch lists it.
        moreSigners: [new Signer(simReplicaKey(id, 1).seed)],
        verifier,
        app: kvStoreFactory(),
      },
      durable,
    );
    this.replicas.set(id, replica);
    this.record(id, { kind: 'tick' }, outputs);
    return replica;
  }

  r(id: number): Replica {
    const r = this.replicas.get(id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  get ids(): number[] {
    return [...this.replicas.keys()].sort((a, b) => a - b);
  }

  // ------------------------------------------------------------------ stepping and routing

  step(id: number, input: Input): Outputs {
    const out = this.r(id).step(input);
    this.record(id, input, out);
    return out;
  }

  private record(id: number, input: Input, out: Outputs): void {
    this.history.push({ id, input, out });
    const violated = this.r(id).invariants();
    if (violated.length > 0) throw new Error(`replica ${id} violates its invariants after a ${input.kind} step: ${violated.join('; ')}`);
    carryOut(out, {
      disk: memoryDisk(this.disks.get(id)!),
      network: {
        send: (s) => {
          const message = roundTrip(s.message, `replica ${id}`);
          for (const to of s.to === 'all' ? this.r(id).peers() : [s.to]) this.network.push({ from: id, to, message });
        },
        reply: (r) => this.replies.push({ from: id, clientId: r.clientId, message: r.message }),
      },
    });
  }

  /** Delivers a message as if from the network (through the codec), bypassing the rules. */
  inject(to: number, message: ReplicaMessage | RequestMsg): Outputs {
    return this.deliver({ from: -1, to, message: roundTrip(message, 'test') });
  }

  private deliver(e: Envelope): Outputs {
    const input: Input = e.message.type === 'request' ? { kind: 'request', message: e.message } : { kind: 'message', message: e.message };
    return this.step(e.to, input);
  }

  deliverAll(maxMessages = 50_000): void {
    for (let delivered = 0; this.network.length > 0; ) {
      if (delivered >= maxMessages) throw new Error(`deliverAll: more than ${maxMessages} messages; livelock?`);
      const e = this.network.shift()!;
      if (this.down.has(e.to) || !this.replicas.has(e.to) || [...this.dropRules].some((p) => p(e))) {
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
  }

  dropWhere(p: Predicate): () => void {
    this.dropRules.add(p);
    return () => this.dropRules.delete(p);
  }

  holdWhere(p: Predicate): () => void {
    this.holdRules.add(p);
    return () => this.holdRules.delete(p);
  }

  /** Delivers the held messages matching `p` (ignoring the rules). */
  release(p: Predicate = () => true): void {
    const taken = this.held.filter(p);
    this.held = this.held.filter((e) => !p(e));
    for (const e of taken) if (!this.down.has(e.to)) this.deliver(e);
  }

  tick(times = 1): void {
    for (let t = 0; t < times; t++) for (const id of this.ids) if (!this.down.has(id)) this.step(id, { kind: 'tick' });
  }

  /** Ticks and delivers, `times` rounds. */
  run(times: number): void {
    for (let t = 0; t < times; t++) {
      this.tick();
      this.deliverAll();
    }
  }

  /** Runs rounds until `done()` holds; throws after `max` rounds. */
  runUntil(done: () => boolean, max = 300): void {
    for (let t = 0; t < max; t++) {
      if (done()) return;
      this.run(1);
    }
    if (!done()) throw new Error(`runUntil: not done after ${max} rounds`);
  }

  crash(id: number): void {
    this.down.add(id);
  }

  /** Rebuilds replica `id` from its disk, as a process restart would. */
  restart(id: number): Replica {
    this.down.delete(id);
    return this.build(id, cloneDurable(this.disks.get(id)!));
  }

  // ------------------------------------------------------------------ clients and the admin

  private nextTs(clientId: number, ts: number | undefined): number {
    const t = ts ?? (this.ts.get(clientId) ?? 0) + 1;
    this.ts.set(clientId, Math.max(t, this.ts.get(clientId) ?? 0));
    return t;
  }

  /** A request signed by `signer` on behalf of `clientId` (requests carry no epoch: statements of any epoch agree). */
  signedRequest(clientId: number, op: Uint8Array, signer: Signer, ts?: number): ClientRequest {
    const t = this.nextTs(clientId, ts);
    return { clientId, ts: t, op, sig: signer.sign(this.statements(0).request({ clientId, ts: t, op })) };
  }

  kv(clientId: number, command: KvCommand, ts?: number): ClientRequest {
    return this.signedRequest(clientId, encodeKvCommand(command), this.clientSigners[clientId]!, ts);
  }

  /** A membership change signed by the admin key. */
  change(change: MembershipChange, ts?: number): ClientRequest {
    return this.signedRequest(SIM_ADMIN_ID, encodeSystemCommand({ kind: 'change', change }), this.adminSigner, ts);
  }

  clientSigner(clientId: number): Signer {
    return this.clientSigners[clientId]!;
  }

  /** The request goes to every replica that is up (a client that does not know the leader). */
  submit(request: ClientRequest, to: number[] = this.ids): void {
    for (const t of to) if (!this.down.has(t)) this.step(t, { kind: 'request', message: roundTrip({ type: 'request', request }, `client ${request.clientId}`) });
  }

  /** Replies to (clientId, ts), by the replica that sent them. */
  repliesTo(clientId: number, ts: number): Map<number, ReplyMsg> {
    const by = new Map<number, ReplyMsg>();
    for (const r of this.replies) if (r.clientId === clientId && r.message.ts === ts) by.set(r.from, r.message);
    return by;
  }

  /** The decoded change result each replica replied for the admin's request `ts`. */
  changeResults(ts: number, clientId = SIM_ADMIN_ID): Map<number, ChangeResult | undefined> {
    return new Map([...this.repliesTo(clientId, ts)].map(([from, m]) => [from, decodeChangeResult(m.result)]));
  }

  // ------------------------------------------------------------------ signing as anyone

  statements(epoch: number): Statements {
    return new Statements(this.config.clusterId, epoch);
  }

  /** Replica `id`'s real signature (or its rotated key's) over `statement`. */
  sign(id: number, statement: Uint8Array, rotation = 0): Uint8Array {
    return new Signer(simReplicaKey(id, rotation).seed).sign(statement);
  }

  // ------------------------------------------------------------------ observations

  outputsOf(id: number): Outputs[] {
    return this.history.filter((h) => h.id === id).map((h) => h.out);
  }

  eventsOf<T extends ProtocolEvent['type']>(id: number, type: T): Extract<ProtocolEvent, { type: T }>[] {
    return this.outputsOf(id)
      .flatMap((o) => o.events)
      .filter((e): e is Extract<ProtocolEvent, { type: T }> => e.type === type);
  }

  drops(id: number): string[] {
    return this.eventsOf(id, 'drop').map((e) => e.reason);
  }

  executed(id: number): ExecutedSlot[] {
    return this.outputsOf(id).flatMap((o) => o.executed);
  }

  /** Every message replica `id` sent (a broadcast counted once). */
  sentBy(id: number): (ReplicaMessage | RequestMsg)[] {
    return this.outputsOf(id).flatMap((o) => o.send.map((s) => s.message));
  }
}
