/**
 * collude: several Byzantine replicas (up to f, or more to show what happens beyond f) running one
 * attack together through a shared `CollusionHub` (COL-1 + EQ-1 + VC-LIE-1 combined):
 *
 *   leader     a colluding leader splits the CORRECT replicas into groups A and B and proposes a
 *              different valid batch to each (a to A and to its accomplices, b to B), publishing
 *              the split — both proposals, its signatures, the groups — on the hub;
 *   everyone   every colluder then votes a to A and b to B, ACCEPT and COMMIT, at once and again on
 *              every status interval (the leader's PROPOSE is its ACCEPT, so it sends COMMITs),
 *              suppressing the honest votes its own replica would have sent for that slot;
 *   VIEW-CHANGE each colluder reports, for every split slot, a last vote for b carrying the leader's
 *              real signature (valid evidence), and hides its prepare/commit certificates there;
 *   NEW-VIEW   colluders share every VIEW-CHANGE they receive; a colluding new leader tries every
 *              set of n − f valid VIEW-CHANGEs it knows of (its own lying one included) and sends
 *              the valid NEW-VIEW whose SELECT re-proposes b for the most split slots.
 * With at most f colluders every correct replica must still agree (2q − n ≥ f+1 leaves b without a
 * quorum; SELECT out-votes f lying reports). With f+1 (n = 4: the leader and one backup, one
 * correct replica in each group) each group prepares and commits its own value: the checker must
 * then see an agreement violation — the proof that it is not vacuous.
 */
import type { ReplicaId } from '../core/config.ts';
import type { Input, Outputs, Send } from '../core/io.ts';
import type { Batch, NewViewMsg, ProposeMsg, ReplicaMessage, SlotEvidence, ViewChangeMsg } from '../core/messages.ts';
import { planNewView } from '../core/view-change.ts';
import { batchDigest } from '../core/statements.ts';
import { toHex } from '../crypto/bytes.ts';
import { WrappedReplica } from './base.ts';
import { InMemoryCollusionHub } from './hub.ts';
import type { CollusionHub, CollusionNote, StrategyContext } from './types.ts';

type SplitNote = Extract<CollusionNote, { kind: 'split' }>;

/** At most this many VIEW-CHANGE sets are tried for one NEW-VIEW. */
const MAX_CANDIDATE_SETS = 64;

export class ColludeNode extends WrappedReplica {
  readonly strategy = 'collude' as const;
  readonly hub: CollusionHub;
  private readonly members: Set<ReplicaId>;
  private readonly splits = new Map<string, SplitNote | null>();
  private readonly votedAt = new Map<string, number>();
  private readonly knownVcs = new Map<number, Map<ReplicaId, ViewChangeMsg>>();
  private readonly lyingVcs = new Map<number, ViewChangeMsg>();
  private readonly chosenNewViews = new Map<number, NewViewMsg>();
  readonly stats = { splits: 0, splitVotes: 0, lyingViewChanges: 0, newViewsChosen: 0 };

  constructor(ctx: StrategyContext) {
    super(ctx);
    this.hub = ctx.hub ?? new InMemoryCollusionHub([ctx.id]);
    this.members = new Set([...this.hub.members, ctx.id]);
  }

  /** The replicas outside the collusion. */
  get correct(): ReplicaId[] {
    return this.others.filter((r) => !this.members.has(r));
  }

  protected override onInput(input: Input): boolean {
    if (input.kind === 'message' && input.message.type === 'view-change') {
      const vc = input.message;
      if (this.rememberVc(vc)) this.hub.publish(this.id, { kind: 'seen', message: vc });
    }
    return true;
  }

  private rememberVc(vc: ViewChangeMsg): boolean {
    if (vc.newView < this.inner.view || vc.newView > this.inner.view + 4 * this.n) return false;
    let set = this.knownVcs.get(vc.newView);
    if (!set) this.knownVcs.set(vc.newView, (set = new Map()));
    if (set.has(vc.from)) return false;
    set.set(vc.from, vc);
    for (const v of this.knownVcs.keys()) if (v < this.inner.view) this.knownVcs.delete(v);
    return true;
  }

