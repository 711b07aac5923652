/**
 * Proof of misbehaviour: what a backup does with signed evidence that the leader (or a peer) is
 * faulty. A leader caught equivocating or proposing an invalid batch is suspected at once: the
 * backup persists the new view (normal: false) and broadcasts its VIEW-CHANGE in the same output.
 */
import { describe, expect, it } from 'vitest';
import type { Outputs } from '../../src/core/io.ts';
import type { ClientRequest, ViewChangeMsg } from '../../src/core/messages.ts';
import { batchDigest, Harness, hex, plain } from './harness.ts';

/** The output carries: misbehaviour by `culprit`, then the view change to `view`, VIEW-CHANGE broadcast, no ACCEPT. */
function expectSuspected(h: Harness, id: number, out: Outputs, culprit: number, what: string, view: number): ViewChangeMsg {
  expect(out.events).toEqual([
    { type: 'misbehaviour', culprit, what },
    { type: 'view-change-started', view, reason: `leader misbehaved: ${what}` },
  ]);
  expect(out.persist).toEqual([{ kind: 'view', view, normal: false }]);
  expect(out.send.map((s) => [s.to, s.message.type])).toEqual([['all', 'view-change']]);
  const vc = out.send[0]!.message as ViewChangeMsg;
  expect(vc).toMatchObject({ newView: view, from: id });
  expect(h.auth.verifyReplica(id, h.auth.statements.viewChange(vc), vc.sig)).toBe(true);
  expect(h.r(id).view).toBe(view);
  expect(h.r(id).status).toBe('view-change');
  expect(h.r(id).counters.get('misbehaviour detected')).toBe(1);
  return vc;
}

describe('leader equivocation', () => {
  it('two different PROPOSEs for the same (view, slot) signed by the leader', () => {
    const h = new Harness();
    const r1 = h.put(0, 'a', '1');
    const r2 = h.put(1, 'a', '2');
    const first = h.inject(1, h.propose(0, 1, [r1]));
    expect(first.send.map((s) => s.message.type)).toEqual(['accept']);

    const out = h.inject(1, h.propose(0, 1, [r2]));
    const vc = expectSuspected(h, 1, out, 0, 'two proposals for slot 1 in view 0', 1);
    // The VIEW-CHANGE reports the first proposal as this replica's vote, with the leader's proof.
    expect(vc.slots).toHaveLength(1);
    expect(vc.slots[0]!.slot).toBe(1);
    expect(hex(vc.slots[0]!.lastVote!.digest)).toBe(hex(batchDigest([r1])));
    expect(vc.slots[0]!.lastVote!.view).toBe(0);
    expect(plain(vc.batches)).toEqual(plain([[r1]]));
    // The disk says view 1, not normal: a restart cannot vote in view 0 again.
    expect(h.disks[1]!.view).toBe(1);
    expect(h.disks[1]!.normal).toBe(false);
  });

  it('a leader ACCEPT that contradicts its PROPOSE', () => {
    const h = new Harness();
    const r1 = h.put(0, 'a', '1');
    h.inject(2, h.propose(0, 1, [r1]));
    const out = h.inject(2, h.accept(0, 0, 1, batchDigest([h.put(1, 'b', '1')])));
    expectSuspected(h, 2, out, 0, 'ACCEPT contradicts its proposal for slot 1 in view 0', 1);
  });

  it('a PROPOSE that contradicts the leader\'s earlier ACCEPT', () => {
    const h = new Harness();
    h.inject(2, h.accept(0, 0, 1, batchDigest([h.put(1, 'b', '1')])));
    const out = h.inject(2, h.propose(0, 1, [h.put(0, 'a', '1')]));
    expectSuspected(h, 2, out, 0, 'proposal and ACCEPT disagree for slot 1 in view 0', 1);
  });
});

