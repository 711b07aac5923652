/**
 * The byzpax client library.
 *
 *   const c = await Client.connect({ cluster, key });
 *   await c.put('k', 'v'); await c.get('k'); await c.cas('k', 'v', 'w'); await c.delete('k');
 *   await c.close();
 *
 * Every request is signed with the client's key and sent to the replica the client believes
 * leads; if no agreed answer arrives in time it is re-sent to every replica (backups relay it to
 * the leader and start suspecting it, which is what drives a view change past a silent or
 * censoring leader). A result is accepted only once f+1 replicas returned the same signed
 * (request, slot, result): at most f can lie, so one of them is correct, and a correct replica
 * answers only after executing a decided slot. Replies also tell the client the current view, so
 * it follows leader changes.
 *
 * Replies also carry their epoch. A reply signed in an epoch the client does not know means the
 * membership changed: the client asks that replica for the proofs of the configurations since its
 * own (CONFIG-QUERY), checks each with the epoch before it — the same EpochChain replicas use, so
 * a lying replica can only send proofs that fail — then counts the held-back replies with the new
 * epoch's keys and f, and connects to the new members.
 *
 * Operations run one at a time per client, in call order: the replicas' exactly-once table keeps
 * one session per client (highest request number), so a client has at most one request in flight.
 * Request numbers start from the wall clock in microseconds, so a restarted client keeps counting
 * upwards instead of colliding with its earlier requests.
 */
import { decodeKvResult, encodeKvCommand, type KvCommand, type KvResult } from '../app/kv-command.ts';
import type { Cluster } from '../cluster/cluster-file.ts';
import type { KeyFile } from '../cluster/key-file.ts';
import { decodeMessage, encodeMessage } from '../codec/wire.ts';
import { Auth } from '../core/auth.ts';
import { epochOf, leaderOf, type ClusterConfig } from '../core/config.ts';
import { EpochChain } from '../core/epochs.ts';
import { decodeChangeResult, encodeSystemCommand, Membership, type ChangeResult, type MembershipChange } from '../core/membership.ts';
import type { ClientRequest, ConfigProofMsg, ReplyMsg, StatusMsg } from '../core/messages.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { Signer } from '../crypto/signer.ts';
import { SignatureVerifier } from '../crypto/verifier.ts';
import { ClientTransport } from '../net/client-transport.ts';
import { ReplyQuorum } from './reply-quorum.ts';

export interface ClientOptions {
  /** The cluster file: genesis, or a later configuration `byzpax config fetch` wrote. */
  cluster: Cluster;
  /** This client's key (must be listed in the cluster as a client or an admin). */
  key: Pick<KeyFile, 'id' | 'seed'>;
  /** Wait this long for f+1 replicas to be reachable before giving up (ms). */
  connectTimeoutMs?: number;
  /**
   * First retransmission to all replicas after at least this long (ms); doubles up to 8×. The
   * wait also adapts to the answers' latency (3× its smoothed value, as TCP's retransmission timer
   * does), so a loaded cluster is not hit by every client re-sending every request to every replica.
   */
  retryMs?: number;
  /** An operation fails after this long without an agreed answer (ms). */
  operationTimeoutMs?: number;
  /**
   * Send each request to every replica at once, not to the leader first. Backups then hold the
   * client's own bytes and need not check its signature (core/request-checks.ts), but each of
   * them handles every request frame. Off by default: measured on a 2-core machine with n = 4 and
   * 64 clients, alternated in one session, 323 and 300 ops/s with it against 526 and 381 without;
   * the backups' verifications fell from 1.15 to 0.15 per operation, yet their CPU per operation
   * rose from 0.7-1.0 ms to 1.2-1.4 ms (a frame event per request at every backup, and four
   * sealed frames per request at the client). Replicas with cores of their own may differ.
   */
  requestsToAll?: boolean;
  /**
   * Signature checks to share with other clients in this process. Replicas sign the replies of a
   * slot together, so clients sharing a verifier check each replica's slot signature once, not
   * once per session (its cache holds successes only, so sharing cannot let a forgery through).
   */
  verifier?: SignatureVerifier;
}

/** One agreed answer, with where it was ordered. */
export interface Answer<R = KvResult> {
  result: R;
  slot: number;
  view: number;
  /** The epoch whose members signed the answer. */
  epoch: number;
  /** Milliseconds from sending the request to accepting the answer. */
  latencyMs: number;
}

export class ClientError extends Error {}

/** The adaptive part of the retransmission wait never exceeds this (ms). */
const MAX_ADAPTIVE_RETRY_MS = 5_000;