  protected override rewrite(out: Outputs): Outputs {
    for (const note of this.hub.take(this.id)) this.onNote(note);
    const sends: Send[] = [];
    for (const s of out.send) {
      const m = s.message;
      if (m.type === 'propose' && this.leaderOf(m.view) === this.id) {
        const split = this.splitFor(m);
        if (!split) sends.push(s);
        else for (const to of s.to === 'all' ? this.others : [s.to]) sends.push({ to, message: split.groupB.includes(to) ? split.b : split.a });
      } else if ((m.type === 'accept' || m.type === 'commit') && m.from === this.id && this.splits.get(`${m.view}:${m.slot}`)) {
        // Replaced by the split votes below.
      } else if (m.type === 'view-change' && m.from === this.id) {
        sends.push({ to: s.to, message: this.lyingViewChange(m) });
      } else if (m.type === 'new-view' && this.leaderOf(m.view) === this.id) {
        sends.push({ to: s.to, message: this.chooseNewView(m) });
      } else {
        sends.push(s);
      }
    }
    this.castSplitVotes(sends);
    out.send = sends;
    return out;
  }

  private onNote(note: CollusionNote): void {
    if (note.kind === 'split') {
      const key = `${note.view}:${note.slot}`;
      if (!this.splits.get(key)) this.splits.set(key, note);
    } else if (note.message.type === 'view-change') {
      this.rememberVc(note.message);
    }
  }

  /** As leader: split the correct replicas for this proposal (once per (view, slot)) and tell the others. */
  private splitFor(m: ProposeMsg): SplitNote | null {
    const key = `${m.view}:${m.slot}`;
    const known = this.splits.get(key);
    if (known !== undefined) return known;
    const batch = this.alternativeBatch(m.batch);
    const correct = this.dice.shuffle(this.correct);
    let split: SplitNote | null = null;
    if (batch && correct.length >= 2) {
      const k = Math.floor(correct.length / 2);
      split = {
        kind: 'split',
        view: m.view,
        slot: m.slot,
        a: m,
        b: this.signPropose(m.view, m.slot, batch),
        groupA: correct.slice(k).sort((x, y) => x - y),
        groupB: correct.slice(0, k).sort((x, y) => x - y),
      };
      this.stats.splits++;
      this.hub.publish(this.id, split);
    }
    this.splits.set(key, split);
    this.prune();
    return split;
  }

  private prune(): void {
    if (this.splits.size <= 4 * this.params.window) return;
    for (const k of this.splits.keys()) {
      if (Number(k.split(':')[1]) <= this.inner.lowWatermark) {
        this.splits.delete(k);
        this.votedAt.delete(k);
      }
    }
  }

  /** a to group A, b to group B: once at once, then again every status interval while undecided here. */
  private castSplitVotes(sends: Send[]): void {
    for (const [key, split] of this.splits) {
      if (!split || split.slot <= this.inner.executed) continue;
      const last = this.votedAt.get(key);
      if (last !== undefined && (this.now - last < this.params.statusIntervalTicks || split.view !== this.inner.view)) continue;
      this.votedAt.set(key, this.now);
      const da = batchDigest(split.a.batch);
      const db = batchDigest(split.b.batch);
      const leading = this.leaderOf(split.view) === this.id;
      const votes = (digest: Uint8Array): ReplicaMessage[] =>
        leading ? [this.commit(split.view, split.slot, digest)] : [this.accept(split.view, split.slot, digest), this.commit(split.view, split.slot, digest)];
      for (const message of votes(da)) for (const to of split.groupA) sends.push({ to, message });
      for (const message of votes(db)) for (const to of split.groupB) sends.push({ to, message });
      this.stats.splitVotes++;
    }
  }

