/**
 * 6. View change: VIEW-CHANGE → the new leader's NEW-VIEW, recomputed by every receiver.
 *
 * The pure half — validating one VIEW-CHANGE and planning a NEW-VIEW from n − f of them (the
 * SELECT rule) — is in view-change.ts; this file is the half that changes the replica: moving
 * views, collecting VIEW-CHANGEs, and installing a NEW-VIEW.
 */
import { bytesEqual } from '../crypto/bytes.ts';
import { leaderOf, type ReplicaId } from './config.ts';
import { maybeAdvanceStable } from './checkpoints.ts';
import type { Batch, CheckpointCert, NewViewMsg, ProposeMsg, SlotEvidence, ViewChangeMsg } from './messages.ts';
import { checkedPrepared, decisionIsProof, handlePropose, maybePrepareOrDecideFast, recordProposal } from './normal-case.ts';
import { requestKey, type ReplicaState } from './replica-state.ts';
import { maybePropose } from './requests.ts';
import { batchDigest } from './statements.ts';
import { checkViewChange, planNewView } from './view-change.ts';

/** Reports the leader's misbehaviour and, if it leads our installed view, starts changing away from it. */
export function blameLeader(r: ReplicaState, leader: ReplicaId, what: string): void {
  r.misbehaviour(leader, what);
  if (leader === r.leader && r.status === 'normal') startViewChange(r, r.view + 1, `leader misbehaved: ${what}`);
}

/**
 * Moves to `newView`: persist the view first, then never vote below it again. While awaiting the
 * view of an epoch entered by state transfer, `newView` may be the view we are in (catch-up.ts).
 */
export function startViewChange(r: ReplicaState, newView: number, reason: string): void {
  if (newView < r.view || (newView === r.view && !r.awaitingView) || !r.member) return;
  r.view = newView;
  r.status = 'view-change';
  r.awaitingView = false;
  r.deferred.clear();
  r.newViewMsg = undefined;
  r.out.persist.push({ kind: 'view', view: newView, normal: false });
  r.viewChangeDeadline = Infinity;
  r.viewChangeAttempts++;
  r.event({ type: 'view-change-started', view: newView, reason });
  const vc = buildViewChange(r, newView);
  recordViewChange(r, vc);
  r.broadcast(vc);
  maybeSendNewView(r);
  // Views below the new one are over: forget their VIEW-CHANGEs.
  for (const v of r.viewChanges.keys()) if (v < newView) r.viewChanges.delete(v);
}

/** Everything this replica can prove about each slot above its stable checkpoint, signed. */
export function buildViewChange(r: ReplicaState, newView: number): ViewChangeMsg {
  const slots: SlotEvidence[] = [];
  const bodies = new Map<string, Batch>();
  const sorted = [...r.log.keys()].filter((k) => k > r.lowWatermark && k <= r.highWatermark).sort((a, b) => a - b);
  for (const slotNo of sorted) {
    const s = r.log.get(slotNo)!;
    const e: SlotEvidence = { slot: slotNo };
    // Evidence whose body we lack is left out: a new leader could not re-propose it, and the
    // correct replicas that prepared it carry it (they had the proposal).
    const withBody = (hex: string) => {
      const b = s.body(hex);
      if (b) bodies.set(hex, b);
      return b !== undefined;
    };
    if (s.proposal && s.proposal.view < newView && withBody(s.proposal.digestHex)) {
      e.lastVote = { view: s.proposal.view, digest: s.proposal.digest, leaderSig: s.proposal.sig };
    }
    // Only certificates whose every signature checks go in (channel-votes.ts): a prepare
    // certificate no COMMIT rested on, or a decision, that is not proof is left out — the correct
    // voters' own evidence carries the decision.
    if (s.prepared && s.prepared.cert.view < newView && checkedPrepared(r, s) && withBody(s.prepared.digestHex)) e.prepared = s.prepared.cert;
    if (s.decided && s.decided.cert.view < newView && decisionIsProof(r, s) && withBody(s.decided.digestHex)) e.decided = s.decided.cert;
    if (e.lastVote || e.prepared || e.decided) slots.push(e);
  }
  const body = { newView, from: r.id, checkpoint: r.stableCert, slots, batches: [...bodies.values()] };
  return { type: 'view-change', ...body, sig: r.auth.sign(r.auth.statements.viewChange(body)) };
}