interface Pending {
  request: ClientRequest;
  quorum: ReplyQuorum;
  sentAt: number;
  /** Replies signed in an epoch not known yet: counted once its configuration is verified. */
  heldBack: ReplyMsg[];
  resolve: (a: Answer<Uint8Array>) => void;
  reject: (e: Error) => void;
  timers: NodeJS.Timeout[];
}

/** What a replica's signed STATUS says of it. */
export interface MemberState {
  epoch: number;
  view: number;
  executed: number;
  stable: number;
}

/** Replies held back per request until their epoch's configuration is known (bounded: Byzantine replicas may send many). */
const MAX_HELD_BACK = 64;

export class Client {
  readonly id: number;
  private readonly auth: Auth;
  private readonly signer: Signer;
  /** The configurations this client verified, from the one in its cluster file on. */
  private readonly chain: EpochChain;
  /** Members' signed STATUS, while `memberStates` collects them. */
  private readonly statuses = new Map<number, MemberState>();
  /** The epoch a CONFIG-QUERY is out for, so one reply from a later epoch does not start a storm. */
  private querying: { epoch: number; at: number } | undefined;
  private believedView = 0;
  /** Smoothed latency of answered requests (ms), undefined before the first answer. */
  private smoothedLatencyMs: number | undefined;
  private lastTs: number;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Replies that did not count (bad signature, duplicate, another request), by reason. */
  readonly rejected = new Map<string, number>();

  private constructor(
    readonly cluster: Cluster,
    key: Pick<KeyFile, 'id' | 'seed'>,
    private readonly transport: ClientTransport,
    private readonly opts: Required<Pick<ClientOptions, 'retryMs' | 'operationTimeoutMs' | 'requestsToAll'>>,
  ) {
    this.id = key.id;
    this.signer = new Signer(key.seed);
    this.auth = new Auth(cluster.config, this.signer, transport.verifier);
    // A fetched file's boundary is not in it; 0 only loosens a range check that the epoch's own
    // quorum already implies (its correct members sign checkpoints only inside their epoch).
    this.chain = new EpochChain({ config: cluster.config, activatedAt: 0 }, this.auth);
    this.lastTs = Date.now() * 1000;
    transport.onFrame = (from, frame) => this.onFrame(from, frame);
  }

  static async connect(opts: ClientOptions): Promise<Client> {
    const { cluster, key } = opts;
    const listed = [...cluster.config.clients, ...(cluster.config.admins ?? [])].find((c) => c.id === key.id);
    const signer = new Signer(key.seed);
    if (!listed || !bytesEqual(listed.publicKey, signer.publicKey)) {
      throw new ClientError(`client ${key.id}'s key is not listed in cluster ${cluster.config.clusterId} (unknown client key)`);
    }
    const verifier = opts.verifier ?? new SignatureVerifier();
    const transport = new ClientTransport({ config: cluster.config, id: key.id, signer, verifier });
    const need = cluster.config.f + 1;
    const timeout = opts.connectTimeoutMs ?? 5000;
    const reached = await transport.waitForConnections(need, timeout);
    if (reached < need) {
      await transport.close();
      throw new ClientError(
        reached === 0
          ? `cluster unreachable: no replica answered at ${cluster.urls.join(', ')} within ${timeout} ms`
          : `too few replicas: reached ${reached} of ${cluster.config.n}, an answer needs ${need} (f+1)`,
      );
    }
    return new Client(cluster, key, transport, { retryMs: opts.retryMs ?? 500, operationTimeoutMs: opts.operationTimeoutMs ?? 30_000, requestsToAll: opts.requestsToAll ?? false });
  }

  /** The signature checks this client runs (shared with other clients if given to connect). */
  get verifier(): SignatureVerifier {
    return this.transport.verifier;
  }

  /** Replicas this client currently has a connection to. */
  connectedReplicas(): number[] {
    return this.transport.connected();
  }

  /** Resolves with the number of connected replicas once it reaches `need`, or at the timeout. */
  waitForConnections(need: number, timeoutMs: number): Promise<number> {
    return this.transport.waitForConnections(need, timeoutMs);
  }

  /** The latest configuration this client verified (its members are whom it talks to). */
  get configuration(): ClusterConfig {
    return this.chain.latest.config;
  }

  get epoch(): number {
    return epochOf(this.configuration);
  }

  async get(key: string): Promise<string | null> {
    return valueOf(await this.execute({ op: 'get', key }));
  }

  /** Returns the previous value (null if there was none). */
  async put(key: string, value: string): Promise<string | null> {
    return valueOf(await this.execute({ op: 'put', key, value }));
  }

