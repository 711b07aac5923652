/**
 * 2. Normal case: PROPOSE → ACCEPT → prepared (q ACCEPTs) → COMMIT → decided (q COMMITs), and on
 * the fast path decided by Qf ACCEPTs alone.
 */
import { toHex } from '../crypto/bytes.ts';
import { leaderOf } from './config.ts';
import { maybeExecute } from './execution.ts';
import type { AcceptMsg, Batch, CommitMsg, DecisionCert, Digest, ProposeMsg, VoteCert } from './messages.ts';
import type { ReplicaState } from './replica-state.ts';
import { allSignaturesCheck, countsUnchecked, provableQuorum, voteKindOf } from './channel-votes.ts';
import type { ReplicaId } from './config.ts';
import { SlotState } from './slot.ts';
import { batchDigest } from './statements.ts';

/**
 * A backup accepts a proposal only in its installed view, inside the watermarks, once per
 * (view, slot), with the leader's signature and every client signature valid.
 * `fromNewView` proposals were already recomputed from the NEW-VIEW's evidence.
 */
export function handlePropose(r: ReplicaState, m: ProposeMsg, fromNewView: boolean): void {
  const leader = leaderOf(m.view, r.config);
  if (!r.member) return r.drop('proposal to a replica that does not vote in this epoch', leader);
  if (m.view < r.view) return r.drop('proposal for an old view', leader);
  if (m.view > r.view || r.status !== 'normal') return r.drop('proposal for a view not installed here', leader);
  if (leader === r.id) return r.drop('proposal claims to be from this replica', leader);
  if (!r.inWindow(m.slot)) return r.drop('proposal outside the watermarks', leader);
  const digest = batchDigest(m.batch);
  if (!r.auth.verifyProposal(m.view, m.slot, digest, m.sig)) return r.drop('proposal with a bad leader signature', leader);
  r.noteSlot(m.slot);

  const s = r.slot(m.slot);
  const digestHex = toHex(digest);
  if (s.proposal && s.proposal.view === m.view) {
    if (s.proposal.digestHex !== digestHex) return r.triggers.blameLeader(leader, `two proposals for slot ${m.slot} in view ${m.view}`);
    return r.drop('duplicate proposal', leader);
  }
  const leaderVote = s.accepts.get(leader);
  if (leaderVote && leaderVote.view === m.view && leaderVote.digestHex !== digestHex) {
    return r.triggers.blameLeader(leader, `proposal and ACCEPT disagree for slot ${m.slot} in view ${m.view}`);
  }
  if (!fromNewView) {
    const problem = validateBatch(r, m.batch);
    if (problem) return r.triggers.blameLeader(leader, `proposed an invalid batch: ${problem}`);
  }
  if (s.decided && s.decided.digestHex !== digestHex) {
    // Never vote against a decision. Who is at fault depends on the views (found by Twins):
    // a decision of a later view makes this proposal merely stale; a fresh proposal, or a
    // NEW-VIEW of the decision's own view, against it is one faulty leader equivocating; only
    // a NEW-VIEW for a later view, recomputed here from n − f VIEW-CHANGEs, contradicting it
    // means more than f replicas are faulty.
    const decidedView = s.decided.cert.view;
    if (decidedView > m.view) return r.drop('proposal contradicts a decision of a later view', leader);
    if (fromNewView && decidedView < m.view) return r.alarm(`proposal for slot ${m.slot} contradicts its commit certificate`);
    return r.triggers.blameLeader(leader, `proposal for slot ${m.slot} in view ${m.view} contradicts its commit certificate`);
  }
  recordProposal(r, m, digest);
  // The leader has these requests: no need to relay them (requests.ts).
  for (const req of m.batch) {
    const w = r.waiting.get(req.clientId);
    if (w && w.request.ts === req.ts) w.relayed = true;
  }
  const sig = r.auth.signVote('accept', m.view, m.slot, digest);
  SlotState.record(r.slot(m.slot).accepts, r.id, { view: m.view, digest, digestHex, sig });
  r.broadcast({ type: 'accept', view: m.view, slot: m.slot, digest, from: r.id, sig });
  maybePrepareOrDecideFast(r, m.slot);
}

/** Records the proposal as this replica's vote, durably, before any message that depends on it. */
export function recordProposal(r: ReplicaState, m: ProposeMsg, digest: Digest): void {
  const s = r.slot(m.slot);
  const digestHex = toHex(digest);
  s.proposal = { view: m.view, digest, digestHex, batch: m.batch, sig: m.sig };
  s.bodies.set(digestHex, m.batch);
  s.lastActivity = r.now;
  SlotState.record(s.accepts, leaderOf(m.view, r.config), { view: m.view, digest, digestHex, sig: m.sig });
  r.out.persist.push({ kind: 'proposal', slot: m.slot, view: m.view, batch: m.batch, sig: m.sig });
  // The COMMITs may have come first: the decision was waiting for exactly this body.
  if (s.decided && s.decided.digestHex === digestHex) maybeExecute(r);
}

