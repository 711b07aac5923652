/**
 * 3. Execution: strictly in slot order, only with a decision certificate and the batch it
 * certifies. Each executed slot signs one set of replies, may take a checkpoint, and may let the
 * leader propose more (the in-flight limit counts from `executed`).
 */
import { maybeAdvanceStable, takeCheckpoint } from './checkpoints.ts';
import type { Outputs } from './io.ts';
import type { Batch } from './messages.ts';
import { requestKey, type ReplicaState } from './replica-state.ts';
import { signReplies } from './replies.ts';
import type { SlotState } from './slot.ts';

/** Executes every slot after `executed` that is decided and whose body we hold, in order. */
export function maybeExecute(r: ReplicaState): void {
  for (;;) {
    const s = r.log.get(r.executed + 1);
    if (!s || !s.decided) return;
    const batch = s.body(s.decided.digestHex);
    if (!batch) return; // decided without the body: a peer's DECISION will bring it
    executeSlot(r, s, batch);
  }
}

function executeSlot(r: ReplicaState, s: SlotState, batch: Batch): void {
  const cert = s.decided!.cert;
  const applied: Outputs['executed'][number]['applied'] = [];
  // Read before the batch runs: a change it executes is what makes `next` appear.
  const scheduled = r.app.membership.next;
  for (const request of batch) {
    const outcome = r.app.execute(request, { slot: s.slot, window: r.params.window, checkpointInterval: r.params.checkpointInterval });
    const key = requestKey(request);
    r.ordering.delete(key);
    const w = r.waiting.get(request.clientId);
    if (w && w.request.ts <= request.ts) r.waiting.delete(request.clientId);
    r.directRequests.executed(request.clientId, request.ts);
    if (outcome.kind === 'applied') applied.push({ clientId: request.clientId, ts: request.ts, result: outcome.result });
  }
  // One signature for all of the slot's replies (see replies.ts).
  for (const reply of signReplies(r.auth, r.id, r.view, s.slot, applied)) {
    r.replyCache.set(reply.clientId, reply);
    r.out.replies.push({ clientId: reply.clientId, message: reply });
  }
  r.app.membership.afterSlot(s.slot);
  r.executed = s.slot;
  r.viewChangeAttempts = 0;
  if (!scheduled && r.app.membership.next) {
    const next = r.app.membership.next;
    r.boundaryProgress = { executed: r.executed, since: r.now };
    r.event({ type: 'epoch-scheduled', epoch: next.config.epoch ?? 0, activatesAfter: next.activatedAt, peers: r.peers() });
  }
  r.out.executed.push({ slot: s.slot, view: cert.view, digest: cert.digest, applied, cert, batch, ...(s.decided!.attested ? { attested: true as const } : {}) });
  if (s.slot % r.params.checkpointInterval === 0) takeCheckpoint(r, s.slot);
  if (r.pendingStable && r.pendingStable.seq <= r.executed) {
    const pending = r.pendingStable;
    r.pendingStable = undefined;
    maybeAdvanceStable(r, pending);
  }
  r.triggers.maybePropose();
}
