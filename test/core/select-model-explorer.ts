/**
 * Exhaustive adversarial exploration of a view-change selection rule for ONE slot: a faithful
 * TypeScript port of `explore(rule, byz, views)` from the research reference model
 * `/work/shared/research/select-rule-model.py` (protocol brief §2.4, "Model check").
 *
 * n = 4, f = 1, q = 3, Qf = 4, a VIEW-CHANGE set holds n − f = 3 reports, τ = Qf − 2f = 2.
 * Correct replicas follow the protocol; the one Byzantine replica may equivocate as leader,
 * double-vote, and lie in VIEW-CHANGE (any lastVote backed by a leader signature, any prepare
 * certificate that could exist). The adversary also controls delivery: which correct acceptors
 * become prepared, whether feasible decisions happen, and which 3 VIEW-CHANGEs the new leader uses.
 *
 * Same state space, same adversary powers and same memoisation semantics as the python:
 * a state is (view, per-correct-replica (lastVote, pc), signed proposals, correct acceptors per
 * (view, value), decided values); the trace is NOT part of the key, so the first trace to reach a
 * state wins. The python's state counts do not depend on exploration order (the memo set ends up
 * being exactly the reachable states with view < views and at most one decided value), so they can
 * be compared with the python's printed numbers one for one.
 */
import type { SlotReport } from '../../src/core/select.ts';

export const N = 4;
export const F = 1;
export const Q = 3;
export const QF = 4;
/** Vote-cluster threshold τ = Qf − 2f. */
export const THR = QF - 2 * F;
export const FREE = 'FREE';

/**
 * A rule under test: returns the value to re-propose, FREE, or null when it is "stuck"
 * (vouches for nothing, FaB's liveness failure). The real `SelectRule` is adapted to this.
 */
export type ModelRule = (reports: SlotReport[]) => string | typeof FREE | null;

interface Vote {
  readonly view: number;
  readonly value: string;
  /** `${view}:${value}`: unique per (view, value); used in memo keys. */
  readonly key: string;
}

interface ReplicaState {
  readonly lv: Vote | null;
  readonly pc: Vote | null;
}

interface Accepts {
  readonly vote: Vote;
  /** Bitmask of the correct replicas that ACCEPTed this (view, value). */
  readonly mask: number;
}

export type TraceStep =
  | {
      view: number;
      leader: number;
      /** Per correct replica (ascending id): the value it accepted in this view, or null. */
      plan: (string | null)[];
      /** Per value: which correct acceptors the adversary made prepared. */
      prepared: [string, number[]][];
      decided: string[];
    }
  | { stuckAtView: number; reports: SlotReport[] };

export type Trace = TraceStep[];

export interface ExploreResult {
  /** First trace found that ends with two different decided values, or null. */
  safety: Trace | null;
  /** First trace found where the rule vouched for nothing, or null. */
  stuck: Trace | null;
  /** Number of memoised states (the python's `len(seen)`). */
  states: number;
}

export interface ExploreOptions {
  /** Views 0 .. views−1 are played (python default 4). */
  views?: number;
  /** The candidate values (digests); python default ('A', 'B'). */
  vals?: readonly string[];
  /**
   * EXTENSION, not in the python model (default false = faithful): let the adversary deliver a
   * correct leader's PROPOSE to any subset of the other correct replicas (the leader itself always
   * votes for its own proposal). The python only lets a correct leader's proposal reach all correct
   * replicas or none; partial delivery is a real asynchronous-network power.
   */
  partialDelivery?: boolean;
}

const popcount = (m: number): number => {
  let c = 0;
  for (let x = m; x !== 0; x &= x - 1) c++;
  return c;
};

const bits = (m: number): number[] => {
  const out: number[] = [];
  for (let i = 0; i < N; i++) if (m & (1 << i)) out.push(i);
  return out;
};

/** All 3-subsets of 0..N−1 in itertools.combinations order. */
const TRIOS: number[][] = (() => {
  const out: number[][] = [];
  for (let a = 0; a < N; a++) for (let b = a + 1; b < N; b++) for (let c = b + 1; c < N; c++) out.push([a, b, c]);
  return out;
})();

/** Convert a model report (lastVote, pc) of replica `reporter` into the real rule's input. */
function toSlotReport(reporter: number, lv: Vote | null, pc: Vote | null): SlotReport {
  const r: SlotReport = { reporter };
  if (lv) r.lastVote = { view: lv.view, digest: lv.value };
  if (pc) r.prepared = { view: pc.view, digest: pc.value };
  return r;
}