/**
 * A correct leader checked every request before signing; a bad one is proof against it. A request
 * byte-identical to one its client sent us on its own channel needs no check (request-checks.ts).
 * Pure.
 */
export function validateBatch(r: ReplicaState, batch: Batch): string | null {
  const clients = new Set<number>();
  for (const req of batch) {
    if (clients.has(req.clientId)) return `client ${req.clientId} appears twice`;
    clients.add(req.clientId);
    if (r.directRequests.holds(req)) continue;
    if (!r.auth.verifyRequest(req)) return `bad signature on client ${req.clientId}'s request ${req.ts}`;
  }
  return null;
}

/** `channel`: the replica whose own channel carried it; from its author, counted unchecked (channel-votes.ts). */
export function handleAccept(r: ReplicaState, m: AcceptMsg, channel?: ReplicaId): void {
  if (m.view < r.view) return r.drop('ACCEPT for an old view', m.from);
  if (!r.inWindow(m.slot)) return r.drop('ACCEPT outside the watermarks', m.from);
  if (!countsUnchecked(r, channel, m.from) && !r.auth.verifyVote('accept', m.from, m.view, m.slot, m.digest, m.sig)) return r.drop('ACCEPT with a bad signature', m.from);
  r.noteSlot(m.slot);
  const s = r.slot(m.slot);
  const digestHex = toHex(m.digest);
  if (m.from === leaderOf(m.view, r.config) && s.proposal && s.proposal.view === m.view && s.proposal.digestHex !== digestHex) {
    return r.triggers.blameLeader(m.from, `ACCEPT contradicts its proposal for slot ${m.slot} in view ${m.view}`);
  }
  const rec = SlotState.record(s.accepts, m.from, { view: m.view, digest: m.digest, digestHex, sig: m.sig });
  if (rec === 'conflict') return r.misbehaviour(m.from, `two ACCEPTs for slot ${m.slot} in view ${m.view}`);
  if (rec === 'recorded') maybePrepareOrDecideFast(r, m.slot);
}

/** A new ACCEPT for a slot may complete a prepare certificate, and on the fast path a decision. */
export function maybePrepareOrDecideFast(r: ReplicaState, slotNo: number): void {
  maybePrepare(r, slotNo);
  if (r.params.mode === 'fast') maybeDecideFast(r, slotNo);
}

/**
 * q matching ACCEPTs (the proposal counts as the leader's) for the proposal we accepted: prepared.
 * The certificate may hold signatures not yet checked (votes from their authors' own channels);
 * they are checked before our COMMIT rests on it or a VIEW-CHANGE carries it (`checkedPrepared`,
 * channel-votes.ts). One that backs a COMMIT we sent is replaced only by a checked one.
 */
function maybePrepare(r: ReplicaState, slotNo: number): void {
  const s = r.log.get(slotNo);
  if (!s || !s.proposal || r.status !== 'normal' || s.proposal.view !== r.view) return;
  if (s.prepared && s.prepared.cert.view >= r.view) return;
  const { view, digest, digestHex } = s.proposal;
  const sigs = SlotState.matching(s.accepts, view, digestHex);
  if (sigs.length < r.quorums.q) return;
  const cert: VoteCert | undefined = s.commitSent ? provableQuorum(r, s.accepts, 'accept', slotNo, view, digest, digestHex, r.quorums.q) : { view, slot: slotNo, digest, sigs: sigs.slice(0, r.quorums.q) };
  if (!cert) return;
  s.prepared = { cert, digestHex, checked: s.commitSent !== undefined };
  s.lastActivity = r.now;
  r.out.persist.push({ kind: 'prepared', cert });
  if (waitsForFastCertificate(r, s)) {
    r.deferred.set(slotNo, r.now + r.params.deferTicks);
    return;
  }
  sendCommit(r, s, view, digest, digestHex);
}

/**
 * True once every signature of our prepare certificate checks. If one does not, its signer is
 * distrusted and the certificate rebuilt from the votes that check; without q of them we are not
 * prepared (no COMMIT rests on an unchecked certificate, so none is lost).
 */
export function checkedPrepared(r: ReplicaState, s: SlotState): boolean {
  const p = s.prepared;
  if (!p) return false;
  if (p.checked || (p.checked = allSignaturesCheck(r, 'accept', p.cert, true))) return true;
  // A spoiled signature (its signer now distrusted): try the votes that check.
  const rebuilt = provableQuorum(r, s.accepts, 'accept', s.slot, p.cert.view, p.cert.digest, p.digestHex, r.quorums.q);
  s.prepared = rebuilt ? { cert: rebuilt, digestHex: p.digestHex, checked: true } : undefined;
  if (rebuilt) r.out.persist.push({ kind: 'prepared', cert: rebuilt });
  return rebuilt !== undefined;
}

