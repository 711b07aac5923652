/**
 * 5. Catch-up: replicas gossip signed STATUS (view, executed, stable checkpoint); a peer that is
 * ahead answers with what the sender lacks — shipped DECISIONs (self-certifying), the certified
 * stable STATE, the CHECKPOINTs that certify it, or the NEW-VIEW / VIEW-CHANGE it missed.
 */
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { maybeExecute } from './execution.ts';
import type { DecisionMsg, EpochLink, StateMsg, StatusMsg } from './messages.ts';
import { decide, decisionIsProof } from './normal-case.ts';
import type { ReplicaState } from './replica-state.ts';
import { Statements, batchDigest } from './statements.ts';
import { enterNewEpoch, truncateLog } from './checkpoints.ts';
import { linkFromSnapshot } from './epochs.ts';
import { epochOf, memberOf } from './config.ts';
import { stateDigestOf } from './replicated-state.ts';

/** Most decided slots shipped to one lagging peer per STATUS it sends. */
const MAX_DECISIONS_PER_STATUS = 32;

export function sendStatus(r: ReplicaState): void {
  r.lastStatus = r.now;
  const sig = r.auth.sign(r.auth.statements.status(r.view, r.executed, r.lowWatermark, r.id));
  r.lastStatusMsg = { type: 'status', epoch: r.epoch, view: r.view, executed: r.executed, stable: r.lowWatermark, from: r.id, sig };
  r.broadcast(r.lastStatusMsg);
}

/**
 * The key a STATUS is checked with. Its sender may be in another epoch than us: behind (a member
 * still finishing the previous epoch, a replica that was removed) or not yet a member (a replica
 * joining, which only the pending configuration lists). A STATUS only asks for self-certifying
 * data, so any key we know for the sender will do.
 */
function statusKey(r: ReplicaState, from: number, epoch: number): Uint8Array | undefined {
  const m = r.app.membership;
  for (const c of [r.chain.get(epoch)?.config, r.config, m.current.config, m.next?.config]) {
    const k = c && memberOf(c, from)?.publicKey;
    if (k) return k;
  }
  return undefined;
}

/**
 * Catch-up answers (a snapshot, certified checkpoints, decided slots) go to one peer at most once
 * per status interval unless its STATUS shows progress: a correct replica behind asks once per
 * interval and moves on, while a faulty one that keeps claiming to be at slot 0 (the flood
 * strategy) would otherwise make every replica sign and ship the same slots again and again.
 */
function mayAnswer(r: ReplicaState, m: StatusMsg): boolean {
  const last = r.catchUpAnswers.get(m.from);
  if (last && m.executed <= last.executed && r.now - last.at < r.params.statusIntervalTicks) return false;
  r.catchUpAnswers.set(m.from, { at: r.now, executed: m.executed });
  return true;
}

