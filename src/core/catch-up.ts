/**
 * 5. Catch-up: replicas gossip signed STATUS (view, executed, stable checkpoint); a peer that is
 * ahead answers with what the sender lacks — shipped DECISIONs (self-certifying), the certified
 * stable STATE, the CHECKPOINTs that certify it, or the NEW-VIEW / VIEW-CHANGE it missed.
 */
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import { maybeExecute } from './execution.ts';
import type { DecisionMsg, StateMsg, StatusMsg } from './messages.ts';
import { decide } from './normal-case.ts';
import type { ReplicaState } from './replica-state.ts';
import { batchDigest } from './statements.ts';
import { truncateLog } from './checkpoints.ts';

/** Most decided slots shipped to one lagging peer per STATUS it sends. */
const MAX_DECISIONS_PER_STATUS = 32;

export function sendStatus(r: ReplicaState): void {
  r.lastStatus = r.now;
  const sig = r.auth.sign(r.auth.statements.status(r.view, r.executed, r.lowWatermark, r.id));
  r.broadcast({ type: 'status', view: r.view, executed: r.executed, stable: r.lowWatermark, from: r.id, sig });
}

/** A peer told us how far it got: send what it is missing, from our own verified log. */
export function handleStatus(r: ReplicaState, m: StatusMsg): void {
  if (!r.auth.verifyReplica(m.from, r.auth.statements.status(m.view, m.executed, m.stable, m.from), m.sig)) return r.drop('STATUS with a bad signature', m.from);
  if (m.view < r.view && r.status === 'normal' && r.newViewMsg) r.send(m.from, r.newViewMsg);
  if (m.view <= r.view && r.status === 'view-change') {
    const mine = r.viewChanges.get(r.view)?.get(r.id);
    if (mine) r.send(m.from, mine);
  }
  if (m.executed < r.lowWatermark && r.stableSnapshot) {
    // The certificate's digest is the snapshot's hash: checked on every path that sets them.
    const sig = r.auth.sign(r.auth.statements.state(r.id, r.stableCert.seq, r.stableCert.stateDigest));
    r.send(m.from, { type: 'state', checkpoint: r.stableCert, snapshot: r.stableSnapshot, from: r.id, sig });
  }
  if (m.stable < r.lowWatermark && m.executed >= r.lowWatermark && r.lowWatermark > 0) {
    // It executed past our stable checkpoint but never saw it certified: relay the q signed
    // CHECKPOINTs that certify it (each verifies against its own signer).
    for (const s of r.stableCert.sigs) {
      if (s.from !== m.from) r.send(m.from, { type: 'checkpoint', seq: r.stableCert.seq, stateDigest: r.stableCert.stateDigest, from: s.from, sig: s.sig });
    }
  }
  let shipped = 0;
  for (let slot = Math.max(m.executed, r.lowWatermark) + 1; shipped < MAX_DECISIONS_PER_STATUS; slot++) {
    const s = r.log.get(slot);
    if (!s) break;
    const batch = s.decided ? s.body(s.decided.digestHex) : undefined;
    if (!s.decided || !batch) continue;
    const sig = r.auth.sign(r.auth.statements.decision(r.id, slot, s.decided.cert.digest));
    r.send(m.from, { type: 'decision', batch, cert: s.decided.cert, from: r.id, sig });
    shipped++;
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
  const problem = r.auth.checkDecisionCert(m.cert);
  if (problem) return r.drop(`DECISION: ${problem}`, m.from);
  if (s.decided && s.decided.digestHex !== toHex(m.cert.digest)) return r.alarm(`two commit certificates disagree on slot ${slotNo}`);
  s.bodies.set(toHex(m.cert.digest), m.batch);
  if (s.decided) {
    r.out.persist.push({ kind: 'decided', cert: s.decided.cert, batch: m.batch });
    maybeExecute(r);
  } else {
    decide(r, s, m.cert);
  }
}

/** Installs a peer's snapshot only after checking it against a verified checkpoint certificate. */
export function handleState(r: ReplicaState, m: StateMsg): void {
  const cert = m.checkpoint;
  if (cert.seq <= r.executed) return; // we already have this state or newer
  const snapshotDigest = sha256(m.snapshot);
  if (!r.auth.verifyReplica(m.from, r.auth.statements.state(m.from, cert.seq, snapshotDigest), m.sig)) return r.drop('STATE with a bad signature', m.from);
  const problem = r.auth.checkCheckpointCert(cert, r.quorums.q, r.genesisDigest);
  if (problem) return r.drop(`STATE: ${problem}`, m.from);
  if (!bytesEqual(snapshotDigest, cert.stateDigest)) return r.misbehaviour(m.from, `served a snapshot that does not match checkpoint ${cert.seq}`);
  try {
    r.app.restore(m.snapshot);
  } catch (e) {
    return r.misbehaviour(m.from, `served a malformed snapshot: ${(e as Error).message}`);
  }
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
  maybeExecute(r);
}
