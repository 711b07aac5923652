/**
 * Bugs the Byzantine strategies found in the core, each pinned by a message-level test through
 * real replicas (test/core/harness.ts).
 */
import { describe, expect, it } from 'vitest';
import { Harness } from '../core/harness.ts';
import { forcedViewChanges } from '../../src/sim/run.ts';
import { run } from './helpers.ts';

describe('found by the forge strategy', () => {
  // A VIEW-CHANGE with a bad signature, naming an honest replica as its sender and a far view,
  // used to erase that replica's real, valid VIEW-CHANGE for a nearer view: the "keep only a
  // sender's highest VIEW-CHANGE" bound ran BEFORE the signature check. With f = 1 the join rule
  // needs two senders, so one forgery kept a correct replica out of a view change it should join.
  it('a forged VIEW-CHANGE naming another sender does not erase that sender’s real one', () => {
    const h = new Harness();
    // Replica 1 really asks for view 1 (validly signed); replica 3 notes it (one sender: no join yet).
    h.inject(3, h.viewChange(1, 1));
    // Byzantine replica 2 forges a VIEW-CHANGE "from replica 1" for view 6, signed with its own key.
    h.inject(3, h.viewChange(1, 6, { signedBy: 2 }));
    expect(h.drops(3)).toContain('view-change: bad signature');
    // Replica 0 asks for view 1 too: two distinct senders want view 1, so replica 3 joins it.
    h.inject(3, h.viewChange(0, 1));
    expect(h.eventsOf(3, 'view-change-started').map((e) => e.view)).toEqual([1]);
    expect(h.r(3).view).toBe(1);
  });
});

describe('found by the vc-lie strategy (seed 1018, forced view changes)', () => {
  // Two correct replicas were changing to view v holding only each other's VIEW-CHANGE (the third
  // correct one's had been lost in a partition; the Byzantine one sent them invalid ones), so
  // their view-change timer — started only once n − f replicas are changing to v — never started.
  // The third correct replica, which had seen n − f for v, timed out into v+1, where it alone
  // (plus the Byzantine one) could not pull them by the join rule (f+1 VALID VIEW-CHANGEs).
  // Nobody could move: stuck for good with one faulty replica. The timer now starts once n − f
  // replicas are changing to v OR LATER: one already past v has given up on every view below it.
  it('the sweep seed is live again', () => {
    const r = run({ seed: 1018, byzantine: [{ id: 1, strategy: 'vc-lie' }], script: forcedViewChanges });
    expect(r.violations).toEqual([]);
    expect(r.live).toBe(true);
  });

  it('message level: replicas stuck in view 1 follow the one already in view 2 (replica 1 silent)', () => {
    const h = new Harness();
    h.crash(1); // the leader of view 1: Byzantine and silent
    // Replica 0's proposals are lost, so the backups time out on a request and ask for view 1...
    h.dropWhere((e) => e.from === 0 && e.message.type === 'propose');
    // ...and replica 0's VIEW-CHANGE for view 1 never reaches replicas 2 and 3.
    h.dropWhere((e) => e.from === 0 && e.message.type === 'view-change' && e.message.newView === 1);
    h.submit(h.put(0, 'k', 'v'), 'all');
    h.deliverAll();
    const t = h.params.requestTimeoutTicks! + 1;
    h.run(t);
    // Replicas 2 and 3 changed to view 1 and joined replica 0 in it; only replica 0 saw n − f = 3
    // VIEW-CHANGEs for view 1, so only its timer runs: it moves on to view 2 alone.
    expect([h.r(0).status, h.r(2).status, h.r(3).status]).toEqual(['view-change', 'view-change', 'view-change']);
    h.run(4 * h.params.viewChangeTimeoutTicks!);
    expect(h.r(0).view).toBe(2);
    h.clearRules(); // the network is fine from now on; replica 1 stays silent
    h.run(8 * h.params.viewChangeTimeoutTicks!);
    // All three correct replicas end up in view 2 (leader 2) and order the request there.
    expect([0, 2, 3].map((id) => [h.r(id).view, h.r(id).status])).toEqual([
      [2, 'normal'],
      [2, 'normal'],
      [2, 'normal'],
    ]);
    expect(h.executed(2).length).toBeGreaterThan(0);
  });
});