/** A peer told us how far it got: send what it is missing, from our own verified log. */
export function handleStatus(r: ReplicaState, m: StatusMsg): void {
  const key = statusKey(r, m.from, m.epoch);
  if (!key) return r.drop('STATUS from a replica of no known configuration', m.from);
  if (!r.auth.verifyWithKey(key, new Statements(r.config.clusterId, m.epoch).status(m.view, m.executed, m.stable, m.from), m.sig)) return r.drop('STATUS with a bad signature', m.from);
  const sameEpoch = m.epoch === r.epoch;
  if (sameEpoch && m.view < r.view && r.status === 'normal' && r.newViewMsg) r.send(m.from, r.newViewMsg);
  if (sameEpoch && m.view <= r.view && r.status === 'view-change') {
    const mine = r.viewChanges.get(r.view)?.get(r.id);
    if (mine) r.send(m.from, mine);
  }
  if (!mayAnswer(r, m)) return r.count('catch-up answer held back (asked again within a status interval)');
  if ((m.executed < r.lowWatermark || (m.epoch < r.epoch && m.executed < r.chain.get(m.epoch + 1)!.activatedAt)) && r.stableSnapshot) {
    // The certificate's digest is the snapshot's hash: checked on every path that sets them.
    const sig = r.auth.sign(r.auth.statements.state(r.id, r.stableCert.seq, r.stableCert.stateDigest));
    r.send(m.from, { type: 'state', links: r.chain.linksAbove(m.epoch), checkpoint: r.stableCert, snapshot: r.stableSnapshot, from: r.id, sig });
  }
  // Also how a peer still in the previous epoch, having executed its last slot, learns the
  // certificate that starts ours.
  if (m.stable < r.lowWatermark && m.executed >= r.lowWatermark && r.lowWatermark > 0) relayStableCheckpoint(r, m.from);
  // Decisions of our epoch a peer in another one could not check.
  if (!sameEpoch) return;
  let shipped = 0;
  for (let slot = Math.max(m.executed, r.lowWatermark) + 1; shipped < MAX_DECISIONS_PER_STATUS; slot++) {
    const s = r.log.get(slot);
    if (!s) break;
    const batch = s.decided ? s.body(s.decided.digestHex) : undefined;
    if (!s.decided || !batch) continue;
    // Our signed word that the slot is decided; the certificate goes along, and the receiver
    // needs f+1 such words if it is not proof (channel-votes.ts, rule 3). Checking it here finds
    // a replica that spoiled it with an invalid signature.
    decisionIsProof(r, s);
    const sig = r.auth.sign(r.auth.statements.decision(r.id, slot, s.decided.cert.digest));
    r.send(m.from, { type: 'decision', batch, cert: s.decided.cert, from: r.id, sig });
    shipped++;
  }
}

/**
 * A peer executed past our stable checkpoint but never saw it certified: relay the q signed
 * CHECKPOINTs that certify it (each verifies against its own signer, in the certificate's epoch).
 */
function relayStableCheckpoint(r: ReplicaState, to: number): void {
  for (const s of r.stableCert.sigs) {
    if (s.from !== to) r.send(to, { type: 'checkpoint', seq: r.stableCert.seq, stateDigest: r.stableCert.stateDigest, from: s.from, sig: s.sig });
  }
}

/** A shipped decision is self-certifying: q COMMIT signatures over the digest of its batch. */
export function handleDecision(r: ReplicaState, m: DecisionMsg): void {
  const slotNo = m.cert.slot;
  if (slotNo <= r.executed || !r.inWindow(slotNo)) return; // nothing we can use
  if (!r.auth.verifyReplica(m.from, r.auth.statements.decision(m.from, slotNo, m.cert.digest), m.sig)) return r.drop('DECISION with a bad signature', m.from);
  if (!bytesEqual(batchDigest(m.batch), m.cert.digest)) return r.drop('DECISION whose batch does not match its certificate', m.from);
  const s = r.slot(slotNo);
  if (s.decided && s.body(s.decided.digestHex)) return maybeExecute(r);
  const digestHex = toHex(m.cert.digest);
  const problem = r.auth.checkDecisionCert(m.cert);
  if (problem) {
    // Not proof, but its sender's signed word that the slot is decided: f+1 matching words from
    // distinct replicas include a correct one (channel-votes.ts, rule 3).
    if (s.decided) return r.drop(`DECISION: ${problem}`, m.from);
    s.attestations.set(m.from, digestHex);
    let matching = 0;
    for (const d of s.attestations.values()) if (d === digestHex) matching++;
    if (matching < r.config.f + 1) return r.drop(`DECISION: ${problem}`, m.from);
    s.bodies.set(digestHex, m.batch);
    return decide(r, s, m.cert, true);
  }
  if (s.decided && s.decided.digestHex !== digestHex) return r.alarm(`two commit certificates disagree on slot ${slotNo}`);
  s.bodies.set(digestHex, m.batch);
  if (s.decided) {
    r.out.persist.push({ kind: 'decided', cert: s.decided.cert, batch: m.batch });
    maybeExecute(r);
  } else {
    decide(r, s, m.cert);
  }
}

/**
 * Installs a peer's snapshot only after checking it against a verified checkpoint certificate —
 * of the epoch it names, which the proofs it carries lead to from the chain we already trust.
 * The sender's own signature is checked when we know its key; a joining replica may not yet, and
 * needs none: everything it installs is certified by a quorum.
 */
