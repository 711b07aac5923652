/**
 * View change, the safety-critical part: checking a VIEW-CHANGE, and computing what a NEW-VIEW
 * must re-propose. Both the new leader and every receiver run `planNewView` on the same n − f
 * VIEW-CHANGE messages; receivers reject a NEW-VIEW whose proposals differ from their own result,
 * so a Byzantine leader cannot choose values — it can only fail to lead, and be replaced.
 */
import { fromHex, toHex } from '../crypto/bytes.ts';
import type { Quorums } from './config.ts';
import type { Auth } from './auth.ts';
import type { Batch, CheckpointCert, Digest, SlotEvidence, ViewChangeMsg } from './messages.ts';
import { selectValue, type SelectRule, type SlotReport } from './select.ts';
import { batchDigest } from './statements.ts';

export interface ViewChangeContext {
  auth: Auth;
  quorums: Quorums;
  window: number;
  /** The boundary the current epoch starts after: a VIEW-CHANGE of this epoch starts from a checkpoint at or above it. */
  epochStart: number;
  /** Checks a checkpoint certificate against the epoch it names (epochs.ts). */
  checkCheckpoint(cert: CheckpointCert): string | null;
}

/** Returns null if every signature and certificate inside `vc` verifies and every view is below its target view. */
export function checkViewChange(vc: ViewChangeMsg, ctx: ViewChangeContext): string | null {
  const { auth, quorums } = ctx;
  if (!auth.isReplica(vc.from)) return `view-change from unknown replica ${vc.from}`;
  if (!auth.verifyReplica(vc.from, auth.statements.viewChange(vc), vc.sig)) return 'view-change: bad signature';
  if (vc.checkpoint.seq < ctx.epochStart) return `view-change: checkpoint ${vc.checkpoint.seq} is older than epoch ${auth.epoch}, which starts after slot ${ctx.epochStart}`;
  const cpProblem = ctx.checkCheckpoint(vc.checkpoint);
  if (cpProblem) return `view-change: ${cpProblem}`;

  const bodies = new Set<string>();
  for (const b of vc.batches) {
    const hex = toHex(batchDigest(b));
    if (bodies.has(hex)) return 'view-change: batch body listed twice';
    bodies.add(hex);
  }
  const referenced = new Set<string>();
  let previous = vc.checkpoint.seq;
  const high = vc.checkpoint.seq + ctx.window;
  for (const e of vc.slots) {
    if (e.slot <= previous) return 'view-change: slots not strictly increasing above the checkpoint';
    if (e.slot > high) return `view-change: slot ${e.slot} beyond the high watermark ${high}`;
    previous = e.slot;
    const problem = checkEvidence(e, vc.newView, ctx);
    if (problem) return `view-change slot ${e.slot}: ${problem}`;
    for (const d of [e.lastVote?.digest, e.prepared?.digest, e.decided?.digest]) if (d) referenced.add(toHex(d));
  }
  for (const hex of referenced) if (!bodies.has(hex)) return `view-change: no body for digest ${hex.slice(0, 12)}`;
  if (bodies.size !== referenced.size) return 'view-change: carries batch bodies it does not reference';
  return null;
}

function checkEvidence(e: SlotEvidence, newView: number, ctx: ViewChangeContext): string | null {
  const { auth, quorums } = ctx;
  if (!e.lastVote && !e.prepared && !e.decided) return 'empty evidence';
  if (e.lastVote) {
    if (e.lastVote.view >= newView) return 'vote not below the new view';
    if (!auth.verifyProposal(e.lastVote.view, e.slot, e.lastVote.digest, e.lastVote.leaderSig)) return 'vote without a valid leader proposal';
  }
  if (e.prepared) {
    if (e.prepared.slot !== e.slot || e.prepared.view >= newView) return 'prepare certificate for the wrong slot or view';
    const problem = auth.checkVoteCert('accept', e.prepared, quorums.q);
    if (problem) return problem;
  }
  if (e.decided) {
    if (e.decided.slot !== e.slot || e.decided.view >= newView) return `${e.decided.kind} certificate for the wrong slot or view`;
    const problem = auth.checkDecisionCert(e.decided);
    if (problem) return problem;
  }
  return null;
}

export interface PlannedSlot {
  slot: number;
  digest: Digest;
  batch: Batch;
  because: 'decided' | 'fast-votes' | 'prepared' | 'free';
}

export interface NewViewPlan {
  /** The highest certified checkpoint in the set (h*): the new view starts above it. */
  checkpoint: CheckpointCert;
  /** One entry for every slot in (h*, maxS], in order. */
  slots: PlannedSlot[];
}

/**
 * Runs SELECT for every slot above the highest checkpoint. `vcs` must already be checked, for the
 * same view, from distinct replicas. Fails only if two commit certificates disagree, which more
 * than f faulty replicas would be needed for.
 */
export function planNewView(vcs: ViewChangeMsg[], tau: number, rule: SelectRule = selectValue): NewViewPlan | { error: string } {
  let checkpoint = vcs[0]!.checkpoint;
  for (const vc of vcs) if (vc.checkpoint.seq > checkpoint.seq) checkpoint = vc.checkpoint;

  const bodies = new Map<string, Batch>();
  const evidence = vcs.map((vc) => {
    for (const b of vc.batches) bodies.set(toHex(batchDigest(b)), b);
    return { from: vc.from, bySlot: new Map(vc.slots.map((e) => [e.slot, e])) };
  });
  let maxSlot = checkpoint.seq;
  for (const vc of vcs) for (const e of vc.slots) maxSlot = Math.max(maxSlot, e.slot);

  const noop: Batch = [];
  const slots: PlannedSlot[] = [];
  for (let slot = checkpoint.seq + 1; slot <= maxSlot; slot++) {
    const reports: SlotReport[] = [];
    for (const { from, bySlot } of evidence) {
      const e = bySlot.get(slot);
      if (e) reports.push(toReport(from, e));
    }
    const selection = rule(reports, tau);
    if (selection.kind === 'conflict') return { error: `slot ${slot}: conflicting commit certificates ${selection.digests.join(', ')}` };
    if (selection.kind === 'none') return { error: `slot ${slot}: the selection rule vouches for no value` };
    if (selection.kind === 'free') {
      slots.push({ slot, digest: batchDigest(noop), batch: noop, because: 'free' });
      continue;
    }
    const batch = bodies.get(selection.digest);
    if (!batch) return { error: `slot ${slot}: no body for the selected digest` };
    slots.push({ slot, digest: fromHex(selection.digest), batch, because: selection.because });
  }
  return { checkpoint, slots };
}

function toReport(reporter: number, e: SlotEvidence): SlotReport {
  const r: SlotReport = { reporter };
  if (e.lastVote) r.lastVote = { view: e.lastVote.view, digest: toHex(e.lastVote.digest) };
  if (e.prepared) r.prepared = { view: e.prepared.view, digest: toHex(e.prepared.digest) };
  if (e.decided) r.decided = { digest: toHex(e.decided.digest) };
  return r;
}
