/**
 * Protocol timers for real processes. The core counts ticks; a replica process ticks every
 * `tickMs` (10 ms by default), so these are 10 ms units. Chosen for a LAN or loopback, where a
 * message takes well under a millisecond and an fsync a few: a leader is suspected after 1 s
 * without progress on a request, the deferred fast path waits 20 ms for its certificate before
 * sending COMMIT, and STATUS gossip (catch-up, retransmission) runs every 200 ms.
 */
import type { ProtocolParams } from '../core/config.ts';

export const realTimeParams: Partial<ProtocolParams> = {
  checkpointInterval: 128,
  window: 256,
  maxInflight: 16,
  maxBatch: 64,
  deferTicks: 2,
  requestTimeoutTicks: 100,
  viewChangeTimeoutTicks: 150,
  statusIntervalTicks: 20,
};