export function handleState(r: ReplicaState, m: StateMsg): void {
  const cert = m.checkpoint;
  if (cert.seq <= r.executed) return; // we already have this state or newer
  // A malformed snapshot gets a digest that matches no certificate: caught below as misbehaviour.
  const snapshotDigest = stateDigestOf(m.snapshot) ?? sha256(m.snapshot);
  const senderKey = statusKey(r, m.from, cert.epoch);
  if (senderKey && !r.auth.verifyWithKey(senderKey, r.auth.statements.state(m.from, cert.seq, snapshotDigest), m.sig)) return r.drop('STATE with a bad signature', m.from);
  const added = learnLinks(r, m.links);
  if (typeof added === 'string') return r.drop(`STATE: ${added}`, m.from);
  const problem = r.chain.checkCheckpoint(cert);
  if (problem) return r.drop(`STATE: ${problem}`, m.from);
  if (!bytesEqual(snapshotDigest, cert.stateDigest)) return r.misbehaviour(m.from, `served a snapshot that does not match checkpoint ${cert.seq}`);
  try {
    r.app.restore(m.snapshot);
  } catch (e) {
    return r.misbehaviour(m.from, `served a malformed snapshot: ${(e as Error).message}`);
  }
  // A boundary checkpoint's own snapshot proves the epoch it starts (restore parsed it already).
  if (epochOf(r.app.membership.current.config) === epochOf(r.chain.latest.config) + 1) {
    const boundary = linkFromSnapshot(cert, m.snapshot);
    if (r.chain.extend(boundary, r.config.clusterId) !== 'known') added.push(boundary);
  }
  const epoch = epochOf(r.app.membership.current.config);
  r.executed = cert.seq;
  r.highestSeen = Math.max(r.highestSeen, cert.seq);
  r.stableCert = cert;
  r.stableSnapshot = m.snapshot;
  if (r.pendingStable && r.pendingStable.seq <= cert.seq) r.pendingStable = undefined;
  r.replyCache.clear();
  r.out.persist.push({ kind: 'checkpoint', cert, snapshot: m.snapshot });
  truncateLog(r, cert.seq);
  for (const [clientId, w] of r.waiting) {
    const session = r.app.session(clientId);
    if (session && session.ts >= w.request.ts) r.waiting.delete(clientId);
  }
  r.event({ type: 'state-transferred', seq: cert.seq, from: m.from });
  if (epoch !== r.epoch) {
    enterNewEpoch(r, epoch, added);
    // Which view the new epoch is in we learn from a NEW-VIEW (peers send theirs in answer to
    // STATUS) or from the VIEW-CHANGEs of its first view change: wait for one, vote in no view.
    r.status = 'view-change';
    r.awaitingView = true;
    r.newViewMsg = undefined;
    r.viewChangeDeadline = Infinity;
    // A member also announces a VIEW-CHANGE for the view it is in (true: it voted in nothing of
    // this epoch), and persists that view as not installed. Peers already in that view answer
    // with its NEW-VIEW — a STATUS naming their own view gets none, so a replica that had moved
    // to view v in the old epoch would wait for ever when the new epoch runs in view v too — and
    // a first view change of the epoch short of n − f VIEW-CHANGEs without it can finish: the
    // members that entered at the checkpoint may have sent theirs while we were still in the old
    // epoch (dropped: signed for an epoch we did not know), and with f silent neither the join
    // rule nor the n − f timer would otherwise move anyone (found by the nemesis too).
    r.triggers.startViewChange(r.view, `entered epoch ${epoch} by state transfer`);
  } else {
    for (const link of added) r.out.persist.push({ kind: 'epoch-link', link });
  }
  maybeExecute(r);
}

/** Verifies and appends the proofs of epochs we did not know; returns those added, or why one is wrong. */
function learnLinks(r: ReplicaState, links: EpochLink[]): EpochLink[] | string {
  const added: EpochLink[] = [];
  for (const link of links) {
    const result = r.chain.extend(link, r.config.clusterId);
    if (typeof result === 'string' && result !== 'known') return result;
    if (result !== 'known') added.push(link);
  }
  return added;
}