describe('invalid batches', () => {
  it('a proposal with an invalid client signature inside the batch', () => {
    const h = new Harness();
    const good = h.put(0, 'a', '1');
    const bad: ClientRequest = { ...good, sig: h.clientSigners[2]!.sign(h.auth.statements.request(good)) };
    const out = h.inject(3, h.propose(0, 1, [h.put(1, 'b', '1'), bad]));
    expectSuspected(h, 3, out, 0, "proposed an invalid batch: bad signature on client 0's request 1", 1);
    expect(h.disks[3]!.slots.size).toBe(0); // nothing of that proposal was persisted
  });

  it('a proposal naming one client twice', () => {
    const h = new Harness();
    const out = h.inject(3, h.propose(0, 1, [h.put(0, 'a', '1'), h.put(0, 'a', '2')]));
    expectSuspected(h, 3, out, 0, 'proposed an invalid batch: client 0 appears twice', 1);
  });
});

describe('equivocating backups', () => {
  it('two ACCEPTs from one backup for one (view, slot): misbehaviour, first vote kept, no view change', () => {
    const h = new Harness();
    h.inject(1, h.accept(2, 0, 1, batchDigest([h.put(0, 'a', '1')])));
    const out = h.inject(1, h.accept(2, 0, 1, batchDigest([h.put(0, 'a', '2')])));
    expect(out.events).toEqual([{ type: 'misbehaviour', culprit: 2, what: 'two ACCEPTs for slot 1 in view 0' }]);
    expect(out.send).toEqual([]);
    expect(h.r(1).view).toBe(0);
    expect(h.r(1).status).toBe('normal');
  });

  it('two COMMITs from one backup for one (view, slot)', () => {
    const h = new Harness();
    h.inject(1, h.commit(3, 0, 1, batchDigest([h.put(0, 'a', '1')])));
    const out = h.inject(1, h.commit(3, 0, 1, batchDigest([h.put(0, 'a', '2')])));
    expect(out.events).toEqual([{ type: 'misbehaviour', culprit: 3, what: 'two COMMITs for slot 1 in view 0' }]);
    expect(h.r(1).status).toBe('normal');
  });

  it('f equivocating COMMITs cannot decide the other value', () => {
    const h = new Harness();
    const a = [h.put(0, 'a', '1')];
    const b = [h.put(1, 'a', '2')];
    h.inject(1, h.propose(0, 1, a));
    // Replica 3 (faulty) commits b; with replica 1's own vote unsent, b has 1 < q COMMIT.
    h.inject(1, h.commit(3, 0, 1, batchDigest(b)));
    h.inject(1, h.commit(2, 0, 1, batchDigest(b), 2));
    expect(h.r(1).executed).toBe(0);
    expect(h.persisted(1).filter((p) => p.kind === 'decided')).toEqual([]);
  });
});

describe('a correct leader must not be suspected by correct backups', () => {
  // Regression: the leader used to put two queued requests of one client (different ts) into one
  // batch when they waited together behind the in-flight limit; every correct backup's validateBatch
  // then took the batch as proof against the correct leader and deposed it. One client could
  // depose any leader at will. The leader now puts at most one request per client in a batch.
  it('two queued requests of one client are not put in one batch (no view change)', () => {
    const h = new Harness({ params: { maxInflight: 1 } });
    h.holdWhere((e) => e.message.type === 'accept'); // keep slot 1 in flight
    h.submit(h.put(0, 'k', 'a'), 0); // slot 1
    h.submit(h.put(0, 'k', 'b'), 0); // queued: in-flight limit
    h.submit(h.put(0, 'k', 'c'), 0); // queued
    h.deliverAll();
    h.clearRules();
    h.release();
    h.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(h.eventsOf(id, 'misbehaviour')).toEqual([]);
      expect(h.r(id).view).toBe(0);
    }
    for (let id = 0; id < 4; id++) expect(h.r(id).executed).toBeGreaterThanOrEqual(2);
  });
});
