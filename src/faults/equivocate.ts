/**
 * equivocate: as leader, tells different replicas different things, every message validly signed.
 *
 *  - PROPOSE: per (view, slot) a random group of backups gets a different, valid batch (the same
 *    requests reversed, one fewer, or a no-op) — about half of them (EQ-1) or exactly one, so the
 *    other value misses the fast quorum by one (EQ-2). Retransmissions repeat the same split. For a
 *    quarter of the slots one backup outside the group gets BOTH proposals: a signed pair is proof
 *    of misbehaviour, and its receiver must start a view change (detection).
 *  - NEW-VIEW: as the leader of a later view, a group of backups gets a second NEW-VIEW that is
 *    valid on its own: built from a different set of n − f VIEW-CHANGEs (one the first left out),
 *    or from this node's own VIEW-CHANGE re-signed without its evidence (omission is always
 *    possible). Receivers recompute both and find nothing wrong with either; safety must come from
 *    SELECT being right for every valid set.
 * As a backup it behaves honestly.
 */
import type { ReplicaId } from '../core/config.ts';
import type { Input, Outputs, Send } from '../core/io.ts';
import type { NewViewMsg, ProposeMsg, ViewChangeMsg } from '../core/messages.ts';
import { batchDigest } from '../core/statements.ts';
import { toHex } from '../crypto/bytes.ts';
import { WrappedReplica } from './base.ts';

interface Split<M> {
  alt: M;
  altTo: Set<ReplicaId>;
  /** Receives both versions (proof of equivocation), if any. */
  witness: ReplicaId | undefined;
}

export class EquivocateNode extends WrappedReplica {
  readonly strategy = 'equivocate' as const;
  private readonly proposeSplits = new Map<string, Split<ProposeMsg> | null>();
  private readonly newViewSplits = new Map<number, Split<NewViewMsg> | null>();
  private readonly receivedVcs = new Map<number, Map<ReplicaId, ViewChangeMsg>>();
  readonly stats = { proposals: 0, witnessed: 0, newViews: 0 };

  protected override onInput(input: Input): boolean {
    if (input.kind === 'message' && input.message.type === 'view-change') {
      const vc = input.message;
      if (vc.newView > this.inner.view + 8 * this.n) return true; // not worth remembering
      let set = this.receivedVcs.get(vc.newView);
      if (!set) this.receivedVcs.set(vc.newView, (set = new Map()));
      if (!set.has(vc.from)) set.set(vc.from, vc);
      for (const v of this.receivedVcs.keys()) if (v < this.inner.view) this.receivedVcs.delete(v);
    }
    return true;
  }

  protected override rewrite(out: Outputs): Outputs {
    const sends: Send[] = [];
    for (const s of out.send) {
      const m = s.message;
      const targets = s.to === 'all' ? this.others : [s.to];
      let split: Split<ProposeMsg | NewViewMsg> | null = null;
      if (m.type === 'propose' && this.leaderOf(m.view) === this.id) split = this.proposeSplit(m);
      else if (m.type === 'new-view' && this.leaderOf(m.view) === this.id) split = this.newViewSplit(m);
      if (!split) {
        sends.push(s);
        continue;
      }
      for (const to of targets) {
        sends.push({ to, message: split.altTo.has(to) ? split.alt : m });
        if (to === split.witness) sends.push({ to, message: split.alt });
      }
    }
    out.send = sends;
    return out;
  }

  private split<M>(alt: M, witnessChance: number): Split<M> {
    const others = this.dice.shuffle(this.others);
    const k = this.dice.chance(0.5) ? Math.max(1, Math.floor(others.length / 2)) : 1;
    const rest = others.slice(k);
    const witness = rest.length > 0 && this.dice.chance(witnessChance) ? rest[0] : undefined;
    return { alt, altTo: new Set(others.slice(0, k)), witness };
  }

  private proposeSplit(m: ProposeMsg): Split<ProposeMsg> | null {
    const key = `${m.view}:${m.slot}`;
    let split = this.proposeSplits.get(key);
    if (split !== undefined) return split;
    const batch = this.alternativeBatch(m.batch);
    split = batch ? this.split(this.signPropose(m.view, m.slot, batch), 0.25) : null;
    if (split) {
      this.stats.proposals++;
      if (split.witness !== undefined) this.stats.witnessed++;
    }
    this.proposeSplits.set(key, split);
    if (this.proposeSplits.size > 4 * this.params.window) {
      for (const k of this.proposeSplits.keys()) if (Number(k.split(':')[1]) <= this.inner.lowWatermark) this.proposeSplits.delete(k);
    }
    return split;
  }

  private newViewSplit(nv: NewViewMsg): Split<NewViewMsg> | null {
    let split = this.newViewSplits.get(nv.view);
    if (split !== undefined) return split;
    const alt = this.alternativeNewView(nv);
    split = alt ? this.split(alt, 0) : null;
    if (split) this.stats.newViews++;
    this.newViewSplits.set(nv.view, split);
    return split;
  }

  /** A second NEW-VIEW for the same view that every receiver would accept; preferably with other proposals. */
  private alternativeNewView(nv: NewViewMsg): NewViewMsg | undefined {
    const candidates: ViewChangeMsg[][] = [];
    const inSet = new Set(nv.viewChanges.map((vc) => vc.from));
    const spare = [...(this.receivedVcs.get(nv.view)?.values() ?? [])].filter((vc) => !inSet.has(vc.from) && this.validViewChange(vc));
    for (const e of spare) {
      for (let i = 0; i < nv.viewChanges.length; i++) {
        if (nv.viewChanges[i]!.from !== this.id) candidates.push(nv.viewChanges.map((vc, j) => (j === i ? e : vc)));
      }
    }
    const own = nv.viewChanges.find((vc) => vc.from === this.id);
    if (own && own.slots.length > 0) {
      const bare = this.signViewChange({ ...own, slots: [], batches: [] });
      candidates.push(nv.viewChanges.map((vc) => (vc === own ? bare : vc)));
    }
    const fingerprint = (m: NewViewMsg) => m.proposals.map((p) => `${p.slot}:${toHex(batchDigest(p.batch))}`).join(',');
    const original = fingerprint(nv);
    let fallback: NewViewMsg | undefined;
    for (const vcs of candidates) {
      const alt = this.validNewView(nv.view, vcs);
      if (!alt) continue;
      if (fingerprint(alt) !== original) return alt;
      fallback ??= alt;
    }
    return fallback;
  }
}
