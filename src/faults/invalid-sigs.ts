/**
 * invalid-sigs: runs the protocol honestly, but spoils the signature of what it sends on its own
 * authenticated channel — every ACCEPT and COMMIT (the votes correct replicas count unchecked,
 * channel-votes.ts), and as leader its PROPOSEs, and its CHECKPOINTs. The frames are authentic;
 * only the signatures inside are invalid. It tries to make correct replicas execute on, promise
 * on, or forward certificates that cannot convince anyone, and so to break a view change or strand
 * a replica catching up. By turns it spoils everything (`always`) or one vote in two, so the
 * certificates it spoils mix with good ones.
 */
import type { Outputs } from '../core/io.ts';
import type { ReplicaMessage, RequestMsg } from '../core/messages.ts';
import { WrappedReplica } from './base.ts';

export class InvalidSigsNode extends WrappedReplica {
  readonly strategy = 'invalid-sigs' as const;
  readonly stats = { spoiled: 0, sent: 0 };
  private turn = 0;

  protected override rewrite(out: Outputs): Outputs {
    out.send = out.send.map((s) => ({ to: s.to, message: this.spoil(s.message) }));
    return out;
  }

  private spoil(m: ReplicaMessage | RequestMsg): ReplicaMessage | RequestMsg {
    if (m.type !== 'accept' && m.type !== 'commit' && m.type !== 'propose' && m.type !== 'checkpoint') return m;
    this.stats.sent++;
    // Phases of 64 messages: all spoiled, then one in two.
    const n = this.turn++;
    if (Math.floor(n / 64) % 2 === 1 && n % 2 === 0) return m;
    this.stats.spoiled++;
    const sig = new Uint8Array(m.sig);
    sig[0]! ^= 0x01;
    return { ...m, sig };
  }
}