/** Keeps a valid VIEW-CHANGE (the first per sender and view) and starts the view's timer once n − f replicas are changing. */
export function recordViewChange(r: ReplicaState, vc: ViewChangeMsg): void {
  let set = r.viewChanges.get(vc.newView);
  if (!set) {
    set = new Map();
    r.viewChanges.set(vc.newView, set);
  }
  if (!set.has(vc.from)) set.set(vc.from, vc);
  // PBFT's rule: the timer for a view starts only once n − f replicas are changing to it. A
  // replica alone in a higher view waits for the others instead of running further ahead, so
  // correct replicas cannot drift apart in views and never meet. Replicas changing to a LATER
  // view count too (they gave up on this one): otherwise two correct replicas whose third
  // correct peer already moved past their view, its VIEW-CHANGE for their view lost, would wait
  // for ever — one replica ahead cannot pull them by the join rule (f+1) (found by the vc-lie
  // strategy, test/faults/regressions.test.ts).
  if (vc.newView >= r.view && r.status === 'view-change' && r.viewChangeDeadline === Infinity && changingAtOrAbove(r, r.view) >= r.quorums.viewChangeSet) {
    const exponent = Math.min(r.viewChangeAttempts - 1, r.params.maxBackoffExponent);
    r.viewChangeDeadline = r.now + r.params.viewChangeTimeoutTicks * 2 ** Math.max(0, exponent);
  }
}

/** Distinct replicas whose VIEW-CHANGE asks for `view` or a later one. */
function changingAtOrAbove(r: ReplicaState, view: number): number {
  const senders = new Set<ReplicaId>();
  for (const [v, set] of r.viewChanges) if (v >= view) for (const from of set.keys()) senders.add(from);
  return senders.size;
}

export function handleViewChange(r: ReplicaState, m: ViewChangeMsg): void {
  if (m.newView < r.view) return r.drop('VIEW-CHANGE for an old view', m.from);
  if (m.newView === r.view && r.status === 'normal') {
    // The sender missed our NEW-VIEW.
    if (r.newViewMsg) r.send(m.from, r.newViewMsg);
    return;
  }
  if (r.viewChanges.get(m.newView)?.has(m.from)) return;
  const problem = checkViewChange(m, r.vcContext);
  if (problem) return r.drop(problem, m.from);
  // Bound memory against a peer that sends VIEW-CHANGEs for ever-higher views: keep only its highest.
  // Only after the check: a forgery naming another sender must not erase that sender's real one.
  for (const [v, set] of r.viewChanges) if (v < m.newView && v > r.view) set.delete(m.from);
  recordViewChange(r, m);

  // Join rule: f+1 replicas want a higher view, so at least one correct one does.
  const wanting = new Map<ReplicaId, number>();
  for (const [v, set] of r.viewChanges) {
    if (v <= r.view) continue;
    for (const from of set.keys()) wanting.set(from, Math.max(wanting.get(from) ?? 0, v));
  }
  if (wanting.size >= r.config.f + 1) {
    const target = Math.min(...wanting.values());
    startViewChange(r, target, `${wanting.size} replicas asked for view ${target} or higher`);
  }
  maybeSendNewView(r);
}

/** The new leader, holding n − f VIEW-CHANGEs for its view, computes and broadcasts NEW-VIEW. */
function maybeSendNewView(r: ReplicaState): void {
  if (r.status !== 'view-change' || r.leader !== r.id) return;
  const set = r.viewChanges.get(r.view);
  if (!set || set.size < r.quorums.viewChangeSet) return;
  // Our own first, then by replica id: deterministic, so a replay yields the same NEW-VIEW.
  const own = set.get(r.id);
  if (!own) return;
  const others = [...set.values()].filter((vc) => vc.from !== r.id).sort((a, b) => a.from - b.from);
  const vcs = [own, ...others].slice(0, r.quorums.viewChangeSet);
  const plan = planNewView(vcs, r.quorums.tau, r.selectRule);
  if ('error' in plan) return r.alarm(`cannot form NEW-VIEW ${r.view}: ${plan.error}`);
  const proposals: ProposeMsg[] = plan.slots.map((p) => ({
    type: 'propose',
    view: r.view,
    slot: p.slot,
    batch: p.batch,
    sig: r.auth.signVote('accept', r.view, p.slot, p.digest),
  }));
  const body = { view: r.view, viewChanges: vcs, proposals };
  const nv: NewViewMsg = { type: 'new-view', ...body, sig: r.auth.sign(r.auth.statements.newView(body)) };
  r.broadcast(nv);
  becomeNormal(r, nv, plan.checkpoint);
}

export function handleNewView(r: ReplicaState, m: NewViewMsg): void {
  const leader = leaderOf(m.view, r.config);
  if (m.view < r.view || (m.view === r.view && r.status === 'normal')) return r.drop('NEW-VIEW for a view already installed or passed', leader);
  if (leader === r.id) return r.drop('NEW-VIEW claims to be from this replica', leader);
  if (!r.auth.verifyReplica(leader, r.auth.statements.newView(m), m.sig)) return r.drop('NEW-VIEW with a bad signature', leader);
  const problem = validateNewView(r, m);
  if (problem) {
    // A signed, wrong NEW-VIEW is proof against its leader: move on to the next view.
    r.misbehaviour(leader, `invalid NEW-VIEW ${m.view}: ${problem}`);
    if (m.view >= r.view) startViewChange(r, m.view + 1, `invalid NEW-VIEW from replica ${leader}`);
    return;
  }
  const plan = planNewView(m.viewChanges, r.quorums.tau, r.selectRule);
  if ('error' in plan) return r.alarm(`NEW-VIEW ${m.view}: ${plan.error}`);
  r.view = m.view;
  becomeNormal(r, m, plan.checkpoint);
}

