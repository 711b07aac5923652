/**
 * Protocol timers for real processes. The core counts ticks; a replica process ticks every
 * `tickMs` (10 ms by default), so these are 10 ms units. Chosen for a LAN or loopback, where a
 * message takes well under a millisecond and an fsync a few: a leader is suspected after 1 s
 * without progress on a request, the deferred fast path waits 20 ms for its certificate before
 * sending COMMIT, and STATUS gossip (catch-up, retransmission) runs every 200 ms.
 *
 * One slot in flight at a time: requests that arrive meanwhile wait and go together in the next
 * slot (up to 64), which is what keeps the per-request cost low while the replicas are CPU-bound,
 * as n replicas sharing a few cores are. Measured on this 2-core machine, n = 4 fast, 64 clients:
 * 1, 2 and 4 slots in flight gave 472, 434 and 303 ops/s with no injected delay, 511, 350 and 269
 * ops/s at 5 ms one-way; with 16 clients 300 / 222 / 123 ops/s. (Earlier, 16 slots in flight gave
 * 1.3 requests per slot.) A cluster with a core per replica and a long round trip may want more:
 * set maxInflight in the cluster file's params.
 */
import type { ProtocolParams } from '../core/config.ts';

export const realTimeParams: Partial<ProtocolParams> = {
  checkpointInterval: 128,
  window: 256,
  maxInflight: 1,
  maxBatch: 64,
  deferTicks: 2,
  requestTimeoutTicks: 100,
  relayAfterTicks: 20,
  viewChangeTimeoutTicks: 150,
  statusIntervalTicks: 20,
};
