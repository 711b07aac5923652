/**
 * Restart from durable state: the persist ops a replica emitted, applied with `applyPersistOp`
 * to a `DurableState`, are all a rebuilt replica gets. It must not contradict a vote it made
 * before the crash, must keep its view, and must re-execute from its checkpoint to the same state.
 */
import { describe, expect, it } from 'vitest';
import { applyPersistOp, emptyDurableState } from '../../src/core/durable.ts';
import type { ViewChangeMsg } from '../../src/core/messages.ts';
import { batchDigest, Harness, hex, kvResult, plain } from './harness.ts';

describe('votes survive a restart', () => {
  it('after ACCEPTing (v, s, D) a restarted replica refuses a different proposal for (v, s): no second ACCEPT', () => {
    const h = new Harness();
    const a = [h.put(0, 'k', 'a')];
    const b = [h.put(1, 'k', 'b')];
    const first = h.inject(2, h.propose(0, 1, a));
    expect(first.send.map((s) => s.message.type)).toEqual(['accept']);
    expect(h.disks[2]!.slots.get(1)?.proposal?.view).toBe(0);

    h.crash(2);
    const restored = h.restart(2);
    expect(restored.send).toEqual([]); // normal view: nothing to re-send
    expect(h.r(2).view).toBe(0);
    expect(h.r(2).status).toBe('normal');

    const out = h.inject(2, h.propose(0, 1, b));
    expect(out.send.filter((s) => s.message.type === 'accept')).toEqual([]);
    expect(out.events[0]).toEqual({ type: 'misbehaviour', culprit: 0, what: 'two proposals for slot 1 in view 0' });
    // The disk still holds the first vote.
    expect(hex(batchDigest(h.disks[2]!.slots.get(1)!.proposal!.batch))).toBe(hex(batchDigest(a)));
  });

  it('the same proposal again after a restart is a duplicate, not a second vote', () => {
    const h = new Harness();
    const p = h.propose(0, 1, [h.put(0, 'k', 'a')]);
    h.inject(2, p);
    h.restart(2);
    const out = h.inject(2, p);
    expect(out.send).toEqual([]);
    expect(out.events).toEqual([{ type: 'drop', reason: 'duplicate proposal', from: 0 }]);
  });

  it('a replica that sent COMMIT re-derives the identical COMMIT signature after a restart', () => {
    const h = new Harness();
    h.holdWhere((e) => e.message.type === 'commit');
    h.submit(h.put(0, 'k', 'a'), 0);
    h.deliverAll();
    const before = h.sentBy(2, 'commit');
    expect(before).toHaveLength(1);
    expect(h.disks[2]!.slots.get(1)?.commitSent?.view).toBe(0);
    h.restart(2);
    // Retransmission (a tick past the status interval, slot undecided) re-sends the COMMIT.
    h.tick(h.params.statusIntervalTicks!, [2]);
    const after = h.sentBy(2, 'commit');
    expect(after.length).toBeGreaterThan(1);
    expect(hex(after[after.length - 1]!.sig)).toBe(hex(before[0]!.sig));
  });
});

describe('the view survives a restart', () => {
  it('a replica restarted after installing view 1 is in view 1, normal, following replica 1', () => {
    const h = new Harness();
    h.silentLeaderFailover(h.put(0, 'k', 'v'));
    expect(h.r(3).view).toBe(1);
    expect(h.disks[3]!.view).toBe(1);
    expect(h.disks[3]!.normal).toBe(true);
    h.restart(3);
    expect(h.r(3).view).toBe(1);
    expect(h.r(3).status).toBe('normal');
    expect(h.r(3).leader).toBe(1);
    expect(h.r(3).executed).toBe(1); // slot 1 re-executed from the log
    // A view-0 proposal is refused as old.
    expect(h.inject(3, h.propose(0, 2, [h.put(1, 'x', 'y')])).events).toEqual([{ type: 'drop', reason: 'proposal for an old view', from: 0 }]);
  });

  it('a replica restarted mid view change is still changing to that view and re-sends its VIEW-CHANGE', () => {
    const h = new Harness();
    h.inject(3, h.viewChange(1, 1));
    h.inject(3, h.viewChange(2, 1)); // joins view 1
    expect(h.disks[3]).toMatchObject({ view: 1, normal: false });
    const out = h.restart(3);
    expect(h.r(3).view).toBe(1);
    expect(h.r(3).status).toBe('view-change');
    expect(out.send.map((s) => [s.to, s.message.type])).toEqual([['all', 'view-change']]);
    const vc = out.send[0]!.message as ViewChangeMsg;
    expect(vc).toMatchObject({ newView: 1, from: 3 });
    // Ed25519 is deterministic and the evidence the same: the very VIEW-CHANGE it sent before.
    expect(plain(vc)).toEqual(plain(h.broadcastBy(3, 'view-change')[0]));
  });
});

describe('re-execution from the checkpoint', () => {
  it('after executing slots and a checkpoint, a restarted replica re-executes the decided slots above it to the same state digest', () => {
    const h = new Harness({ params: { checkpointInterval: 4, window: 8 } });
    const reqs = Array.from({ length: 6 }, (_, i) => h.put(i % 3, `k${i % 2}`, `v${i}`));
    h.order(...reqs);
    const digest = hex(h.r(2).stateDigest());
    const originals = h.executed(2);
    expect(originals.map((e) => e.slot)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.disks[2]!.checkpoint?.cert.seq).toBe(4);
    expect([...h.disks[2]!.slots.keys()].sort()).toEqual([5, 6]);

    h.crash(2);
    const out = h.restart(2);
    expect(out.executed.map((e) => e.slot)).toEqual([5, 6]);
    expect(plain(out.executed.map((e) => e.applied))).toEqual(plain(originals.slice(4).map((e) => e.applied)));
    expect(h.r(2).executed).toBe(6);
    expect(h.r(2).lowWatermark).toBe(4);
    expect(hex(h.r(2).stateDigest())).toBe(digest);
    expect(hex(h.r(2).stateDigest())).toBe(hex(h.r(0).stateDigest()));
    // The restore outputs are taken once.
    expect(h.r(2).takeRestoreOutputs()).toEqual({ persist: [], send: [], replies: [], executed: [], events: [] });

    // And it carries on: the next request executes at slot 7 everywhere, with the right result.
    h.order(h.get(0, 'k1'));
    for (let id = 0; id < 4; id++) {
      const last = h.executed(id).at(-1)!;
      expect(last.slot).toBe(7);
      expect(kvResult(last.applied[0]!.result)).toEqual({ value: 'v5' });
    }
  });

  it('a DurableState rebuilt op by op from the persist stream equals the harness disk', () => {
    const h = new Harness({ params: { checkpointInterval: 4, window: 8 } });
    h.order(...Array.from({ length: 6 }, (_, i) => h.put(0, 'k', `v${i}`)));
    const rebuilt = emptyDurableState();
    for (const op of h.persisted(1)) applyPersistOp(rebuilt, op);
    expect(plain(rebuilt)).toEqual(plain(h.disks[1]));
    expect(rebuilt.checkpoint?.cert.seq).toBe(4);
    expect([...rebuilt.slots.keys()].sort()).toEqual([5, 6]);
    // Ops at or below the checkpoint are ignored once it is stored.
    applyPersistOp(rebuilt, { kind: 'commit-sent', slot: 3, view: 0, digest: new Uint8Array(32) });
    expect(rebuilt.slots.has(3)).toBe(false);
  });
});
