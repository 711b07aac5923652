/**
 * 7. Timers: one `tick` input advances `now`. It fires the view-change timeout and the request
 * timeout (suspecting the leader), the deferred fast-path fallback, STATUS gossip,
 * retransmission of our own votes, and re-sending our CHECKPOINTs.
 */
import { sendStatus } from './catch-up.ts';
import { sendCommit } from './normal-case.ts';
import type { ReplicaState } from './replica-state.ts';
import { SlotState } from './slot.ts';
import { startViewChange } from './view-change-handlers.ts';

export function handleTick(r: ReplicaState): void {
  r.now++;
  if (r.status === 'view-change') {
    if (r.now >= r.viewChangeDeadline) startViewChange(r, r.view + 1, 'no NEW-VIEW before the timeout');
  } else if (!r.isLeader && r.member) {
    for (const [clientId, w] of r.waiting) {
      if (!w.relayed && r.now - w.since >= r.params.relayAfterTicks && r.status === 'normal') {
        w.relayed = true;
        r.send(r.leader, { type: 'request', request: w.request });
      }
      if (r.now - w.since < r.params.requestTimeoutTicks) continue;
      // Taken unchecked from its client's channel: check it before blaming the leader, which
      // rightly dropped it if the signature is bad (request-checks.ts).
      if (!w.checked && !(w.checked = r.auth.verifyRequest(w.request))) {
        r.waiting.delete(clientId);
        r.drop('bad client signature (checked before suspecting the leader)', clientId);
        continue;
      }
      startViewChange(r, r.view + 1, `request ${w.request.clientId}:${w.request.ts} not executed in time`);
      break;
    }
    if (r.status === 'normal') suspectLeaderShortOfBoundary(r);
  }
  if (r.deferred.size > 0) commitMissedFastSlots(r);
  if (r.now - r.lastStatus >= r.params.statusIntervalTicks) {
    const stalled = r.executed === r.executedAtLastStatus;
    r.executedAtLastStatus = r.executed;
    const behind = (stalled && (r.highestSeen > r.executed || r.waiting.size > 0)) || r.status === 'view-change';
    // Behind or waiting: ask every interval. Otherwise a slow heartbeat still finds what we don't know we miss.
    if (behind || r.now - r.lastStatus >= 8 * r.params.statusIntervalTicks) sendStatus(r);
    if (r.status === 'normal' && r.member) retransmit(r);
    // CHECKPOINTs may be lost too, and without a stable checkpoint the window never moves.
    for (const [seq, cp] of r.ownCheckpoints) {
      if (seq > r.lowWatermark && cp.sig) r.broadcast({ type: 'checkpoint', seq, stateDigest: cp.digest, from: r.id, sig: cp.sig });
    }
  }
}

/**
 * A membership change waits for the slots up to its boundary to be decided, and the leader fills
 * them with empty batches when no request is waiting. A leader that does not is suspected like
 * one that sits on a request: otherwise a Byzantine leader could hold a change back for ever.
 */
function suspectLeaderShortOfBoundary(r: ReplicaState): void {
  if (r.epochEnd === Infinity || r.executed >= r.epochEnd) return;
  if (r.executed !== r.boundaryProgress.executed) {
    r.boundaryProgress = { executed: r.executed, since: r.now };
    return;
  }
  if (r.now - r.boundaryProgress.since >= r.params.requestTimeoutTicks) {
    r.boundaryProgress.since = r.now;
    startViewChange(r, r.view + 1, `no progress towards the epoch boundary at slot ${r.epochEnd}`);
  }
}

/**
 * Deferred policy: a prepared slot whose fast certificate did not complete in time falls back
 * to COMMIT. After `fastMissLimit` misses in a row (a slow or silent replica), stop waiting for
 * a while: at n = 3f+1 one slow replica is enough to make every fast certificate miss.
 */
function commitMissedFastSlots(r: ReplicaState): void {
  for (const [slotNo, deadline] of r.deferred) {
    if (deadline > r.now) continue;
    r.deferred.delete(slotNo);
    const s = r.log.get(slotNo);
    if (!s || s.decided || !s.prepared || r.status !== 'normal') continue;
    sendCommit(r, s, s.prepared.cert.view, s.prepared.cert.digest, s.prepared.digestHex);
    r.count('fast path misses');
    if (++r.fastMisses >= r.params.fastMissLimit) {
      r.fastMisses = 0;
      // The pause covers the `classicSlotsAfterFallback` slots after the highest one in use
      // (nextSlot is the next free one, so nextSlot − 1; without the −1 a leader paused one slot more than its backups).
      r.fastPausedThrough = Math.max(r.highestSeen, r.nextSlot - 1) + r.params.classicSlotsAfterFallback;
      r.count('fast path fallbacks');
      r.event({ type: 'fast-path-fallback', through: r.fastPausedThrough, reason: `${r.params.fastMissLimit} slots in a row missed the fast certificate` });
    }
  }
}

/** Re-sends our own messages for slots that stopped making progress (messages may be lost). */
function retransmit(r: ReplicaState): void {
  for (const s of r.log.values()) {
    if (s.decided || r.now - s.lastActivity < r.params.statusIntervalTicks) continue;
    s.lastActivity = r.now;
    const p = s.proposal;
    if (!p || p.view !== r.view) continue;
    if (r.isLeader) {
      r.broadcast({ type: 'propose', view: p.view, slot: s.slot, batch: p.batch, sig: p.sig });
    } else {
      const own = s.accepts.get(r.id);
      const sig = own && own.view === p.view ? own.sig : r.auth.signVote('accept', p.view, s.slot, p.digest);
      SlotState.record(s.accepts, r.id, { view: p.view, digest: p.digest, digestHex: p.digestHex, sig });
      r.broadcast({ type: 'accept', view: p.view, slot: s.slot, digest: p.digest, from: r.id, sig });
    }
    if (s.commitSent) {
      const c = s.commitSent;
      const digest = s.commits.get(r.id)?.digest;
      if (digest) r.broadcast({ type: 'commit', view: c.view, slot: s.slot, digest, from: r.id, sig: c.sig });
    }
  }
}