/** Recomputes the leader's choices from its own evidence; the first difference, or null. Pure. */
export function validateNewView(r: ReplicaState, m: NewViewMsg): string | null {
  if (m.viewChanges.length !== r.quorums.viewChangeSet) return `carries ${m.viewChanges.length} VIEW-CHANGEs, needs exactly ${r.quorums.viewChangeSet}`;
  const senders = new Set<number>();
  for (const vc of m.viewChanges) {
    if (vc.newView !== m.view) return `carries a VIEW-CHANGE for view ${vc.newView}`;
    if (senders.has(vc.from)) return `carries two VIEW-CHANGEs from replica ${vc.from}`;
    senders.add(vc.from);
    const problem = checkViewChange(vc, r.vcContext);
    if (problem) return problem;
  }
  const plan = planNewView(m.viewChanges, r.quorums.tau, r.selectRule);
  if ('error' in plan) return plan.error;
  if (plan.slots.length !== m.proposals.length) return `proposes ${m.proposals.length} slots, the evidence gives ${plan.slots.length}`;
  for (let i = 0; i < plan.slots.length; i++) {
    const want = plan.slots[i]!;
    const got = m.proposals[i]!;
    if (got.view !== m.view || got.slot !== want.slot) return `proposal ${i} is for view ${got.view} slot ${got.slot}, expected slot ${want.slot}`;
    const digest = batchDigest(got.batch);
    if (!bytesEqual(digest, want.digest)) return `slot ${want.slot}: proposes a different value than the evidence selects`;
    if (!r.auth.verifyProposal(m.view, got.slot, digest, got.sig)) return `slot ${want.slot}: bad proposal signature`;
  }
  return null;
}

/** Installs the NEW-VIEW: adopt its checkpoint, accept its re-proposals, hand pending requests over. */
function becomeNormal(r: ReplicaState, m: NewViewMsg, checkpoint: CheckpointCert): void {
  r.status = 'normal';
  r.awaitingView = false;
  r.newViewMsg = m;
  r.out.persist.push({ kind: 'view', view: m.view, normal: true });
  r.out.persist.push({ kind: 'new-view', message: m });
  for (const v of r.viewChanges.keys()) if (v <= m.view) r.viewChanges.delete(v);
  r.event({ type: 'new-view-installed', view: m.view, leader: r.leader, reproposed: m.proposals.length });
  const leading = r.leader === r.id;
  const lastSlot = m.proposals.length > 0 ? m.proposals[m.proposals.length - 1]!.slot : checkpoint.seq;
  // Set before anything below can execute a slot (the checkpoint, a re-proposal bringing the body
  // a decision waited for): execution lets a leader propose at once, and it must propose past the
  // re-proposals, never over them, and nothing queued in an earlier view (found by sim --reconfig
  // seed 184: a leader filled the slots up to a boundary over its own NEW-VIEW's).
  r.nextSlot = Math.max(lastSlot, r.lowWatermark, r.executed) + 1;
  r.queue.length = 0;
  r.ordering.clear();
  if (checkpoint.seq > r.lowWatermark) maybeAdvanceStable(r, checkpoint);

  // Re-proposed slots commit classically: the fast path is for a stable view. Set before the
  // re-proposals are accepted below: ACCEPTs for them that arrived ahead of this NEW-VIEW may
  // prepare a slot right away, and it must not start waiting for a fast certificate.
  r.fastPausedThrough = Math.max(r.fastPausedThrough, lastSlot);
  const reproposed = new Set<string>();
  for (const p of m.proposals) {
    for (const req of p.batch) reproposed.add(requestKey(req));
    if (leading) {
      const digest = batchDigest(p.batch);
      recordProposal(r, p, digest);
      maybePrepareOrDecideFast(r, p.slot);
    } else {
      handlePropose(r, p, true);
    }
  }
  r.nextSlot = Math.max(r.nextSlot, r.executed + 1);

  // A new leader gets a full timeout to reach a pending epoch boundary too, not what is left of
  // the last one's: a stale timer deposes it right after it installs (found by sim --reconfig seed 62).
  r.boundaryProgress = { executed: r.executed, since: r.now };
  // Requests still waiting go to the new leader (or into its queue), and their timers restart.
  r.queue.length = 0;
  r.ordering.clear();
  for (const key of reproposed) r.ordering.add(key);
  for (const w of r.waiting.values()) {
    w.since = r.now;
    if (leading) {
      const key = requestKey(w.request);
      // The leader checks every request it proposes, those it took unchecked as a backup too.
      if (!w.checked && !r.auth.verifyRequest(w.request)) {
        r.drop('bad client signature', w.request.clientId);
        continue;
      }
      if (!r.ordering.has(key)) {
        r.ordering.add(key);
        r.queue.push(w.request);
      }
    } else {
      w.relayed = true;
      r.send(r.leader, { type: 'request', request: w.request });
    }
  }
  if (leading) r.waiting.clear();
  maybePropose(r);
}
