/**
 * Memory stays flat in a long run because everything a replica keeps per slot, per request or
 * per checkpoint is dropped once a stable checkpoint covers it. Counts, not bytes: after 600
 * requests through n = 4 with a checkpoint every 4 slots, every collection is back to (or below)
 * what one window and one session per client need, on the leader and on every backup.
 */
import { describe, expect, it } from 'vitest';
import { Harness } from './harness.ts';

interface Internals {
  log: Map<number, unknown>;
  ownCheckpoints: Map<number, unknown>;
  checkpointVotes: Map<number, unknown>;
  deferred: Map<number, number>;
  queue: unknown[];
  ordering: Set<string>;
  waiting: Map<number, unknown>;
  replyCache: Map<number, unknown>;
  viewChanges: Map<number, unknown>;
  directRequests: { size: number };
  catchUpAnswers: Map<number, unknown>;
}

const CLIENTS = 3;
const WINDOW = 8;

describe('a replica forgets what stable checkpoints cover', () => {
  for (const mode of ['fast', 'classic'] as const) {
    it(`${mode}: after 600 requests every per-slot and per-request collection is bounded by the window and the clients`, () => {
      const h = new Harness({ clients: CLIENTS, params: { mode, checkpointInterval: 4, window: WINDOW } });
      for (let i = 0; i < 600; i++) {
        // Every other request to everyone, so backups also hold clients' own copies.
        h.submit(h.put(i % CLIENTS, `k${i % 5}`, `v${i}`), i % 2 === 0 ? 'all' : undefined);
        h.deliverAll();
        if (i % 50 === 0) h.run(3); // timers too: STATUS gossip, retransmission checks
      }
      h.run(5);
      for (let id = 0; id < 4; id++) {
        const r: Internals = h.r(id).internalsForTests;
        expect(h.r(id).executed).toBe(600);
        expect(r.log.size).toBeLessThanOrEqual(WINDOW);
        expect(r.ownCheckpoints.size).toBeLessThanOrEqual(2);
        expect(r.checkpointVotes.size).toBeLessThanOrEqual(2);
        expect(r.deferred.size).toBe(0);
        expect(r.queue.length).toBe(0);
        expect(r.ordering.size).toBe(0);
        expect(r.waiting.size).toBe(0);
        expect(r.replyCache.size).toBeLessThanOrEqual(CLIENTS);
        expect(r.directRequests.size).toBe(0); // forgotten once executed
        expect(r.catchUpAnswers.size).toBeLessThanOrEqual(3);
        expect(r.viewChanges.size).toBe(0);
      }
    });
  }
});