  /** Reports b (with the leader's real signature) for every split slot; hides certificates there. */
  private lyingViewChange(vc: ViewChangeMsg): ViewChangeMsg {
    const cached = this.lyingVcs.get(vc.newView);
    if (cached) return cached;
    const bodies = new Map<string, Batch>(vc.batches.map((b) => [toHex(batchDigest(b)), b]));
    const bySlot = new Map<number, SlotEvidence>(vc.slots.map((e) => [e.slot, e]));
    let lied = false;
    for (const split of this.splits.values()) {
      if (!split || split.view >= vc.newView || split.slot <= vc.checkpoint.seq || split.slot > vc.checkpoint.seq + this.params.window) continue;
      const prior = bySlot.get(split.slot);
      if (prior?.lastVote && prior.lastVote.view > split.view) continue; // a later vote outranks it anyway
      const digest = batchDigest(split.b.batch);
      bodies.set(toHex(digest), split.b.batch);
      bySlot.set(split.slot, { slot: split.slot, lastVote: { view: split.view, digest, leaderSig: split.b.sig } });
      lied = true;
    }
    let result = vc;
    if (lied) {
      const slots = [...bySlot.values()].sort((x, y) => x.slot - y.slot);
      const referenced = new Set(slots.flatMap((e) => [e.lastVote?.digest, e.prepared?.digest, e.decided?.digest].flatMap((d) => (d ? [toHex(d)] : []))));
      const batches = [...bodies.entries()].filter(([hex]) => referenced.has(hex)).map(([, b]) => b);
      result = this.signViewChange({ newView: vc.newView, from: vc.from, checkpoint: vc.checkpoint, slots, batches });
      this.stats.lyingViewChanges++;
    }
    this.lyingVcs.set(vc.newView, result);
    this.rememberVc(result);
    return result;
  }

  /** The valid NEW-VIEW, among every set of n − f VIEW-CHANGEs the colluders know, that favours b most. */
  private chooseNewView(nv: NewViewMsg): NewViewMsg {
    const cached = this.chosenNewViews.get(nv.view);
    if (cached) return cached;
    const pool = new Map<ReplicaId, ViewChangeMsg[]>();
    const add = (vc: ViewChangeMsg) => {
      const list = pool.get(vc.from) ?? [];
      if (!list.some((x) => x.sig.every((b, i) => b === vc.sig[i])) && this.validViewChange(vc)) list.push(vc);
      pool.set(vc.from, list);
    };
    const own = this.lyingVcs.get(nv.view);
    if (own) add(own);
    for (const vc of nv.viewChanges) add(vc);
    for (const vc of this.knownVcs.get(nv.view)?.values() ?? []) add(vc);

    const minority = new Map<number, Set<string>>();
    for (const split of this.splits.values()) {
      if (!split) continue;
      const set = minority.get(split.slot) ?? new Set<string>();
      minority.set(split.slot, set.add(toHex(batchDigest(split.b.batch))));
    }
    const score = (vcs: ViewChangeMsg[]): number => {
      const plan = planNewView(vcs, this.quorums.tau);
      if ('error' in plan) return -1;
      return plan.slots.filter((p) => minority.get(p.slot)?.has(toHex(p.digest))).length;
    };
    let best = nv;
    let bestScore = score(nv.viewChanges);
    let tried = 0;
    for (const vcs of subsets([...pool.values()], this.quorums.viewChangeSet)) {
      if (++tried > MAX_CANDIDATE_SETS) break;
      const s = score(vcs);
      if (s > bestScore) {
        const alt = this.validNewView(nv.view, vcs);
        if (alt) {
          best = alt;
          bestScore = s;
        }
      }
    }
    if (best !== nv) this.stats.newViewsChosen++;
    this.chosenNewViews.set(nv.view, best);
    return best;
  }
}

/** Every way to pick `k` of the senders and one VIEW-CHANGE of each. */
function* subsets(bySender: ViewChangeMsg[][], k: number, start = 0, acc: ViewChangeMsg[] = []): Generator<ViewChangeMsg[]> {
  if (acc.length === k) {
    yield [...acc];
    return;
  }
  for (let i = start; i < bySender.length; i++) {
    for (const vc of bySender[i]!) {
      acc.push(vc);
      yield* subsets(bySender, k, i + 1, acc);
      acc.pop();
    }
  }
}
