/**
 * Deliberately BROKEN view-change selection rules, as real `SelectRule`s a replica can run
 * (`new Harness({ selectRule })`, `byzpax twins --broken-rule`). test/core/attack-scenarios.test.ts drives each named attack of
 * the protocol brief §4 through real replicas with the real rule, and then with the broken rule
 * the attack exposes, and expects the failure (two correct replicas executing different values for
 * one slot, or no NEW-VIEW ever forming).
 *
 * The first three are the rivals the brief's model checker refutes (§2.4; model-level versions in
 * select-model.test.ts). Each keeps step 1 of the real rule (a decided certificate wins) and differs
 * from it only in steps 2–5. The others are simpler mistakes some scenarios are built to catch.
 *
 * Never give one to a replica outside tests and the simulator.
 */
import type { Selection, SelectRule, SlotReport } from '../core/select.ts';

/** Step 1 of the real rule, shared by every rule here: a decided certificate wins outright. */
function decidedStep(reports: SlotReport[]): Selection | undefined {
  const decided = new Set(reports.flatMap((r) => (r.decided ? [r.decided.digest] : [])));
  if (decided.size > 1) return { kind: 'conflict', digests: [...decided].sort() };
  const [digest] = decided;
  return digest === undefined ? undefined : { kind: 'value', digest, because: 'decided' };
}

/** The highest-view prepare certificate (ties: the larger digest, as the python's tuple max). */
function highestPc(reports: SlotReport[]): { view: number; digest: string } | undefined {
  let best: { view: number; digest: string } | undefined;
  for (const r of reports) {
    const p = r.prepared;
    if (p && (!best || p.view > best.view || (p.view === best.view && p.digest > best.digest))) best = p;
  }
  return best;
}

/** Reporters per digest of their lastVote, over the votes `keep` admits (one count per reporter). */
function votesByDigest(reports: SlotReport[], keep: (v: { view: number; digest: string }) => boolean): Map<string, number> {
  const count = new Map<string, number>();
  for (const r of reports) if (r.lastVote && keep(r.lastVote)) count.set(r.lastVote.digest, (count.get(r.lastVote.digest) ?? 0) + 1);
  return count;
}

/**
 * Per-view clustering: fast votes count only if τ of them are for one digest IN ONE VIEW (no summing
 * across views). It mirrors a "fast Byzantine Paxos" recovery that looks for a fast quorum's
 * trace in a single ballot, as Fast Paxos does with crash faults. Unsafe: a fast decision's voters
 * can be spread over two views by a Byzantine leader re-proposing to only some of them (SPREAD-1).
 */
export const perViewRule: SelectRule = (reports, tau) => {
  const d = decidedStep(reports);
  if (d) return d;
  const pc = highestPc(reports);
  const wPc = pc ? pc.view : -1;
  const byViewAndDigest = new Map<string, { view: number; digest: string; count: number }>();
  for (const r of reports) {
    const v = r.lastVote;
    if (!v || v.view <= wPc) continue;
    const key = `${v.view}/${v.digest}`;
    const e = byViewAndDigest.get(key) ?? { view: v.view, digest: v.digest, count: 0 };
    e.count++;
    byViewAndDigest.set(key, e);
  }
  const hits = [...byViewAndDigest.values()]
    .filter((e) => e.count >= tau)
    .sort((a, b) => b.view - a.view || (a.digest < b.digest ? 1 : a.digest > b.digest ? -1 : 0));
  if (hits[0]) return { kind: 'value', digest: hits[0].digest, because: 'fast-votes' };
  if (pc) return { kind: 'value', digest: pc.digest, because: 'prepared' };
  return { kind: 'free' };
};

/**
 * "Any prepare certificate beats any fast votes, regardless of view": the Zyzzyva class. Zyzzyva's
 * new primary takes the (highest) commit certificate first and only then the requests that appear
 * in f+1 VIEW-CHANGEs, never ranking the two kinds of evidence by view (Abraham et al.,
 * arXiv:1712.01367 §2). Unsafe: a stale certificate from an old view overrides a later fast
 * decision (ZYZ-1, STALE-PC-1).
 */
export const pcFirstRule: SelectRule = (reports, tau) => {
  const d = decidedStep(reports);
  if (d) return d;
  const pc = highestPc(reports);
  if (pc) return { kind: 'value', digest: pc.digest, because: 'prepared' };
  for (const [digest, count] of votesByDigest(reports, () => true)) {
    if (count >= tau) return { kind: 'value', digest, because: 'fast-votes' };
  }
  return { kind: 'free' };
};

