/**
 * The client's acceptance rule: a result counts only once f+1 distinct replicas sent the same
 * signed (request, slot, result). At most f replicas lie, so at least one of any f+1 matching
 * replies comes from a correct replica, which replies only after executing a decided slot.
 */
import { toHex } from '../crypto/bytes.ts';
import type { Auth } from '../core/auth.ts';
import type { ReplyMsg } from '../core/messages.ts';
import { verifyReply } from '../core/replies.ts';

export type ReplyVerdict =
  | { kind: 'pending' }
  | { kind: 'accepted'; result: Uint8Array; slot: number; view: number }
  | { kind: 'rejected'; reason: string };

export class ReplyQuorum {
  /** Each replica's reply, keyed by what it vouches for. */
  private readonly votes = new Map<number, string>();
  private readonly tallies = new Map<string, { count: number; result: Uint8Array; slot: number }>();
  /** The view each valid reply named. */
  private readonly views: number[] = [];

  constructor(
    private readonly auth: Auth,
    readonly clientId: number,
    readonly ts: number,
    private readonly needed: number,
  ) {}

  add(reply: ReplyMsg): ReplyVerdict {
    if (reply.clientId !== this.clientId || reply.ts !== this.ts) return { kind: 'rejected', reason: 'reply for another request' };
    if (!this.auth.isReplica(reply.from)) return { kind: 'rejected', reason: `reply from unknown replica ${reply.from}` };
    if (this.votes.has(reply.from)) return { kind: 'rejected', reason: 'second reply from the same replica' };
    if (!verifyReply(this.auth, reply)) return { kind: 'rejected', reason: 'reply with a bad signature' };
    const key = `${reply.slot}/${toHex(reply.result)}`;
    this.votes.set(reply.from, key);
    this.views.push(reply.view);
    const tally = this.tallies.get(key) ?? { count: 0, result: reply.result, slot: reply.slot };
    tally.count++;
    this.tallies.set(key, tally);
    if (tally.count >= this.needed) return { kind: 'accepted', result: tally.result, slot: tally.slot, view: this.vouchedView() };
    return { kind: 'pending' };
  }

  /**
   * Where the client should look for the leader: the highest view that f+1 replies reached. One of
   * those is correct, so a lying replica cannot send the client chasing a view nobody is in.
   */
  private vouchedView(): number {
    const sorted = [...this.views].sort((a, b) => b - a);
    return sorted[this.needed - 1] ?? 0;
  }
}
