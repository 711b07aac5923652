/**
 * A closed-loop simulated client: one operation at a time, a random KV workload, the real
 * signing and reply-acceptance rules. It sends to the replica it believes leads, and on a timeout
 * to every replica (which makes backups relay the request and suspect a silent leader).
 */
import { decodeKvResult, encodeKvCommand, type KvCommand, type KvResult } from '../app/kv-command.ts';
import type { Operation } from '../check/history.ts';
import type { KvInput, KvOutput } from '../check/kv-model.ts';
import { ReplyQuorum } from '../client/reply-quorum.ts';
import type { Auth } from '../core/auth.ts';
import { leaderOf } from '../core/config.ts';
import type { ClientRequest, ReplyMsg, RequestMsg } from '../core/messages.ts';
import type { Prng } from '../random/prng.ts';

/**
 * The membership a simulated client follows. The simulator gives it the configurations its correct
 * replicas verified (ground truth); the real client learns them from f+1 signed replies.
 */
export interface SimMembershipView {
  latest(): Auth;
  authOf(epoch: number): Auth | undefined;
}

export interface SimClientOptions {
  id: number;
  operations: number;
  keys: string[];
  /** Ticks before the first retransmission, to every replica. */
  retryTicks: number;
}

interface InFlight {
  request: ClientRequest;
  command: KvCommand;
  quorum: ReplyQuorum;
  lastSent: number;
  attempts: number;
  historyIndex: number;
}

export class SimClient {
  private ts = 0;
  private believedView = 0;
  private inflight: InFlight | undefined;
  private valueCounter = 0;
  /** The last value this client saw per key, so compare-and-set sometimes succeeds. */
  private readonly seen = new Map<string, string | null>();
  done = 0;
  /** Results the client accepted, for cross-checking against what replicas executed. */
  readonly accepted: { ts: number; result: Uint8Array; slot: number }[] = [];

  constructor(
    readonly opts: SimClientOptions,
    /** The configuration the client follows: the latest epoch's, and each epoch's to check replies. */
    private readonly cluster: SimMembershipView,
    private readonly sign: (statement: Uint8Array) => Uint8Array,
    private readonly prng: Prng,
    private readonly history: Operation<KvInput, KvOutput>[],
    private readonly clock: { event: () => number },
  ) {}

  get finished(): boolean {
    return this.done >= this.opts.operations && !this.inflight;
  }

  get waiting(): boolean {
    return this.inflight !== undefined;
  }

  /** Called every tick; returns the requests to send and where. */
  tick(now: number): { to: number | 'all'; message: RequestMsg }[] {
    if (!this.inflight) {
      if (this.done >= this.opts.operations) return [];
      this.inflight = this.invoke(now);
      return [{ to: leaderOf(this.believedView, this.cluster.latest().config), message: { type: 'request', request: this.inflight.request } }];
    }
    const f = this.inflight;
    const backoff = this.opts.retryTicks * Math.min(2 ** Math.max(0, f.attempts - 1), 8);
    if (now - f.lastSent < backoff) return [];
    f.lastSent = now;
    f.attempts++;
    return [{ to: 'all', message: { type: 'request', request: f.request } }];
  }

  private invoke(now: number): InFlight {
    const command = this.randomCommand();
    const ts = ++this.ts;
    const op = encodeKvCommand(command);
    const auth = this.cluster.latest();
    const request: ClientRequest = { clientId: this.opts.id, ts, op, sig: this.sign(auth.statements.request({ clientId: this.opts.id, ts, op })) };
    const historyIndex = this.history.length;
    this.history.push({ clientId: this.opts.id, input: command as KvInput, output: undefined, call: this.clock.event(), return: Infinity });
    return { request, command, quorum: new ReplyQuorum((epoch) => this.cluster.authOf(epoch), this.opts.id, ts, auth.config.f + 1), lastSent: now, attempts: 0, historyIndex };
  }

  /** On acceptance, also returns the completed history entry. */
  onReply(reply: ReplyMsg): { accepted: boolean; rejected?: string; op?: Operation<KvInput, KvOutput> } {
    const f = this.inflight;
    if (!f || reply.ts !== f.request.ts) return { accepted: false };
    const verdict = f.quorum.add(reply);
    if (verdict.kind === 'rejected') return { accepted: false, rejected: verdict.reason };
    if (verdict.kind === 'pending') return { accepted: false };
    this.believedView = Math.max(this.believedView, verdict.view);
    const result: KvResult = decodeKvResult(verdict.result);
    this.remember(f.command, result);
    const entry = this.history[f.historyIndex]!;
    entry.output = 'error' in result ? undefined : (result as KvOutput);
    entry.return = 'error' in result ? Infinity : this.clock.event();
    this.accepted.push({ ts: f.request.ts, result: verdict.result, slot: verdict.slot });
    this.inflight = undefined;
    this.done++;
    return { accepted: true, op: entry };
  }

  private remember(c: KvCommand, r: KvResult): void {
    if ('error' in r) return;
    if (c.op === 'get') this.seen.set(c.key, r.value);
    else if (c.op === 'put') this.seen.set(c.key, c.value);
    else if (c.op === 'delete') this.seen.set(c.key, null);
    else this.seen.set(c.key, 'ok' in r && r.ok ? c.value : r.value);
  }

  private randomCommand(): KvCommand {
    const key = this.prng.pick(this.opts.keys);
    const value = `c${this.opts.id}v${++this.valueCounter}`;
    const r = this.prng.next();
    if (r < 0.35) return { op: 'get', key };
    if (r < 0.7) return { op: 'put', key, value };
    if (r < 0.8) return { op: 'delete', key };
    const expected = this.prng.chance(0.7) ? (this.seen.get(key) ?? null) : `c${this.prng.int(4)}v${this.prng.range(1, Math.max(1, this.valueCounter))}`;
    return { op: 'cas', key, expected, value };
  }
}