  /** Returns the previous value (null if there was none). */
  async delete(key: string): Promise<string | null> {
    return valueOf(await this.execute({ op: 'delete', key }));
  }

  /** Sets `key` to `value` iff it currently holds `expected` (null = absent). */
  async cas(key: string, expected: string | null, value: string): Promise<{ ok: boolean; value: string | null }> {
    const a = await this.execute({ op: 'cas', key, expected, value });
    if ('error' in a.result) throw new ClientError(`cas rejected by the replicas: ${a.result.error}`);
    if (!('ok' in a.result)) throw new ClientError('cas answered with a result of another kind');
    return { ok: a.result.ok, value: a.result.value };
  }

  /** Runs one command and returns the agreed answer (queued behind earlier calls). */
  async execute(command: KvCommand): Promise<Answer> {
    const a = await this.executeOp(encodeKvCommand(command));
    return { ...a, result: decodeKvResult(a.result) };
  }

  /**
   * Submits a membership change (the client's key must be an admin's). Resolves with the
   * replicas' verdict: the epoch the change starts and the slot after which it does, or why it was
   * refused (nothing changed then).
   */
  async changeMembership(change: MembershipChange): Promise<Answer<ChangeResult>> {
    const a = await this.executeOp(encodeSystemCommand({ kind: 'change', change }));
    const result = decodeChangeResult(a.result);
    if (!result) throw new ClientError('the replicas answered a membership change with something else');
    return { ...a, result };
  }

  /** The replicated membership, read through the log: the current configuration and any pending change. */
  async readMembership(): Promise<Answer<Membership>> {
    const a = await this.executeOp(encodeSystemCommand({ kind: 'read-config' }));
    try {
      return { ...a, result: Membership.decode(a.result, this.configuration.clusterId) };
    } catch (e) {
      throw new ClientError(`the replicas answered read-config with something else: ${(e as Error).message}`);
    }
  }

