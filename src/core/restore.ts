/**
 * 8. Restart: rebuilds a replica's memory from what it persisted (durable.ts) before it stopped,
 * re-executes what it can, and re-sends a VIEW-CHANGE it may have crashed before sending.
 */
import { toHex } from '../crypto/bytes.ts';
import { epochOf, leaderOf } from './config.ts';
import type { DurableState } from './durable.ts';
import { maybeExecute } from './execution.ts';
import type { ReplicaState } from './replica-state.ts';
import { SlotState } from './slot.ts';
import { batchDigest } from './statements.ts';
import { buildViewChange, recordViewChange } from './view-change-handlers.ts';

export function restore(r: ReplicaState, d: DurableState): void {
  // The chain of configurations first: the checkpoint may be of a later epoch than genesis.
  for (const link of d.links) {
    const result = r.chain.extend(link, r.config.clusterId);
    if (typeof result === 'string' && result !== 'known') throw new Error(`stored proof of epoch ${link.cert.epoch + 1} does not verify: ${result}`);
  }
  if (d.checkpoint) {
    r.app.restore(d.checkpoint.snapshot);
    r.stableCert = d.checkpoint.cert;
    r.stableSnapshot = d.checkpoint.snapshot;
    r.executed = d.checkpoint.cert.seq;
    const epoch = epochOf(r.app.membership.current.config);
    if (epoch !== r.epoch) r.enterEpoch(epoch);
  }
  r.view = d.view;
  r.status = d.normal ? 'normal' : 'view-change';
  // Without it, a restarted replica could not bring a peer still changing views into this one.
  if (d.normal && d.newView?.view === d.view) r.newViewMsg = d.newView;
  for (const [slotNo, ds] of [...d.slots.entries()].sort((a, b) => a[0] - b[0])) {
    if (slotNo <= r.lowWatermark) continue;
    const s = r.slot(slotNo);
    if (ds.proposal) {
      const digest = batchDigest(ds.proposal.batch);
      const digestHex = toHex(digest);
      s.proposal = { view: ds.proposal.view, digest, digestHex, batch: ds.proposal.batch, sig: ds.proposal.sig };
      s.bodies.set(digestHex, ds.proposal.batch);
      SlotState.record(s.accepts, leaderOf(ds.proposal.view, r.config), { view: ds.proposal.view, digest, digestHex, sig: ds.proposal.sig });
      if (ds.proposal.view === r.view && leaderOf(r.view, r.config) === r.id) r.nextSlot = Math.max(r.nextSlot, slotNo + 1);
    }
    if (ds.prepared) s.prepared = { cert: ds.prepared, digestHex: toHex(ds.prepared.digest), checked: false };
    if (ds.commitSent) {
      // Ed25519 is deterministic: re-signing yields the very signature we sent before the crash.
      const { view, digest } = ds.commitSent;
      const digestHex = toHex(digest);
      const sig = r.auth.signVote('commit', view, slotNo, digest);
      s.commitSent = { view, digestHex, sig };
      SlotState.record(s.commits, r.id, { view, digest, digestHex, sig });
    }
    if (ds.decided) {
      const digestHex = toHex(ds.decided.cert.digest);
      // Restored: it may have been attested by f+1 peers, so a signature that fails in it blames nobody.
      s.decided = { cert: ds.decided.cert, digestHex, restored: true };
      if (ds.decided.batch) s.bodies.set(digestHex, ds.decided.batch);
    }
    r.highestSeen = Math.max(r.highestSeen, slotNo);
  }
  r.nextSlot = Math.max(r.nextSlot, r.executed + 1, r.lowWatermark + 1);
  maybeExecute(r);
  if (r.status === 'view-change') {
    // We may have crashed before our VIEW-CHANGE left: send it (again).
    const vc = buildViewChange(r, r.view);
    recordViewChange(r, vc);
    r.broadcast(vc);
    r.viewChangeDeadline = Infinity;
    r.viewChangeAttempts = 1;
  }
}
