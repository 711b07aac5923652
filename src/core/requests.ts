/**
 * 1. Client requests: a backup relays a request to the leader and starts suspecting it; the
 * leader batches queued requests into the free slots of its window and proposes them.
 */
import type { Batch, ClientRequest, ProposeMsg, ReplyMsg } from './messages.ts';
import { maybePrepareOrDecideFast, recordProposal } from './normal-case.ts';
import { requestKey, type ReplicaState } from './replica-state.ts';
import { signReplies } from './replies.ts';
import { batchDigest } from './statements.ts';

/**
 * `onOwnChannel`: the request came on its client's own authenticated channel. Then only the
 * leader checks its signature; a backup remembers its digest (see request-checks.ts).
 */
export function handleRequest(r: ReplicaState, request: ClientRequest, onOwnChannel = false): void {
  if (!r.member) return r.drop('request to a replica that is not a member of the current epoch', request.clientId);
  if (!r.auth.isClient(request.clientId)) return r.drop('request from unknown client', request.clientId);
  const session = r.app.session(request.clientId);
  if (session && request.ts < session.ts) return r.drop('request older than the last executed one', request.clientId);
  // Before anything else, cached replies included, only the client itself may make us answer (and
  // sign) on its behalf: its signature is checked, or its own channel carried the request.
  const checked = r.isLeader || !onOwnChannel;
  if (checked && !r.auth.verifyRequest(request)) return r.drop('bad client signature', request.clientId);
  if (session && request.ts === session.ts) {
    // A retransmission: the client lost our reply. Answer again; never execute twice.
    r.out.replies.push({ clientId: request.clientId, message: replyFor(r, request.clientId, session.ts, session.slot, session.result) });
    return;
  }

  const key = requestKey(request);
  if (r.isLeader) {
    if (!r.ordering.has(key)) {
      r.ordering.add(key);
      r.queue.push(request);
      maybePropose(r);
    }
    return;
  }
  // A backup starts suspecting the leader. It relays the request to the leader at once if it did
  // not come from its client, else only if no PROPOSE carries it within relayAfterTicks
  // (timers.ts): a client that sends to a backup (on retry, or with requestsToAll) sends to the
  // leader too, which almost always has it.
  if (!checked) r.directRequests.note(request);
  const pending = r.waiting.get(request.clientId);
  const relayNow = !onOwnChannel && r.status === 'normal';
  if (!pending || pending.request.ts < request.ts) {
    r.waiting.set(request.clientId, { request, since: r.now, checked, relayed: relayNow });
  }
  if (relayNow) r.send(r.leader, { type: 'request', request });
}

/** The leader fills free slots in the window with batches of queued requests. */
export function maybePropose(r: ReplicaState): void {
  while (r.isLeader && (r.queue.length > 0 || (r.epochEnd !== Infinity && r.nextSlot <= r.epochEnd)) && r.nextSlot - 1 - r.executed < r.params.maxInflight && r.nextSlot <= r.highWatermark) {
    // With nothing queued, a pending membership change still needs the slots up to its boundary
    // decided: they are filled with empty batches (see membership.ts).
    propose(r, r.nextSlot++, takeBatch(r));
  }
}

/**
 * Up to maxBatch queued requests, at most one per client: backups reject a batch naming a
 * client twice (a correct leader never sends one), so a client with two requests queued must
 * not get its leader deposed. Its later request waits for the next slot.
 */
function takeBatch(r: ReplicaState): Batch {
  const batch: Batch = [];
  const clients = new Set<number>();
  for (let i = 0; i < r.queue.length && batch.length < r.params.maxBatch; ) {
    const req = r.queue[i]!;
    if (clients.has(req.clientId)) {
      i++;
      continue;
    }
    clients.add(req.clientId);
    batch.push(req);
    r.queue.splice(i, 1);
  }
  return batch;
}

/** Signs, records and broadcasts one proposal as the leader. */
function propose(r: ReplicaState, slot: number, batch: Batch): void {
  const digest = batchDigest(batch);
  const sig = r.auth.signVote('accept', r.view, slot, digest);
  const msg: ProposeMsg = { type: 'propose', view: r.view, slot, batch, sig };
  recordProposal(r, msg, digest);
  r.broadcast(msg);
  maybePrepareOrDecideFast(r, slot);
}

/** Our signed reply to a request already executed: the cached one if still current, else signed anew. */
function replyFor(r: ReplicaState, clientId: number, ts: number, slot: number, result: Uint8Array): ReplyMsg {
  const cached = r.replyCache.get(clientId);
  if (cached && cached.ts === ts && cached.view === r.view) return cached;
  const [reply] = signReplies(r.auth, r.id, r.view, slot, [{ clientId, ts, result }]) as [ReplyMsg];
  r.replyCache.set(clientId, reply);
  return reply;
}
