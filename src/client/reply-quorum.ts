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
  /** Replies per (epoch, slot, result), and whether each one's signature was checked. */
  private readonly tallies = new Map<string, { replies: { reply: ReplyMsg; checked: boolean }[]; epoch: number }>();

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

  /**
   * `authentic`: the reply came on replica `reply.from`'s own authenticated channel. Then its
   * signature is checked only once its answer has f+1 replies — the ones that decide — so a
   * client usually checks f+1 signatures per request, not one per replica. Without it (nothing
   * says who sent the frame) every reply is checked on arrival: otherwise a liar could take
   * another replica's place with an unsigned reply in its name.
   */
  add(reply: ReplyMsg, authentic = false): ReplyVerdict {
    if (reply.clientId !== this.clientId || reply.ts !== this.ts) return { kind: 'rejected', reason: 'reply for another request' };
    const auth = this.authOf(reply.epoch);
    if (!auth) return { kind: 'rejected', reason: `reply signed in epoch ${reply.epoch}, not known here`, laterEpoch: reply.epoch };
    if (!auth.isReplica(reply.from)) return { kind: 'rejected', reason: `reply from unknown replica ${reply.from}` };
    const voter = `${reply.epoch}:${reply.from}`;
    if (this.votes.has(voter)) return { kind: 'rejected', reason: 'second reply from the same replica' };
    if (!authentic && !verifyReply(auth, reply)) return { kind: 'rejected', reason: 'reply with a bad signature' };
    const key = `${reply.epoch}/${reply.slot}/${toHex(reply.result)}`;
    this.votes.set(voter, key);
    let tally = this.tallies.get(key);
    if (!tally) this.tallies.set(key, (tally = { replies: [], epoch: reply.epoch }));
    tally.replies.push({ reply, checked: !authentic });
    const needed = typeof this.auth === 'function' ? auth.config.f + 1 : this.needed;
    if (tally.replies.length < needed) return { kind: 'pending' };
    // The replies that decide: each signature must check (a replica whose does not lied).
    const bad = tally.replies.filter((r) => !r.checked && !(r.checked = verifyReply(auth, r.reply)));
    if (bad.length > 0) {
      tally.replies = tally.replies.filter((r) => r.checked);
      return { kind: 'rejected', reason: 'reply with a bad signature' };
    }
    const first = tally.replies[0]!.reply;
    return { kind: 'accepted', result: first.result, slot: first.slot, view: this.vouchedView(tally.replies.map((r) => r.reply.view), needed), epoch: reply.epoch };
  }

  /**
   * Where the client should look for the leader: the highest view that f+1 of the deciding
   * replies reached. One of those is correct, so a lying replica cannot send the client chasing a
   * view nobody is in.
   */
  private vouchedView(views: number[], needed: number): number {
    const sorted = [...views].sort((a, b) => b - a);
    return sorted[needed - 1] ?? 0;
  }
}