  /** Runs one raw operation (queued behind earlier calls). */
  executeOp(op: Uint8Array): Promise<Answer<Uint8Array>> {
    const run = this.queue.then(() => this.send(op));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private send(op: Uint8Array): Promise<Answer<Uint8Array>> {
    if (this.closed) return Promise.reject(new ClientError('client is closed'));
    const ts = (this.lastTs = Math.max(this.lastTs + 1, Date.now() * 1000));
    const request: ClientRequest = { clientId: this.id, ts, op, sig: this.signer.sign(this.auth.statements.request({ clientId: this.id, ts, op })) };
    const frame = encodeMessage({ type: 'request', request });
    return new Promise<Answer<Uint8Array>>((resolve, reject) => {
      const quorum = new ReplyQuorum((epoch) => this.chain.authOf(epoch), this.id, ts, 0);
      const p: Pending = { request, quorum, sentAt: performance.now(), heldBack: [], resolve, reject, timers: [] };
      this.pending = p;
      // To the leader we believe in, or to everyone (see `requestsToAll`); to everyone on retry.
      this.transport.send(this.opts.requestsToAll ? 'all' : leaderOf(this.believedView, this.configuration), frame);
      let wait = Math.max(this.opts.retryMs, Math.min(3 * (this.smoothedLatencyMs ?? 0), MAX_ADAPTIVE_RETRY_MS));
      const retry = () => {
        if (this.pending !== p) return;
        this.transport.send('all', frame);
        wait = Math.min(wait * 2, Math.max(this.opts.retryMs * 8, wait));
        p.timers.push(setTimeout(retry, wait));
      };
      p.timers.push(setTimeout(retry, wait));
      p.timers.push(
        setTimeout(() => {
          if (this.pending !== p) return;
          this.finish(p);
          const reachable = this.transport.connected().length;
          const { n, f } = this.configuration;
          reject(new ClientError(`no agreed answer within ${this.opts.operationTimeoutMs} ms (connected to ${reachable} of ${n} replicas of epoch ${this.epoch}; an answer needs ${f + 1} matching)`));
        }, this.opts.operationTimeoutMs),
      );
    });
  }

  private finish(p: Pending): void {
    for (const t of p.timers) clearTimeout(t);
    if (this.pending === p) this.pending = undefined;
  }

  private onFrame(from: number, frame: Uint8Array): void {
    const d = decodeMessage(frame);
    if (!d.ok) return this.reject(`malformed frame: ${d.reason}`);
    if (d.message.type === 'config-proof') return this.onConfigProof(from, d.message);
    if (d.message.type === 'status') return this.onStatus(from, d.message);
    if (d.message.type !== 'reply') return this.reject(`a replica sent a ${d.message.type}`);
    const reply = d.message;
    if (reply.from !== from) return this.reject('reply signed for another replica than the sender');
    const p = this.pending;
    if (!p || reply.ts !== p.request.ts) return; // a late answer to an earlier request
    this.count(p, reply);
  }

  private count(p: Pending, reply: ReplyMsg): void {
    // onFrame checked that the reply names the replica whose channel carried it.
    const v = p.quorum.add(reply, true);
    if (v.kind === 'rejected') {
      if (v.laterEpoch !== undefined && p.heldBack.length < MAX_HELD_BACK) {
        p.heldBack.push(reply);
        this.askForConfigurations(reply.from, v.laterEpoch);
        return;
      }
      return this.reject(v.reason);
    }
    if (v.kind === 'pending') return;
    // A new epoch starts with a view change; views keep counting across epochs.
    this.believedView = Math.max(this.believedView, v.view);
    this.finish(p);
    const latencyMs = performance.now() - p.sentAt;
    this.smoothedLatencyMs = this.smoothedLatencyMs === undefined ? latencyMs : 0.875 * this.smoothedLatencyMs + 0.125 * latencyMs;
    p.resolve({ result: v.result, slot: v.slot, view: v.view, epoch: v.epoch, latencyMs });
  }

  /** Asks `replica` (which signed in `epoch`) for the configurations since ours, at most once a second per epoch. */
  private askForConfigurations(replica: number, epoch: number): void {
    const now = performance.now();
    if (this.querying && this.querying.epoch >= epoch && now - this.querying.at < 1000) return;
    this.querying = { epoch, at: now };
    this.transport.send(replica, encodeMessage({ type: 'config-query', since: this.epoch }));
  }

  /** A member's signed STATUS (the answer to `memberStates`), kept if its epoch's key signed it. */
  private onStatus(from: number, m: StatusMsg): void {
    if (m.from !== from) return this.reject('STATUS signed for another replica than the sender');
    const auth = this.chain.authOf(m.epoch);
    if (!auth || !auth.verifyReplica(m.from, auth.statements.status(m.view, m.executed, m.stable, m.from), m.sig)) return this.reject('STATUS with a bad signature');
    const known = this.statuses.get(from);
    if (!known || known.epoch < m.epoch || (known.epoch === m.epoch && known.executed <= m.executed)) this.statuses.set(from, { epoch: m.epoch, view: m.view, executed: m.executed, stable: m.stable });
  }

  /**
   * How each replica says it is — epoch, view, last executed slot, stable checkpoint — from its
   * latest signed STATUS, asked for now and collected for `waitMs`. Each is one replica's word
   * (a Byzantine one may lag or lie about itself, not sign for another); replicas that did not
   * answer are absent.
   */
  async memberStates(waitMs = 1500): Promise<Map<number, MemberState>> {
    this.statuses.clear();
    const deadline = performance.now() + waitMs;
    // Asked again every 200 ms of those that have not answered: a link may come up meanwhile.
    while (performance.now() < deadline) {
      const missing = this.configuration.replicas.filter((r) => !this.statuses.has(r.id));
      if (missing.length === 0) break;
      const query = encodeMessage({ type: 'config-query', since: this.epoch });
      for (const r of missing) this.transport.send(r.id, query);
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - performance.now()))));
    }
    return new Map(this.statuses);
  }

  /** Verifies each proof with the epoch before it; a wrong one is counted and ends the answer. */
  private onConfigProof(from: number, m: ConfigProofMsg): void {
    const before = this.epoch;
    for (const link of m.links) {
      const added = this.chain.extend(link, this.configuration.clusterId);
      if (added === 'known') continue; // a second answer to the same question
      if (typeof added === 'string') {
        this.reject(`configuration proof from replica ${from}: ${added}`);
        break;
      }
    }
    if (this.epoch === before) return;
    this.querying = undefined;
    this.transport.setMembers(this.configuration);
    // The replies held back may count now; the rest wait for a later proof.
    const p = this.pending;
    if (!p) return;
    const held = p.heldBack;
    p.heldBack = [];
    for (const reply of held) if (this.pending === p) this.count(p, reply);
  }

  private reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const p = this.pending;
    if (p) {
      this.finish(p);
      p.reject(new ClientError('client closed before an answer arrived'));
    }
    await this.transport.close();
  }
}

function valueOf(a: Answer): string | null {
  if ('error' in a.result) throw new ClientError(`rejected by the replicas: ${a.result.error}`);
  return a.result.value;
}
