/**
 * The simulated administrator: submits a plan of membership changes one at a time, each signed with
 * the admin key, through the log like any request. It waits for f+1 matching signed replies, and
 * after a change is accepted, for the epoch it scheduled to begin, before the next one. A change
 * refused because another is pending is retried with a new request number.
 */
import { encodeSystemCommand, decodeChangeResult, type MembershipChange } from '../core/membership.ts';
import { leaderOf } from '../core/config.ts';
import type { ClientRequest, ReplyMsg, RequestMsg } from '../core/messages.ts';
import { ReplyQuorum } from '../client/reply-quorum.ts';
import type { SimMembershipView } from './sim-client.ts';

/** A step of the plan: computed when it is due, from the configuration current then. */
export type PlannedChange = (current: SimMembershipView) => MembershipChange | undefined;

export interface AdminOutcome {
  change: MembershipChange;
  ok: boolean;
  detail: string;
  epoch?: number;
  activatesAfter?: number;
}

export class SimAdmin {
  private ts = 0;
  private inflight: { request: ClientRequest; change: MembershipChange; quorum: ReplyQuorum; lastSent: number; attempts: number } | undefined;
  /** After an accepted change, the epoch to wait for before the next one. */
  private awaitingEpoch: number | undefined;
  private next = 0;
  private notBefore: number;
  readonly outcomes: AdminOutcome[] = [];
  /** The shape the end-of-run liveness check reads (like a client's). */
  readonly opts: { id: number; operations: number };

  get done(): number {
    return this.next;
  }

  constructor(
    readonly id: number,
    private readonly plan: PlannedChange[],
    private readonly cluster: SimMembershipView,
    private readonly sign: (statement: Uint8Array) => Uint8Array,
    /** First tick a change may be submitted. */
    startAt: number,
    private readonly retryTicks: number,
    private readonly onAccepted: (change: MembershipChange) => void,
  ) {
    this.notBefore = startAt;
    this.opts = { id, operations: plan.length };
  }

  /** Every planned change decided (accepted or refused for good) and every accepted one in effect. */
  get finished(): boolean {
    return this.next >= this.plan.length && !this.inflight && this.awaitingEpoch === undefined;
  }

  tick(now: number): { to: number | 'all'; message: RequestMsg }[] {
    if (this.awaitingEpoch !== undefined) {
      if (this.cluster.latest().epoch < this.awaitingEpoch) return [];
      this.awaitingEpoch = undefined;
    }
    if (!this.inflight) {
      if (this.next >= this.plan.length || now < this.notBefore) return [];
      const change = this.plan[this.next]!(this.cluster);
      if (!change) {
        this.next++;
        return [];
      }
      const ts = ++this.ts;
      const op = encodeSystemCommand({ kind: 'change', change });
      const auth = this.cluster.latest();
      const request: ClientRequest = { clientId: this.id, ts, op, sig: this.sign(auth.statements.request({ clientId: this.id, ts, op })) };
      this.inflight = { request, change, quorum: new ReplyQuorum((e) => this.cluster.authOf(e), this.id, ts, auth.config.f + 1), lastSent: now, attempts: 0 };
      return [{ to: leaderOf(0, auth.config), message: { type: 'request', request } }, { to: 'all', message: { type: 'request', request } }];
    }
    const f = this.inflight;
    if (now - f.lastSent < this.retryTicks * Math.min(2 ** f.attempts, 8)) return [];
    f.lastSent = now;
    f.attempts++;
    return [{ to: 'all', message: { type: 'request', request: f.request } }];
  }

  onReply(reply: ReplyMsg, now: number): AdminOutcome | undefined {
    const f = this.inflight;
    if (!f || reply.ts !== f.request.ts) return undefined;
    const verdict = f.quorum.add(reply);
    if (verdict.kind !== 'accepted') return undefined;
    this.inflight = undefined;
    const result = decodeChangeResult(verdict.result);
    if (result?.ok) {
      this.next++;
      this.awaitingEpoch = result.epoch;
      this.onAccepted(f.change);
      const outcome = { change: f.change, ok: true, detail: `epoch ${result.epoch} after slot ${result.activatesAfter}`, epoch: result.epoch, activatesAfter: result.activatesAfter };
      this.outcomes.push(outcome);
      return outcome;
    }
    const detail = result ? result.error : 'undecodable result';
    // Another change still pending: try this one again a little later. Anything else is final.
    if (!result || !/pending/.test(detail)) this.next++;
    else this.notBefore = now + this.retryTicks;
    const outcome = { change: f.change, ok: false, detail };
    this.outcomes.push(outcome);
    return outcome;
  }
}
