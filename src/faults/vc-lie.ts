/**
 * vc-lie: lies in view changes (VC-LIE-1, NV-1). Runs the normal case honestly.
 *
 * Each VIEW-CHANGE it sends is replaced, per recipient (so it also equivocates its VIEW-CHANGE),
 * by one of these, re-signed with its key:
 *   valid lies — what an honest replica would accept, and SELECT must out-vote:
 *     hide      no evidence at all (omits every vote and certificate)
 *     stale     for each slot an OLDER proposal it saw, for another digest, as its "last vote"
 *               (the leader's real signature), certificates dropped
 *     invent    for each slot a vote in a view it led itself, for a value it makes up and signs as
 *               that view's leader — a genuinely valid leader signature for a proposal nobody saw
 *   invalid lies — must be rejected whole:
 *     forged-vote      a last vote whose leader signature does not verify
 *     forged-prepared  a prepare certificate with one signer repeated
 *     forged-decided   a commit certificate with a single signature
 *     future-vote      a vote claimed in the view being changed to
 * As leader of a new view, three NEW-VIEWs in four break SELECT (a re-proposal swapped for another
 * value, a slot too many, a VIEW-CHANGE too few, one sender twice); correct replicas recompute
 * them, report the leader and move to the next view.
 */
import type { ReplicaId } from '../core/config.ts';
import type { Outputs, Send } from '../core/io.ts';
import type { Batch, NewViewMsg, SlotEvidence, ViewChangeMsg } from '../core/messages.ts';
import { batchDigest } from '../core/statements.ts';
import { toHex } from '../crypto/bytes.ts';
import { WrappedReplica } from './base.ts';

const VALID_LIES = ['hide', 'stale', 'invent'] as const;
const INVALID_LIES = ['forged-vote', 'forged-prepared', 'forged-decided', 'future-vote'] as const;
type Lie = (typeof VALID_LIES)[number] | (typeof INVALID_LIES)[number];
const NEW_VIEW_BREAKS = ['swap-value', 'extra-slot', 'too-few', 'duplicate-sender'] as const;

export class VcLieNode extends WrappedReplica {
  readonly strategy = 'vc-lie' as const;
  private readonly lies = new Map<string, ViewChangeMsg>();
  private readonly newViews = new Map<number, NewViewMsg>();
  readonly stats = new Map<string, number>();

  protected override rewrite(out: Outputs): Outputs {
    const sends: Send[] = [];
    for (const s of out.send) {
      const m = s.message;
      if (m.type === 'view-change' && m.from === this.id) {
        for (const to of s.to === 'all' ? this.others : [s.to]) sends.push({ to, message: this.lieTo(to, m) });
      } else if (m.type === 'new-view' && this.leaderOf(m.view) === this.id) {
        sends.push({ to: s.to, message: this.brokenNewView(m) });
      } else {
        sends.push(s);
      }
    }
    out.send = sends;
    return out;
  }

  private count(kind: string): void {
    this.stats.set(kind, (this.stats.get(kind) ?? 0) + 1);
  }

  private lieTo(to: ReplicaId, vc: ViewChangeMsg): ViewChangeMsg {
    const key = `${vc.newView}:${to}`;
    let lie = this.lies.get(key);
    if (!lie) {
      const kind: Lie = this.dice.chance(0.6) ? this.dice.pick(VALID_LIES) : this.dice.pick(INVALID_LIES);
      this.count(kind);
      lie = this.signViewChange(this.tell(kind, vc));
      this.lies.set(key, lie);
      for (const k of this.lies.keys()) if (Number(k.split(':')[0]) < this.inner.view - this.n) this.lies.delete(k);
    }
    return lie;
  }