export function explore(rule: ModelRule, byz: number, opts: ExploreOptions = {}): ExploreResult {
  const views = opts.views ?? 4;
  const partialDelivery = opts.partialDelivery ?? false;
  const VALS = [...(opts.vals ?? ['A', 'B'])];
  const SORTED_VALS = [...VALS].sort();
  for (const v of VALS) {
    // Values appear inside memo keys: keep the key encoding injective.
    if (v === '' || v === FREE || /[|,:/=;-]/.test(v)) throw new Error(`unsupported value ${JSON.stringify(v)}`);
  }
  if (new Set(VALS).size !== VALS.length) throw new Error('duplicate values');
  if (!(byz >= 0 && byz < N)) throw new Error('byz out of range');

  const leader = (w: number): number => w % N;
  const correct: number[] = [];
  for (let i = 0; i < N; i++) if (i !== byz) correct.push(i);
  const ALL_CORRECT = correct.reduce((m, i) => m | (1 << i), 0);

  // Interned votes: one object per (view, value).
  const votes = new Map<string, Vote>();
  const vote = (view: number, value: string): Vote => {
    const key = `${view}:${value}`;
    let v = votes.get(key);
    if (!v) {
      v = { view, value, key };
      votes.set(key, v);
    }
    return v;
  };

  const bad: { safety: Trace | null; stuck: Trace | null } = { safety: null, stuck: null };
  const seen = new Set<string>();

  // Memo key = python's (w, sorted st items, frozenset(signed), sorted acc items, frozenset(decided)).
  const memoKey = (
    w: number,
    st: readonly (ReplicaState | undefined)[],
    signed: ReadonlySet<Vote>,
    acc: ReadonlyMap<string, Accepts>,
    decided: ReadonlySet<string>,
  ): string => {
    let k = `${w}|`;
    for (const i of correct) {
      const s = st[i]!;
      k += `${s.lv ? s.lv.key : '-'}/${s.pc ? s.pc.key : '-'};`;
    }
    k += '|' + [...signed].map((v) => v.key).sort().join(',');
    k += '|' + [...acc.values()].map((a) => `${a.vote.key}=${a.mask}`).sort().join(',');
    k += '|' + [...decided].sort().join(',');
    return k;
  };

  /** Every VIEW-CHANGE the Byzantine replica could send for view w (python `byz_reports`). */
  const byzReports = (w: number, signed: ReadonlySet<Vote>, acc: ReadonlyMap<string, Accepts>): SlotReport[] => {
    const lvs: (Vote | null)[] = [null];
    for (const s of signed) if (s.view < w) lvs.push(s);
    const pcs: (Vote | null)[] = [null];
    for (const a of acc.values()) if (a.vote.view < w && popcount(a.mask) + 1 >= Q) pcs.push(a.vote);
    const out: SlotReport[] = [];
    for (const lv of lvs) for (const pc of pcs) out.push(toSlotReport(byz, lv, pc));
    return out;
  };

  /** Every VIEW-CHANGE set (3 reports) the new leader of view w could use (python `outcomes_for_view`). */
  const outcomesForView = (
    w: number,
    st: readonly (ReplicaState | undefined)[],
    signed: ReadonlySet<Vote>,
    acc: ReadonlyMap<string, Accepts>,
  ): SlotReport[][] => {
    const reps = new Map<number, SlotReport>();
    for (const i of correct) reps.set(i, toSlotReport(i, st[i]!.lv, st[i]!.pc));
    const Ms: SlotReport[][] = [];
    let brs: SlotReport[] | undefined;
    for (const trio of TRIOS) {
      if (trio.includes(byz)) {
        brs ??= byzReports(w, signed, acc);
        const honest = trio.filter((i) => i !== byz).map((i) => reps.get(i)!);
        for (const br of brs) Ms.push([...honest, br]);
      } else {
        Ms.push(trio.map((i) => reps.get(i)!));
      }
    }
    return Ms;
  };

  const rec = (
    w: number,
    st: readonly (ReplicaState | undefined)[],
    signed: ReadonlySet<Vote>,
    acc: ReadonlyMap<string, Accepts>,
    decided: ReadonlySet<string>,
    trace: Trace,
  ): void => {
    if (decided.size > 1) {
      if (bad.safety === null) bad.safety = trace;
      return;
    }
    if (w === views) return;
    const key = memoKey(w, st, signed, acc, decided);
    if (seen.has(key)) return;
    seen.add(key);
    const L = leader(w);

    // Which values may a correct replica accept at view w (per some valid NEW-VIEW)? Only the union
    // of the allowed sets matters below: the python's proposal plans for a correct leader are
    // (v,v,v) for every v in some allowed set, plus "NEW-VIEW never arrives"; for a Byzantine
    // leader, each correct replica independently gets nothing or any value of the union.
    const union = new Set<string>();
    if (w === 0) {
      for (const v of VALS) union.add(v);
    } else {
      for (const M of outcomesForView(w, st, signed, acc)) {
        const out = rule(M);
        if (out === null) {
          if (bad.stuck === null) bad.stuck = [...trace, { stuckAtView: w, reports: M }];
        } else if (out === FREE) {
          for (const v of VALS) union.add(v);
        } else {
          union.add(out);
        }
      }
    }
    const options = SORTED_VALS.filter((v) => union.has(v));

    let plans: (string | null)[][];
    if (L === byz) {
      // product(*[[None] + sorted(union)] * len(correct))
      plans = [[]];
      for (let k = 0; k < correct.length; k++) {
        const next: (string | null)[][] = [];
        for (const p of plans) for (const o of [null, ...options]) next.push([...p, o]);
        plans = next;
      }
    } else if (!partialDelivery) {
      plans = options.map((v) => correct.map(() => v));
      plans.push(correct.map(() => null)); // the leader's NEW-VIEW never arrives
    } else {
      plans = [];
      const others = correct.filter((i) => i !== L);
      for (const v of options) {
        for (let m = 0; m < 1 << others.length; m++) {
          plans.push(correct.map((i) => (i === L || (m & (1 << others.indexOf(i))) !== 0 ? v : null)));
        }
      }
      plans.push(correct.map(() => null)); // the leader's NEW-VIEW never arrives
    }

    for (const plan of plans) {
      const nsigned = new Set(signed);
      if (L === byz) {
        for (const v of VALS) nsigned.add(vote(w, v)); // a Byzantine leader can sign anything
      } else {
        for (const v of plan) if (v !== null) nsigned.add(vote(w, v));
      }
      const nst = [...st];
      const nacc = new Map(acc);
      correct.forEach((i, idx) => {
        const v = plan[idx] ?? null;
        if (v === null) return;
        const wv = vote(w, v);
        nst[i] = { lv: wv, pc: st[i]!.pc };
        const prev = nacc.get(wv.key);
        nacc.set(wv.key, { vote: wv, mask: (prev ? prev.mask : 0) | (1 << i) });
      });

      // Adversary: which acceptors of each (w, v) become prepared, and which decisions happen.
      const choices: [string, number][][] = VALS.map((v) => {
        const s = nacc.get(`${w}:${v}`)?.mask ?? 0;
        if (popcount(s) + 1 >= Q) {
          // All subsets of s, in itertools order (by size, then combinations order).
          const members = bits(s);
          const subs: number[] = [];
          for (let k = 0; k <= members.length; k++) {
            const comb = (start: number, left: number, m: number): void => {
              if (left === 0) {
                subs.push(m);
                return;
              }
              for (let j = start; j < members.length; j++) comb(j + 1, left - 1, m | (1 << members[j]!));
            };
            comb(0, k, 0);
          }
          return subs.map((sub): [string, number] => [v, sub]);
        }
        return [[v, 0]];
      });
      let combos: [string, number][][] = [[]];
      for (const c of choices) {
        const next: [string, number][][] = [];
        for (const p of combos) for (const x of c) next.push([...p, x]);
        combos = next;
      }

      for (const combo of combos) {
        const st2 = [...nst];
        let decOpts: string[][] = [[]];
        for (const [v, sub] of combo) {
          for (const i of bits(sub)) st2[i] = { lv: st2[i]!.lv, pc: vote(w, v) };
          const accepted = nacc.get(`${w}:${v}`)?.mask ?? 0;
          const can = popcount(sub) + 1 >= Q || accepted === ALL_CORRECT; // classic or fast
          if (can) decOpts = [...decOpts.map((d) => [...d, v]), ...decOpts];
        }
        // set(dec_opts): distinct decision sets (values are distinct per combo, so no duplicates
        // arise inside a set; dedupe the sets themselves).
        const distinct = new Map<string, string[]>();
        for (const d of decOpts) {
          const s = [...d].sort();
          distinct.set(s.join(','), s);
        }
        for (const d of distinct.values()) {
          const ndecided = new Set(decided);
          for (const v of d) ndecided.add(v);
          rec(w + 1, st2, nsigned, nacc, ndecided, [
            ...trace,
            {
              view: w,
              leader: L,
              plan,
              prepared: combo.map(([v, sub]): [string, number[]] => [v, bits(sub)]),
              decided: d,
            },
          ]);
        }
      }
    }
  };

  const init: (ReplicaState | undefined)[] = [];
  for (let i = 0; i < N; i++) init.push(i === byz ? undefined : { lv: null, pc: null });
  rec(0, init, new Set(), new Map(), new Set(), []);
  return { safety: bad.safety, stuck: bad.stuck, states: seen.size };
}

/** Human-readable trace, one step per line (for failure messages). */
export function formatTrace(trace: Trace | null): string {
  if (!trace) return '(none)';
  return trace
    .map((s) =>
      'stuckAtView' in s
        ? `  stuck at view ${s.stuckAtView}: ${JSON.stringify(s.reports)}`
        : `  view ${s.view} leader ${s.leader} plan ${JSON.stringify(s.plan)} prepared ${JSON.stringify(s.prepared)} decided ${JSON.stringify(s.decided)}`,
    )
    .join('\n');
}
