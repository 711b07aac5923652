/**
 * double-vote: signs an ACCEPT and a COMMIT for two different digests in one (view, slot), and
 * sends one to some replicas and the other to the rest (COL-1 with one replica). The other digest
 * is another proposal it saw for the slot (an equivocating leader's), else a valid alternative
 * batch, else the no-op. For a quarter of the (view, slot)s one replica outside the group gets
 * both votes: two signed votes are proof, and the receiver reports the culprit (detection).
 * Everything else is honest.
 */
import type { ReplicaId } from '../core/config.ts';
import type { Outputs, Send } from '../core/io.ts';
import type { AcceptMsg, CommitMsg, Digest } from '../core/messages.ts';
import { batchDigest } from '../core/statements.ts';
import { toHex } from '../crypto/bytes.ts';
import { WrappedReplica } from './base.ts';

interface VoteSplit {
  altDigest: Digest;
  altTo: Set<ReplicaId>;
  witness: ReplicaId | undefined;
  /** Signed alternative votes, by kind (signed once, repeated on retransmission). */
  signed: Map<string, AcceptMsg | CommitMsg>;
}

export class DoubleVoteNode extends WrappedReplica {
  readonly strategy = 'double-vote' as const;
  private readonly splits = new Map<string, VoteSplit | null>();
  readonly stats = { slots: 0, witnessed: 0 };

  protected override rewrite(out: Outputs): Outputs {
    const sends: Send[] = [];
    for (const s of out.send) {
      const m = s.message;
      if ((m.type !== 'accept' && m.type !== 'commit') || m.from !== this.id) {
        sends.push(s);
        continue;
      }
      const split = this.splitFor(m.view, m.slot, m.digest);
      if (!split) {
        sends.push(s);
        continue;
      }
      let alt = split.signed.get(m.type);
      if (!alt) {
        alt = m.type === 'accept' ? (this.accept(m.view, m.slot, split.altDigest) as AcceptMsg) : (this.commit(m.view, m.slot, split.altDigest) as CommitMsg);
        split.signed.set(m.type, alt);
      }
      for (const to of s.to === 'all' ? this.others : [s.to]) {
        sends.push({ to, message: split.altTo.has(to) ? alt : m });
        if (to === split.witness) sends.push({ to, message: alt });
      }
    }
    out.send = sends;
    return out;
  }

  private splitFor(view: number, slot: number, digest: Digest): VoteSplit | null {
    const key = `${view}:${slot}`;
    let split = this.splits.get(key);
    if (split !== undefined) return split;
    const altDigest = this.otherDigest(slot, digest);
    if (!altDigest) split = null;
    else {
      const others = this.dice.shuffle(this.others);
      const k = Math.max(1, Math.floor(others.length / 2));
      const rest = others.slice(k);
      const witness = rest.length > 0 && this.dice.chance(0.25) ? rest[0] : undefined;
      split = { altDigest, altTo: new Set(others.slice(0, k)), witness, signed: new Map() };
      this.stats.slots++;
      if (witness !== undefined) this.stats.witnessed++;
    }
    this.splits.set(key, split);
    if (this.splits.size > 4 * this.params.window) {
      for (const k of this.splits.keys()) if (Number(k.split(':')[1]) <= this.inner.lowWatermark) this.splits.delete(k);
    }
    return split;
  }

  private otherDigest(slot: number, digest: Digest): Digest | undefined {
    const hex = toHex(digest);
    const known = this.proposals.get(slot) ?? [];
    const other = known.find((p) => p.digestHex !== hex);
    if (other) return batchDigest(other.msg.batch);
    const mine = known.find((p) => p.digestHex === hex);
    const alt = mine ? this.alternativeBatch(mine.msg.batch) : undefined;
    if (alt) return batchDigest(alt);
    const noop = batchDigest([]);
    return toHex(noop) === hex ? undefined : noop;
  }
}