  /** The content of a lying VIEW-CHANGE (signed by the caller). */
  private tell(kind: Lie, vc: ViewChangeMsg): Omit<ViewChangeMsg, 'sig' | 'type'> {
    const bodies = new Map<string, Batch>(vc.batches.map((b) => [toHex(batchDigest(b)), b]));
    const base = { newView: vc.newView, from: vc.from, checkpoint: vc.checkpoint };
    const withBodies = (slots: SlotEvidence[], extra: Batch[] = []) => {
      const used = new Map<string, Batch>();
      for (const b of extra) used.set(toHex(batchDigest(b)), b);
      for (const e of slots) {
        for (const d of [e.lastVote?.digest, e.prepared?.digest, e.decided?.digest]) {
          if (!d) continue;
          const hex = toHex(d);
          const b = bodies.get(hex) ?? used.get(hex);
          if (b) used.set(hex, b);
        }
      }
      return { ...base, slots, batches: [...used.values()] };
    };
    const someSlot = vc.slots[0]?.slot ?? vc.checkpoint.seq + 1;
    const noop: Batch = [];
    const noopDigest = batchDigest(noop);
    switch (kind) {
      case 'hide':
        return { ...base, slots: [], batches: [] };
      case 'stale': {
        const slots: SlotEvidence[] = [];
        for (const e of vc.slots) {
          const current = e.lastVote ? toHex(e.lastVote.digest) : undefined;
          const older = (this.proposals.get(e.slot) ?? [])
            .filter((p) => p.view < (e.lastVote?.view ?? vc.newView) && p.digestHex !== current)
            .sort((a, b) => b.view - a.view)[0];
          if (older) {
            bodies.set(older.digestHex, older.msg.batch);
            slots.push({ slot: e.slot, lastVote: { view: older.view, digest: batchDigest(older.msg.batch), leaderSig: older.msg.sig } });
          }
        }
        return withBodies(slots);
      }
      case 'invent': {
        // The highest view below the new one that this replica led: there its signature IS the leader's.
        let w = vc.newView - 1;
        while (w >= 0 && this.leaderOf(w) !== this.id) w--;
        if (w < 0) return { ...base, slots: [], batches: [] };
        const slots: SlotEvidence[] = [];
        const extra: Batch[] = [];
        for (const e of vc.slots) {
          const real = e.lastVote ? bodies.get(toHex(e.lastVote.digest)) : undefined;
          const made = (real && this.alternativeBatch(real)) ?? noop;
          const digest = batchDigest(made);
          extra.push(made);
          slots.push({ slot: e.slot, lastVote: { view: w, digest, leaderSig: this.auth.signVote('accept', w, e.slot, digest) } });
        }
        return withBodies(slots, extra);
      }
      case 'forged-vote': {
        const sig = this.auth.signVote('accept', 0, someSlot, noopDigest);
        sig[0] = sig[0]! ^ 1;
        return withBodies([{ slot: someSlot, lastVote: { view: 0, digest: noopDigest, leaderSig: sig } }], [noop]);
      }
      case 'forged-prepared': {
        const view = Math.max(0, vc.newView - 1);
        const sig = this.auth.signVote('accept', view, someSlot, noopDigest);
        const sigs = Array.from({ length: this.quorums.q }, () => ({ from: this.id, sig }));
        return withBodies([{ slot: someSlot, prepared: { view, slot: someSlot, digest: noopDigest, sigs } }], [noop]);
      }
      case 'forged-decided': {
        const view = Math.max(0, vc.newView - 1);
        const sigs = [{ from: this.id, sig: this.auth.signVote('commit', view, someSlot, noopDigest) }];
        return withBodies([{ slot: someSlot, decided: { kind: 'commit', view, slot: someSlot, digest: noopDigest, sigs } }], [noop]);
      }
      case 'future-vote': {
        const leaderSig = this.auth.signVote('accept', vc.newView, someSlot, noopDigest);
        return withBodies([{ slot: someSlot, lastVote: { view: vc.newView, digest: noopDigest, leaderSig } }], [noop]);
      }
    }
  }

  private brokenNewView(nv: NewViewMsg): NewViewMsg {
    let broken = this.newViews.get(nv.view);
    if (broken) return broken;
    broken = nv;
    if (this.dice.chance(0.75)) {
      const kind = this.dice.pick(NEW_VIEW_BREAKS);
      this.count(`new-view:${kind}`);
      const vcs = nv.viewChanges;
      let proposals = nv.proposals;
      let viewChanges = vcs;
      const swapAt = proposals.findIndex((p) => p.batch.length > 0);
      if (kind === 'swap-value' && swapAt >= 0) {
        proposals = proposals.map((p, j) => (j === swapAt ? this.signPropose(p.view, p.slot, []) : p));
      } else if (kind === 'swap-value' || kind === 'extra-slot') {
        // Nothing to swap: propose a slot the evidence does not give.
        const last = proposals[proposals.length - 1]?.slot ?? vcs.reduce((h, vc) => Math.max(h, vc.checkpoint.seq), 0);
        proposals = [...proposals, this.signPropose(nv.view, last + 1, [])];
      } else if (kind === 'too-few') {
        viewChanges = vcs.slice(0, vcs.length - 1);
      } else {
        viewChanges = [...vcs.slice(0, vcs.length - 1), vcs[0]!];
      }
      broken = this.signNewView(nv.view, viewChanges, proposals);
    }
    this.newViews.set(nv.view, broken);
    return broken;
  }
}
