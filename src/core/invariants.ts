/**
 * What a correct replica guarantees about its own memory after every step, checked cheaply
 * (TigerBeetle's habit: the code asserts its own invariants, not only an outside checker).
 * `checkInvariants` is pure: it reads the state and returns one description per violation, none
 * when all hold. The simulator and the core test harness run it after every step, so a refactor
 * that breaks one of these fails at the step that broke it.
 *
 * The cluster-wide safety properties (agreement, total order, …) need every replica's view and
 * stay with the simulator's checker (src/sim/checker.ts); these are the local ones they rest on.
 * Cost: one pass over the log (at most a window of slots) and over the small per-view and
 * per-checkpoint tables; no signature is verified and nothing is hashed.
 *
 * Deliberately NOT checked, because the code does not guarantee it today: that the log holds no
 * slot at or below the stable checkpoint. Two paths re-create such a slot until the next
 * truncation frees it (found by this check in the simulator sweeps): a new leader whose
 * checkpoint became stable after it sent its own VIEW-CHANGE re-proposes the NEW-VIEW's slots
 * above that older checkpoint (becomeNormal → recordProposal), and a backup's handlePropose
 * records its own ACCEPT after recordProposal, whose execution may have just truncated the slot.
 * Harmless for safety (buildViewChange and handleStatus only look above the checkpoint), but a
 * leak and, on the leader, retransmissions of PROPOSEs that backups drop; changing it changes
 * the replica's outputs, so it is left for a behaviour change of its own.
 */
import type { DecisionCert, VoteCert } from './messages.ts';
import type { ReplicaState } from './replica-state.ts';