/**
 * FaB Paxos' progress certificate (Martin & Alvisi, DSN'05): count values ignoring views; a value
 * is vouched for if no OTHER value reaches the threshold and every commit proof (here: prepare
 * certificate) is for it. If several values are vouched for (a value nobody reported included),
 * the leader is free; if none is, "nothing is safe" — `{ kind: 'none' }`, and no NEW-VIEW can
 * form. Safe but not live: a stale proof for A and fresh votes for B veto each other for ever
 * (FAB-1; "being overly safe gets FaB stuck", arXiv:1712.01367 §3).
 */
export const fabStyleRule: SelectRule = (reports, tau) => {
  const d = decidedStep(reports);
  if (d) return d;
  const count = votesByDigest(reports, () => true);
  const proofs = new Set(reports.flatMap((r) => (r.prepared ? [r.prepared.digest] : [])));
  const reported = new Set([...count.keys(), ...proofs]);
  const vouched = (v: string | null) =>
    [...count].every(([u, c]) => u === v || c < tau) && [...proofs].every((p) => p === v);
  // Candidates: every reported value, and `null` standing for any value nobody reported.
  const ok = [...reported, null].filter(vouched);
  if (ok.length === 0) return { kind: 'none' };
  if (ok.length === 1 && ok[0] !== null) return { kind: 'value', digest: ok[0]!, because: 'fast-votes' };
  return { kind: 'free' };
};

/**
 * Forgetful: keeps decided certificates and nothing else — treats every undecided slot as FREE.
 * It loses any value decided at replicas outside the view-change set (visible there only as
 * prepare certificates and votes): COL-1, NV-1, FAST-GRIEF-1.
 */
export const forgetfulRule: SelectRule = (reports) => decidedStep(reports) ?? { kind: 'free' };

/**
 * Votes only: a digest with ≥ τ lastVotes (any views) wins; prepare certificates are ignored, as if
 * every decision were a fast one. Loses a classic decision whose value has fewer votes in the
 * view-change set than an equivocating leader's other value (EQ-2).
 */
export const votesOnlyRule: SelectRule = (reports, tau) => {
  const d = decidedStep(reports);
  if (d) return d;
  for (const [digest, count] of votesByDigest(reports, () => true)) {
    if (count >= tau) return { kind: 'value', digest, because: 'fast-votes' };
  }
  return { kind: 'free' };
};

/**
 * Freshest evidence wins: the highest-view lastVote or prepare certificate, whoever reported it —
 * PBFT's "highest-view prepared certificate" applied to single votes. One Byzantine reporter can
 * present a vote from a view it led (its own signature is the leader's) and is followed (VC-LIE-1).
 */
export const highestVoteRule: SelectRule = (reports) => {
  const d = decidedStep(reports);
  if (d) return d;
  let best: { view: number; digest: string; because: 'fast-votes' | 'prepared' } | undefined;
  for (const r of reports) {
    for (const [e, because] of [
      [r.lastVote, 'fast-votes'],
      [r.prepared, 'prepared'],
    ] as const) {
      if (e && (!best || e.view > best.view)) best = { ...e, because };
    }
  }
  return best ? { kind: 'value', digest: best.digest, because: best.because } : { kind: 'free' };
};

/**
 * "An equivocating leader decided nothing": if the reported votes name two digests, the slot is
 * treated as FREE; otherwise the real rule's steps apply (the votes- and certificate-based ones,
 * here inlined as the prepared value or the voted value). Loses a value the equivocating leader's
 * majority side decided (EQ-1).
 */
export const equivocationResetsRule: SelectRule = (reports, tau) => {
  const d = decidedStep(reports);
  if (d) return d;
  const digests = new Set(reports.flatMap((r) => [r.lastVote?.digest, r.prepared?.digest].filter((x): x is string => x !== undefined)));
  if (digests.size > 1) return { kind: 'free' };
  const pc = highestPc(reports);
  if (pc) return { kind: 'value', digest: pc.digest, because: 'prepared' };
  for (const [digest, count] of votesByDigest(reports, () => true)) {
    if (count >= tau) return { kind: 'value', digest, because: 'fast-votes' };
  }
  return { kind: 'free' };
};

/**
 * Amnesiac: every slot of a new view becomes a no-op, decided ones included — the crudest rule,
 * which Twins catches within its first few thousand scenarios (test/sim/twins.test.ts).
 */
export const amnesiacRule: SelectRule = () => ({ kind: 'free' });

/** The unsafe rules `byzpax twins --broken-rule` offers, by name. */
export const brokenSelectRules: Record<'forgetful' | 'pc-first' | 'per-view', SelectRule> = {
  forgetful: amnesiacRule,
  'pc-first': pcFirstRule,
  'per-view': perViewRule,
};
