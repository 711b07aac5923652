/**
 * 4. Checkpoints: every K slots each replica signs the digest of its state; q matching
 * CHECKPOINTs make it stable, which moves the window (low watermark h, high h + W) and truncates
 * the log below it.
 */
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { sha256 } from '../crypto/hash.ts';
import type { ReplicaId } from './config.ts';
import type { CheckpointCert, CheckpointMsg, Digest } from './messages.ts';
import type { ReplicaState } from './replica-state.ts';

/** Snapshots, signs and broadcasts our checkpoint at `seq` (just executed). */
export function takeCheckpoint(r: ReplicaState, seq: number): void {
  const snapshot = r.app.snapshot();
  const digest = sha256(snapshot);
  const sig = r.auth.sign(r.auth.statements.checkpoint(seq, digest));
  r.ownCheckpoints.set(seq, { digest, snapshot, sig });
  recordCheckpointVote(r, seq, r.id, digest, sig);
  r.broadcast({ type: 'checkpoint', seq, stateDigest: digest, from: r.id, sig });
}

export function handleCheckpoint(r: ReplicaState, m: CheckpointMsg): void {
  if (m.seq <= r.lowWatermark) return; // already stable here: nothing to learn
  if (m.seq % r.params.checkpointInterval !== 0 || m.seq > r.highWatermark) return r.drop('CHECKPOINT for a sequence number outside the window', m.from);
  if (!r.auth.verifyReplica(m.from, r.auth.statements.checkpoint(m.seq, m.stateDigest), m.sig)) return r.drop('CHECKPOINT with a bad signature', m.from);
  r.noteSlot(m.seq);
  recordCheckpointVote(r, m.seq, m.from, m.stateDigest, m.sig);
}

function recordCheckpointVote(r: ReplicaState, seq: number, from: ReplicaId, digest: Digest, sig: Uint8Array): void {
  let votes = r.checkpointVotes.get(seq);
  if (!votes) {
    votes = new Map();
    r.checkpointVotes.set(seq, votes);
  }
  if (votes.has(from)) return;
  const digestHex = toHex(digest);
  votes.set(from, { digestHex, sig, digest });
  const matching = [...votes.entries()].filter(([, v]) => v.digestHex === digestHex).sort((a, b) => a[0] - b[0]);
  if (matching.length >= r.quorums.q) {
    maybeAdvanceStable(r, { seq, stateDigest: digest, sigs: matching.slice(0, r.quorums.q).map(([f, v]) => ({ from: f, sig: v.sig })) });
  }
}

/** A verified checkpoint certificate: if above our low watermark, advance and truncate, wait for execution, or fetch state. */
export function maybeAdvanceStable(r: ReplicaState, cert: CheckpointCert): void {
  if (cert.seq <= r.lowWatermark) return;
  if (r.executed < cert.seq) {
    // Behind it. Usually only by a few slots still being executed here, so keep the log and
    // apply the certificate on reaching it; if peers have truncated past us, STATUS makes
    // them send their state.
    if (!r.pendingStable || r.pendingStable.seq < cert.seq) r.pendingStable = cert;
    r.triggers.sendStatus();
    return;
  }
  const own = r.ownCheckpoints.get(cert.seq);
  if (r.executed >= cert.seq && own && !bytesEqual(own.digest, cert.stateDigest)) {
    r.alarm(`state at checkpoint ${cert.seq} differs from the certified one`);
    return;
  }
  if (!own) return; // executed past it without a checkpoint of our own: a later one will do
  r.stableCert = cert;
  r.stableSnapshot = own.snapshot;
  r.out.persist.push({ kind: 'checkpoint', cert, snapshot: own.snapshot });
  truncateLog(r, cert.seq);
  r.event({ type: 'checkpoint-stable', seq: cert.seq });
  r.triggers.maybePropose();
}

/** Forgets every slot, own checkpoint and checkpoint vote at or below `seq`. */
export function truncateLog(r: ReplicaState, seq: number): void {
  for (const slot of r.log.keys()) if (slot <= seq) r.log.delete(slot);
  for (const s of r.ownCheckpoints.keys()) if (s <= seq) r.ownCheckpoints.delete(s);
  for (const s of r.checkpointVotes.keys()) if (s <= seq) r.checkpointVotes.delete(s);
  if (r.nextSlot <= seq) r.nextSlot = seq + 1;
}
