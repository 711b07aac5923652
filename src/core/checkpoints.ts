/**
 * 4. Checkpoints: every K slots each replica signs the digest of its state; q matching
 * CHECKPOINTs make it stable, which moves the window (low watermark h, high h + W) and truncates
 * the log below it.
 */
import { bytesEqual, toHex } from '../crypto/bytes.ts';
import { epochOf, type ReplicaId } from './config.ts';
import { linkFromSnapshot } from './epochs.ts';
import type { CheckpointCert, CheckpointMsg, Digest, EpochLink } from './messages.ts';
import type { ReplicaState } from './replica-state.ts';
import { stateDigestOf } from './replicated-state.ts';

/** Snapshots our checkpoint at `seq` (just executed); a member also signs and broadcasts it. */
export function takeCheckpoint(r: ReplicaState, seq: number): void {
  const snapshot = r.app.snapshot();
  const digest = stateDigestOf(snapshot)!;
  if (!r.member) {
    // A follower (a replica joining, or one removed) keeps the state to reach the certified one, and signs nothing.
    r.ownCheckpoints.set(seq, { digest, snapshot, sig: undefined });
    return;
  }
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
    maybeAdvanceStable(r, { epoch: r.epoch, seq, stateDigest: digest, sigs: matching.slice(0, r.quorums.q).map(([f, v]) => ({ from: f, sig: v.sig })) });
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
  if (cert.seq === r.epochEnd) switchEpochAt(r, cert, own.snapshot);
  r.triggers.maybePropose();
}

/**
 * The checkpoint at the boundary is stable: the next epoch begins. Its proof (this certificate and
 * the membership it certifies) joins the chain, and a member starts the epoch with a view change,
 * so that every view of the new epoch is installed by a NEW-VIEW of the new epoch's members and
 * the usual one-epoch safety argument applies to it unchanged. A replica that is no longer a
 * member stops voting; its operator may shut it down.
 */
export function switchEpochAt(r: ReplicaState, cert: CheckpointCert, snapshot: Uint8Array): void {
  const link = linkFromSnapshot(cert, snapshot);
  const added = r.chain.extend(link, r.config.clusterId);
  if (added === 'known') return;
  if (typeof added === 'string') return r.alarm(`cannot start the next epoch at checkpoint ${cert.seq}: ${added}`);
  enterNewEpoch(r, epochOf(added.config), [link]);
  if (r.member) r.triggers.startViewChange(r.view + 1, `epoch ${r.epoch} begins after slot ${cert.seq}`);
}

/** Switches to a verified epoch, persisting its proofs first, and tells the driver who the peers are now. */
export function enterNewEpoch(r: ReplicaState, epoch: number, links: EpochLink[]): void {
  for (const link of links) r.out.persist.push({ kind: 'epoch-link', link });
  const was = r.member;
  r.enterEpoch(epoch);
  r.deferred.clear();
  r.viewChanges.clear();
  // Our VIEW-CHANGEs were the old epoch's: a replica still changing views now waits for the new
  // epoch's view like one entering by state transfer (a member announces one right after, a
  // replica no longer a member never does).
  if (r.status === 'view-change') r.awaitingView = true;
  r.queue.length = 0;
  r.ordering.clear();
  r.fastPausedThrough = Math.max(r.fastPausedThrough, r.lowWatermark);
  r.event({ type: 'epoch-started', epoch, activatedAt: r.chain.get(epoch)!.activatedAt, member: r.member, wasMember: was, peers: r.peers(), config: r.config });
}

/** Forgets every slot, own checkpoint and checkpoint vote at or below `seq`. */
export function truncateLog(r: ReplicaState, seq: number): void {
  for (const slot of r.log.keys()) if (slot <= seq) r.log.delete(slot);
  for (const s of r.ownCheckpoints.keys()) if (s <= seq) r.ownCheckpoints.delete(s);
  for (const s of r.checkpointVotes.keys()) if (s <= seq) r.checkpointVotes.delete(s);
  if (r.nextSlot <= seq) r.nextSlot = seq + 1;
}
