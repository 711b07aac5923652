/**
 * lie-to-clients: runs the protocol honestly, but every reply it signs is a lie of some kind,
 * validly signed with its real key:
 *   - a made-up result for the right request and slot;
 *   - the right result attributed to another slot;
 *   - the right result claiming a far-future view (to send the client chasing a leader nobody follows);
 *   - the truth, then a contradicting lie (a second reply from the same replica);
 *   - and, as soon as a request arrives, a fabricated answer before anything was ordered.
 * A client accepts only f+1 matching replies, so no lie of one replica can complete a request.
 */
import { encodeKvResult } from '../app/kv-command.ts';
import type { ClientReply, Input, Outputs } from '../core/io.ts';
import type { ReplyMsg } from '../core/messages.ts';
import { signReplies } from '../core/replies.ts';
import { bytesEqual } from '../crypto/bytes.ts';
import { WrappedReplica } from './base.ts';

export class LieToClientsNode extends WrappedReplica {
  readonly strategy = 'lie-to-clients' as const;
  private lies = 0;
  readonly stats = { wrongResult: 0, wrongSlot: 0, inflatedView: 0, contradicted: 0, fabricated: 0 };

  protected override rewrite(out: Outputs, input: Input | undefined): Outputs {
    const replies: ClientReply[] = [];
    for (const r of out.replies) {
      const m = r.message;
      switch (this.dice.int(4)) {
        case 0:
          this.stats.wrongResult++;
          replies.push({ clientId: r.clientId, message: this.reply(m.view, m.clientId, m.ts, m.slot, this.fakeResult(m.result)) });
          break;
        case 1:
          this.stats.wrongSlot++;
          replies.push({ clientId: r.clientId, message: this.reply(m.view, m.clientId, m.ts, m.slot + 1 + this.dice.int(3), m.result) });
          break;
        case 2:
          this.stats.inflatedView++;
          replies.push({ clientId: r.clientId, message: this.reply(m.view + 1000, m.clientId, m.ts, m.slot, m.result) });
          break;
        default:
          this.stats.contradicted++;
          replies.push(r, { clientId: r.clientId, message: this.reply(m.view, m.clientId, m.ts, m.slot, this.fakeResult(m.result)) });
      }
    }
    // A request just arrived: answer it at once, before it was ordered, with an invented result.
    if (input?.kind === 'request') {
      const req = input.message.request;
      if (this.auth.isClient(req.clientId)) {
        this.stats.fabricated++;
        replies.push({ clientId: req.clientId, message: this.reply(this.inner.view, req.clientId, req.ts, this.inner.executed + 1, this.fakeResult(new Uint8Array())) });
      }
    }
    out.replies = replies;
    return out;
  }

  /** A well-formed key-value result that differs from `truth`. */
  private fakeResult(truth: Uint8Array): Uint8Array {
    const fake = encodeKvResult({ value: `lie-${this.id}-${++this.lies}` });
    return bytesEqual(fake, truth) ? encodeKvResult({ value: null }) : fake;
  }

  private reply(view: number, clientId: number, ts: number, slot: number, result: Uint8Array): ReplyMsg {
    return signReplies(this.auth, this.id, view, slot, [{ clientId, ts, result }])[0]!;
  }
}