/** Deferred policy, stable view, no recent misses: give the fast certificate a moment first. */
function waitsForFastCertificate(r: ReplicaState, s: SlotState): boolean {
  return r.params.mode === 'fast' && r.params.commitPolicy === 'deferred' && !s.decided && s.slot > r.fastPausedThrough;
}

/**
 * Qf matching ACCEPTs decide on their own (brief §2.3). Purely local and safe in any view: Qf
 * intersects every classic quorum and every view-change set in enough correct replicas
 * (q+Qf−n ≥ f+1; τ = Qf−2f of them are in any n−f VIEW-CHANGEs).
 */
function maybeDecideFast(r: ReplicaState, slotNo: number): void {
  const s = r.log.get(slotNo);
  if (!s || s.decided) return;
  const cert = SlotState.quorumCert(s.accepts, slotNo, r.quorums.fast);
  if (cert) decide(r, s, { kind: 'fast', ...cert });
}

/**
 * True if the slot's decision certificate may serve as proof for others: every signature checks
 * (remembered once known). Not for a decision we learned by f+1 attestations.
 */
export function decisionIsProof(r: ReplicaState, s: SlotState): boolean {
  const d = s.decided;
  if (!d || d.attested) return false;
  d.proof ??= allSignaturesCheck(r, voteKindOf(d.cert), d.cert, !d.restored);
  return d.proof;
}

/** Signs, records, persists and broadcasts our COMMIT for (view, slot), unless one for this view or later went out. */
export function sendCommit(r: ReplicaState, s: SlotState, view: number, digest: Digest, digestHex: string): void {
  if ((s.commitSent && s.commitSent.view >= view) || !r.member) return;
  // A promise: it rests only on a prepare certificate whose every signature checks.
  if (!checkedPrepared(r, s) || s.prepared!.cert.view !== view || s.prepared!.digestHex !== digestHex) return;
  const sig = r.auth.signVote('commit', view, s.slot, digest);
  s.commitSent = { view, digestHex, sig };
  SlotState.record(s.commits, r.id, { view, digest, digestHex, sig });
  r.out.persist.push({ kind: 'commit-sent', slot: s.slot, view, digest });
  r.broadcast({ type: 'commit', view, slot: s.slot, digest, from: r.id, sig });
  maybeDecide(r, s.slot);
}

/**
 * COMMITs from any view count: q matching ones are a commit certificate whichever view they are
 * from, which lets a replica that moved on still learn an older decision.
 */
export function handleCommit(r: ReplicaState, m: CommitMsg, channel?: ReplicaId): void {
  if (!r.inWindow(m.slot)) return r.drop('COMMIT outside the watermarks', m.from);
  if (!countsUnchecked(r, channel, m.from) && !r.auth.verifyVote('commit', m.from, m.view, m.slot, m.digest, m.sig)) return r.drop('COMMIT with a bad signature', m.from);
  r.noteSlot(m.slot);
  const s = r.slot(m.slot);
  const rec = SlotState.record(s.commits, m.from, { view: m.view, digest: m.digest, digestHex: toHex(m.digest), sig: m.sig });
  if (rec === 'conflict') return r.misbehaviour(m.from, `two COMMITs for slot ${m.slot} in view ${m.view}`);
  if (rec !== 'recorded') return;
  // Decided fast without sending COMMIT: a straggler is collecting COMMITs, so help it finish.
  if (s.decided?.cert.kind === 'fast' && !s.commitSent && s.prepared && s.prepared.digestHex === s.decided.digestHex) {
    sendCommit(r, s, s.prepared.cert.view, s.prepared.cert.digest, s.prepared.digestHex);
  }
  maybeDecide(r, m.slot);
}

/** q matching COMMITs for an undecided slot: decided. */
function maybeDecide(r: ReplicaState, slotNo: number): void {
  const s = r.log.get(slotNo);
  if (!s || s.decided) return;
  const cert = SlotState.quorumCert(s.commits, slotNo, r.quorums.q);
  if (cert) decide(r, s, { kind: 'commit', ...cert });
}

/**
 * Records a decision for the slot, persists it, and executes what it can. The certificate was
 * checked, or built from votes that came on their authors' own channels (channel-votes.ts), or —
 * `attested` — came with f+1 peers' signed DECISIONs (catch-up.ts).
 */
export function decide(r: ReplicaState, s: SlotState, cert: DecisionCert, attested = false): void {
  const digestHex = toHex(cert.digest);
  s.decided = { cert, digestHex, ...(attested ? { attested } : {}) };
  s.lastActivity = r.now;
  r.count(cert.kind === 'fast' ? 'fast commits' : 'classic commits');
  if (r.deferred.delete(s.slot) && cert.kind === 'fast') r.fastMisses = 0;
  r.out.persist.push({ kind: 'decided', cert, batch: s.body(digestHex) });
  maybeExecute(r);
}
