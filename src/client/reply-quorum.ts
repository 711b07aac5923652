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
  | { kind: 'accepted'; result: Uint8Array; slot: number; view: number; epoch: number }
  /** `laterEpoch`: signed in an epoch this client does not know yet — time to fetch the configuration. */
  | { kind: 'rejected'; reason: string; laterEpoch?: number };

/** The members and keys of one epoch, or a lookup by epoch for a client that follows membership changes. */
export type EpochAuth = Auth | ((epoch: number) => Auth | undefined);

/**
 * Replies are signed in their signer's epoch and count only with the members and f of that
 * epoch: f+1 matching replies of one epoch, each verified against that epoch's keys.
 */
export class ReplyQuorum {
  /** Each replica's reply per epoch, keyed by what it vouches for. */
  private readonly votes = new Map<string, string>();
  private readonly tallies = new Map<string, { count: number; result: Uint8Array; slot: number; epoch: number }>();
  /** The views valid replies named, per epoch. */
  private readonly views = new Map<number, number[]>();

  constructor(
    private readonly auth: EpochAuth,
    readonly clientId: number,
    readonly ts: number,
    /** Matching replies needed with a single-epoch Auth; an epoch lookup uses each epoch's f+1. */
    private readonly needed: number,
  ) {}

  private authOf(epoch: number): Auth | undefined {
    if (typeof this.auth === 'function') return this.auth(epoch);
    return this.auth.epoch === epoch ? this.auth : undefined;
  }

  add(reply: ReplyMsg): ReplyVerdict {
    if (reply.clientId !== this.clientId || reply.ts !== this.ts) return { kind: 'rejected', reason: 'reply for another request' };
    const auth = this.authOf(reply.epoch);
    if (!auth) return { kind: 'rejected', reason: `reply signed in epoch ${reply.epoch}, not known here`, laterEpoch: reply.epoch };
    if (!auth.isReplica(reply.from)) return { kind: 'rejected', reason: `reply from unknown replica ${reply.from}` };
    const voter = `${reply.epoch}:${reply.from}`;
    if (this.votes.has(voter)) return { kind: 'rejected', reason: 'second reply from the same replica' };
    if (!verifyReply(auth, reply)) return { kind: 'rejected', reason: 'reply with a bad signature' };
    const key = `${reply.epoch}/${reply.slot}/${toHex(reply.result)}`;
    this.votes.set(voter, key);
    const views = this.views.get(reply.epoch) ?? [];
    views.push(reply.view);
    this.views.set(reply.epoch, views);
    const tally = this.tallies.get(key) ?? { count: 0, result: reply.result, slot: reply.slot, epoch: reply.epoch };
    tally.count++;
    this.tallies.set(key, tally);
    const needed = typeof this.auth === 'function' ? auth.config.f + 1 : this.needed;
    if (tally.count >= needed) return { kind: 'accepted', result: tally.result, slot: tally.slot, view: this.vouchedView(views, needed), epoch: reply.epoch };
    return { kind: 'pending' };
  }

  /**
   * Where the client should look for the leader: the highest view that f+1 replies reached. One of
   * those is correct, so a lying replica cannot send the client chasing a view nobody is in.
   */
  private vouchedView(views: number[], needed: number): number {
    const sorted = [...views].sort((a, b) => b - a);
    return sorted[needed - 1] ?? 0;
  }
}