export function checkInvariants(r: ReplicaState): string[] {
  const bad: string[] = [];
  const low = r.lowWatermark;
  const n = r.config.n;

  // The window: the stable checkpoint is executed, and nothing at or below it is kept.
  if (low > r.executed) bad.push(`stable checkpoint ${low} is above executed ${r.executed}`);
  if (r.nextSlot <= low) bad.push(`next slot ${r.nextSlot} is at or below the stable checkpoint ${low}`);
  if (r.pendingStable && r.pendingStable.seq <= r.executed) bad.push(`pending checkpoint ${r.pendingStable.seq} is already executed (executed ${r.executed})`);
  for (const seq of r.ownCheckpoints.keys()) {
    if (seq <= low || seq > r.executed) bad.push(`own checkpoint ${seq} outside (stable ${low}, executed ${r.executed}]`);
  }
  for (const [seq, votes] of r.checkpointVotes) {
    if (seq <= low) bad.push(`checkpoint votes kept for ${seq}, at or below the stable checkpoint ${low}`);
    if (seq % r.params.checkpointInterval !== 0) bad.push(`checkpoint votes kept for ${seq}, not a multiple of ${r.params.checkpointInterval}`);
    if (votes.size > n) bad.push(`${votes.size} checkpoint votes for ${seq}, more than n = ${n}`);
  }

  // Views: a view change in progress has our own VIEW-CHANGE; no table holds a view that is over.
  if (r.status === 'view-change' && !r.awaitingView && !r.viewChanges.get(r.view)?.has(r.id)) bad.push(`changing to view ${r.view} without our own VIEW-CHANGE for it`);
  if (r.newViewMsg && (r.status !== 'normal' || r.newViewMsg.view !== r.view)) bad.push(`holds NEW-VIEW ${r.newViewMsg.view} while ${r.status} in view ${r.view}`);
  for (const [v, set] of r.viewChanges) {
    if (v < r.view || (v === r.view && r.status === 'normal')) bad.push(`VIEW-CHANGEs kept for view ${v}, over in view ${r.view} (${r.status})`);
    if (set.size > n) bad.push(`${set.size} VIEW-CHANGEs for view ${v}, more than n = ${n}`);
  }

  // Requests: only the leader of an installed view queues; a backup waits on at most one request per client.
  if (r.status === 'normal' && r.leader !== r.id && r.queue.length > 0) bad.push(`a backup in view ${r.view} has ${r.queue.length} requests queued`);
  const clients = r.config.clients.length + (r.config.admins?.length ?? 0);
  if (r.waiting.size > clients) bad.push(`waiting on ${r.waiting.size} requests, more than the ${clients} clients and admins`);
  if (r.fastMisses >= r.params.fastMissLimit) bad.push(`${r.fastMisses} fast-path misses counted, the limit is ${r.params.fastMissLimit}`);

  // The log, slot by slot.
  for (const [slotNo, s] of r.log) {
    if (slotNo !== s.slot) bad.push(`log entry ${slotNo} holds slot ${s.slot}`);
    if (s.accepts.size > n || s.commits.size > n) bad.push(`slot ${slotNo}: ${s.accepts.size} ACCEPTs and ${s.commits.size} COMMITs kept, more than n = ${n}`);
    // We never vote in a view above our own, nor sign two values for one (view, slot).
    const ownAccept = s.accepts.get(r.id);
    const ownCommit = s.commits.get(r.id);
    if (s.proposal && s.proposal.view > r.view) bad.push(`slot ${slotNo}: accepted a proposal of view ${s.proposal.view}, above our view ${r.view}`);
    if (ownAccept && ownAccept.view > r.view) bad.push(`slot ${slotNo}: our ACCEPT is for view ${ownAccept.view}, above our view ${r.view}`);
    if (ownAccept && s.proposal && ownAccept.view === s.proposal.view && ownAccept.digestHex !== s.proposal.digestHex) {
      bad.push(`slot ${slotNo}: our ACCEPT and the proposal we accepted differ in view ${ownAccept.view}`);
    }
    if (s.commitSent) {
      const c = s.commitSent;
      if (c.view > r.view) bad.push(`slot ${slotNo}: our COMMIT is for view ${c.view}, above our view ${r.view}`);
      if (!ownCommit || ownCommit.view !== c.view || ownCommit.digestHex !== c.digestHex) bad.push(`slot ${slotNo}: the COMMIT we sent in view ${c.view} is not our recorded COMMIT vote`);
      if (s.prepared && s.prepared.cert.view === c.view && s.prepared.digestHex !== c.digestHex) bad.push(`slot ${slotNo}: our COMMIT differs from the prepared value of view ${c.view}`);
    } else if (ownCommit) {
      bad.push(`slot ${slotNo}: a COMMIT vote of ours is recorded but none was sent`);
    }
    if (s.prepared) {
      const problem = certShape(s.prepared.cert, slotNo, r.quorums.q);
      if (problem) bad.push(`slot ${slotNo}: prepare certificate ${problem}`);
    }
    if (s.decided) {
      const problem = certShape(s.decided.cert, slotNo, decisionThreshold(r, s.decided.cert));
      if (problem) bad.push(`slot ${slotNo}: ${s.decided.cert.kind} certificate ${problem}`);
    }
  }

  // Execution: every slot in (stable, executed] is decided and its body held; the next one is
  // not both decided and held, or it would have been executed.
  for (let slot = low + 1; slot <= r.executed; slot++) {
    const s = r.log.get(slot);
    if (!s) bad.push(`executed slot ${slot} is missing from the log`);
    else if (!s.decided) bad.push(`executed slot ${slot} has no decision certificate`);
    else if (!s.body(s.decided.digestHex)) bad.push(`executed slot ${slot} has no body for its decision`);
  }
  const next = r.log.get(r.executed + 1);
  if (next?.decided && next.body(next.decided.digestHex)) bad.push(`slot ${r.executed + 1} is decided with its body but not executed`);
  return bad;
}

function decisionThreshold(r: ReplicaState, cert: DecisionCert): number {
  return cert.kind === 'fast' ? r.quorums.fast : r.quorums.q;
}

/** A certificate's shape (not its signatures): the right slot and enough distinct signers. */
function certShape(cert: VoteCert, slot: number, threshold: number): string | null {
  if (cert.slot !== slot) return `names slot ${cert.slot}`;
  const signers = new Set(cert.sigs.map((s) => s.from));
  if (signers.size < threshold || signers.size !== cert.sigs.length) return `has ${signers.size} distinct signers of ${cert.sigs.length}, needs ${threshold}`;
  return null;
}
