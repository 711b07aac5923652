/**
 * SELECT: which value a new view must re-propose for one slot (protocol brief §2.4).
 *
 * This is the rule that keeps decisions across view changes, on the classic path and the fast
 * path alike, and it is exactly where Zyzzyva lost safety and FaB lost liveness. It ranks evidence
 * by VIEW, never by slot number or log length, and it sums fast votes across views.
 *
 * Input: one report per distinct replica in the view-change set (n − f of them), each with what
 * that replica signed or verified for the slot. Digests are compared as strings (hex).
 *
 *  1. A valid decided certificate wins outright (two different ones mean safety is already broken).
 *  2. w_pc = the highest view of any prepare certificate; D_pc its digest.
 *  3. Count each reporter's lastVote whose view is strictly above w_pc, grouped by digest only
 *     (summed across views). A digest with ≥ τ reporters is chosen; 2τ > n − f makes it unique.
 *  4. Otherwise D_pc, if any prepare certificate was reported.
 *  5. Otherwise FREE: nothing can have been decided, and the slot gets a no-op.
 *
 * Why it is safe (sketch, invariant INV: once D is decided in view w, every correct ACCEPT in a
 * later view is for D): a classic decision leaves ≥ q−2f ≥ 1 correct prepared replica in any
 * view-change set, so w_pc ≥ w and every certificate at or above w is for D; votes for anything
 * else above w_pc come only from the ≤ f < τ Byzantine reporters. A fast decision leaves ≥ τ
 * correct voters for D in any view-change set, whose later votes are also for D; if w_pc < w those
 * votes lie above w_pc and step 3 returns D, which works only because votes are summed across
 * views. The rule always returns a value or FREE (never "nothing is safe", FaB's failure).
 * `test/core/select-model.test.ts` checks it exhaustively for n = 4, f = 1.
 */
import type { ReplicaId } from './config.ts';

export interface SlotReport {
  reporter: ReplicaId;
  lastVote?: { view: number; digest: string };
  prepared?: { view: number; digest: string };
  decided?: { digest: string };
}

export type Selection =
  | { kind: 'value'; digest: string; because: 'decided' | 'fast-votes' | 'prepared' }
  | { kind: 'free' }
  /** Two decided certificates disagree: only possible if more than f replicas are faulty. */
  | { kind: 'conflict'; digests: string[] }
  /**
   * "Nothing is safe to propose". The real rule never says this; a FaB-style rule does, and then
   * no NEW-VIEW can be built (FaB's liveness failure). It exists so such rules can be plugged in
   * and shown to get stuck.
   */
  | { kind: 'none' };

export type SelectRule = (reports: SlotReport[], tau: number) => Selection;

export const selectValue: SelectRule = (reports, tau) => {
  const decided = new Set(reports.flatMap((r) => (r.decided ? [r.decided.digest] : [])));
  if (decided.size > 1) return { kind: 'conflict', digests: [...decided].sort() };
  const [decidedDigest] = decided;
  if (decidedDigest !== undefined) return { kind: 'value', digest: decidedDigest, because: 'decided' };

  let highestPc: { view: number; digest: string } | undefined;
  for (const r of reports) {
    if (r.prepared && (!highestPc || r.prepared.view > highestPc.view)) highestPc = r.prepared;
  }
  const wPc = highestPc ? highestPc.view : -1;

  // One count per reporter: a report holds only its replica's highest-view vote.
  const votes = new Map<string, Set<ReplicaId>>();
  for (const r of reports) {
    if (!r.lastVote || r.lastVote.view <= wPc) continue;
    const voters = votes.get(r.lastVote.digest) ?? new Set<ReplicaId>();
    voters.add(r.reporter);
    votes.set(r.lastVote.digest, voters);
  }
  for (const [digest, voters] of votes) {
    if (voters.size >= tau) return { kind: 'value', digest, because: 'fast-votes' };
  }
  if (highestPc) return { kind: 'value', digest: highestPc.digest, because: 'prepared' };
  return { kind: 'free' };
};
