/**
 * Named membership-change scenarios (issue 12), each with exact outcomes: which slot executed what
 * under which view, which epoch began after which slot with which members, what a refused change
 * replied, and the reason every bad input was dropped with.
 *
 * Most run real replicas message by message (epoch-harness.ts), where the test plays the
 * Byzantine party with its real key; the removed-member strategy runs in the simulator's random
 * schedules. Parameters: checkpoint every 4 slots, window 8 — a change executed at slot s takes
 * effect at B = the first multiple of 4 at or above s + 8 (slot 1 → 12, slot 13 → 24).
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/crypto/bytes.ts';
import { leaderOf } from '../../src/core/config.ts';
import type { ChangeResult } from '../../src/core/membership.ts';
import type { Batch } from '../../src/core/messages.ts';
import { batchDigest } from '../../src/core/statements.ts';
import { SIM_ADMIN_ID, simReplicaKey } from '../../src/sim/simulation.ts';
import { EpochHarness, type Envelope } from './epoch-harness.ts';

// ------------------------------------------------------------------------------------ helpers

const member = (id: number) => ({ id, publicKey: simReplicaKey(id).publicKey, address: '' });
const D = (b: Batch) => batchDigest(b);

/** Every epoch replica `id` started: [epoch, the slot it begins after, its members]. */
function epochsStarted(h: EpochHarness, id: number): [number, number, number[]][] {
  return h.eventsOf(id, 'epoch-started').map((e) => [e.epoch, e.activatedAt, e.config.replicas.map((r) => r.id)]);
}

/** No two of `ids` executed different digests for one slot (restarts re-execute: same digest again). */
function expectAgreement(h: EpochHarness, ids: number[]): void {
  const bySlot = new Map<number, Set<string>>();
  for (const id of ids) for (const e of h.executed(id)) bySlot.set(e.slot, (bySlot.get(e.slot) ?? new Set()).add(toHex(e.digest)));
  expect([...bySlot].filter(([, ds]) => ds.size > 1).map(([s]) => s)).toEqual([]);
}

/** The change result every replica that answered the admin's request `ts` gave, if they all agree. */
function agreedChange(h: EpochHarness, ts: number): { result: ChangeResult | undefined; slot: number; from: number[] } {
  const replies = h.repliesTo(SIM_ADMIN_ID, ts);
  const results = h.changeResults(ts);
  const distinct = new Set([...replies.values()].map((m) => `${m.slot}/${toHex(m.result)}`));
  expect(distinct.size, `replicas answered request ${ts} differently`).toBe(1);
  const any = [...replies.values()][0]!;
  return { result: results.get([...replies.keys()][0]!), slot: any.slot, from: [...replies.keys()].sort((a, b) => a - b) };
}

/** A put by client 0 sent to every replica up; runs until f+1 = 2 replicas answered it alike. */
function putCompletes(h: EpochHarness, value: string): { slot: number; from: number[] } {
  const req = h.kv(0, { op: 'put', key: 'k', value });
  h.submit(req);
  h.runUntil(() => h.repliesTo(0, req.ts).size >= 2);
  const replies = [...h.repliesTo(0, req.ts)];
  expect(new Set(replies.map(([, m]) => `${m.slot}/${toHex(m.result)}`)).size).toBe(1);
  return { slot: replies[0]![1].slot, from: replies.map(([from]) => from).sort((a, b) => a - b) };
}

/** Signers of every certificate replica `id` executed on above `slot`. */
function certSignersAbove(h: EpochHarness, id: number, slot: number): Set<number> {
  return new Set(h.executed(id).filter((e) => e.slot > slot).flatMap((e) => e.cert.sigs.map((s) => s.from)));
}

// ------------------------------------------------------------------------------------ scenarios

describe('(a) a change decided across a view change', () => {
  it('the old leader alone decides the change in view 0 and crashes; view 1 re-proposes it; everyone, the joiner and the restarted leader included, starts epoch 1 after slot 12', () => {
    const h = new EpochHarness();
    h.start(4); // the operator starts the new member first; it follows until an epoch lists it
    const add = h.change({ kind: 'add', member: member(4) });
    // Slot 1's view-0 COMMITs reach only the leader: it alone decides (and executes) the change.
    h.dropWhere((e) => e.message.type === 'commit' && e.message.slot === 1 && e.message.view === 0 && e.to !== 0);
    // It proposes nothing after slot 1 before it crashes.
    h.dropWhere((e) => e.from === 0 && e.message.type === 'propose' && e.message.slot > 1);
    h.submit(add, [0, 1, 2, 3]);
    h.deliverAll();
    expect(h.ids.map((id) => h.r(id).executed)).toEqual([1, 0, 0, 0, 0]);
    expect(h.r(0).membership.next).toMatchObject({ activatedAt: 12 });
    expect([1, 2, 3].map((id) => h.r(id).internalsForTests.log.get(1)?.prepared?.cert.view)).toEqual([0, 0, 0]);

    h.crash(0);
    // The backups time out on the admin's request, change to view 1, and replica 1 re-proposes slot 1.
    h.runUntil(() => [1, 2, 3, 4].every((id) => h.r(id).epoch === 1 && h.r(id).status === 'normal'));
    expect(h.eventsOf(1, 'new-view-installed')[0]).toMatchObject({ view: 1, leader: 1, reproposed: 1 });
    h.restart(0);
    h.runUntil(() => h.r(0).epoch === 1 && h.r(0).status === 'normal');

    // Slot 1: the same change everywhere — decided in view 0 at the old leader, in view 1 at the others.
    const slot1 = (id: number) => h.executed(id).filter((e) => e.slot === 1).map((e) => [e.view, toHex(e.digest)]);
    expect(slot1(0)).toEqual([[0, toHex(D([add]))], [0, toHex(D([add]))]]); // again after its restart
    for (const id of [1, 2, 3]) expect(slot1(id)).toEqual([[1, toHex(D([add]))]]);
    // Same boundary, same configuration, on every replica (replica 4 through state transfer).
    for (const id of [0, 1, 2, 3, 4]) expect(epochsStarted(h, id)).toEqual([[1, 12, [0, 1, 2, 3, 4]]]);
    for (const id of [0, 1, 2, 3, 4]) expect(toHex(h.r(id).membership.encode())).toBe(toHex(h.r(1).membership.encode()));
    expect(agreedChange(h, add.ts).result).toEqual({ ok: true, epoch: 1, activatesAfter: 12 });
    // Epoch 1 starts with a view change: view 2, led by replicas[2 mod 5] = 2, a member.
    expect(h.ids.map((id) => [h.r(id).view, h.r(id).leader])).toEqual([[2, 2], [2, 2], [2, 2], [2, 2], [2, 2]]);
    expect(putCompletes(h, 'after').slot).toBe(13);
    expectAgreement(h, [0, 1, 2, 3, 4]);
  });
});

describe('(b) changes no admin signed, and stale ones', () => {
  /** Replica 0, the leader of view 0, is Byzantine: the test signs its PROPOSE for slot 1. */
  function byzantineLeaderProposes(h: EpochHarness, batch: Batch): void {
    h.crash(0);
    const sig = h.sign(0, h.statements(0).vote('accept', 0, 1, D(batch)));
    for (const id of [1, 2, 3]) h.inject(id, { type: 'propose', view: 0, slot: 1, batch, sig });
    h.deliverAll();
  }

  it('a change under the admin id with a zero signature, or signed by a client key: the batch is refused, the leader blamed, nothing changes', () => {
    const { config } = new EpochHarness();
    for (const forged of ['zero signature', "client 0's key"]) {
      const h = new EpochHarness();
      const real = h.change({ kind: 'remove', id: 3 });
      const sig = forged === 'zero signature' ? new Uint8Array(64) : h.clientSigner(0).sign(h.statements(0).request(real));
      byzantineLeaderProposes(h, [{ ...real, sig }]);
      for (const id of [1, 2, 3]) {
        expect(h.eventsOf(id, 'misbehaviour')).toEqual([{ type: 'misbehaviour', culprit: 0, what: `proposed an invalid batch: bad signature on client ${SIM_ADMIN_ID}'s request 1` }]);
        expect(h.eventsOf(id, 'view-change-started')[0]).toMatchObject({ view: 1 });
      }
      h.runUntil(() => [1, 2, 3].every((id) => h.r(id).view === 1 && h.r(id).status === 'normal'));
      // View 1 had no evidence for slot 1: a client's put takes it; the configuration is genesis.
      expect(putCompletes(h, 'v').slot).toBe(1);
      for (const id of [1, 2, 3]) {
        expect(h.r(id).epoch).toBe(0);
        expect(h.r(id).membership.next).toBeUndefined();
        expect(h.r(id).configuration.replicas.map((r) => r.id)).toEqual(config.replicas.map((r) => r.id));
      }
    }
  });

  it('a change validly signed by a client that is not an admin is ordered and answered "not an admin"; nothing changes', () => {
    const h = new EpochHarness();
    const op = h.change({ kind: 'remove', id: 3 }).op;
    const byClient = h.signedRequest(0, op, h.clientSigner(0));
    byzantineLeaderProposes(h, [byClient]);
    expect([1, 2, 3].map((id) => h.r(id).executed)).toEqual([1, 1, 1]);
    const replies = h.changeResults(byClient.ts, 0);
    expect([...replies.keys()].sort()).toEqual([1, 2, 3]);
    for (const r of replies.values()) expect(r).toEqual({ ok: false, error: 'client 0 is not an admin of epoch 0' });
    for (const id of [1, 2, 3]) {
      expect(h.r(id).membership.next).toBeUndefined();
      expect(h.eventsOf(id, 'epoch-scheduled')).toEqual([]);
      expect(h.eventsOf(id, 'misbehaviour')).toEqual([]);
    }
  });

  it('a change replayed after it executed: a Byzantine leader re-proposes it (executed as a duplicate: no reply, no second schedule), an honest one re-sends the cached answer, an older one is dropped', () => {
    const h = new EpochHarness();
    const rotate3 = h.change({ kind: 'rotate-key', id: 3, publicKey: simReplicaKey(3, 1).publicKey });
    h.crash(0);
    const propose = (slot: number, batch: Batch) => {
      const sig = h.sign(0, h.statements(0).vote('accept', 0, slot, D(batch)));
      for (const id of [1, 2, 3]) h.inject(id, { type: 'propose', view: 0, slot, batch, sig });
      h.deliverAll();
    };
    propose(1, [rotate3]);
    propose(2, [rotate3]); // the replay
    for (const id of [1, 2, 3]) {
      expect(h.executed(id).map((e) => [e.slot, e.applied.map((a) => `${a.clientId}:${a.ts}`)])).toEqual([[1, [`${SIM_ADMIN_ID}:1`]], [2, []]]);
      expect(h.eventsOf(id, 'epoch-scheduled').map((e) => [e.epoch, e.activatesAfter])).toEqual([[1, 12]]);
    }
    expect(h.repliesTo(SIM_ADMIN_ID, 1).size).toBe(3); // slot 1's answers only
    expect(agreedChange(h, 1)).toEqual({ result: { ok: true, epoch: 1, activatesAfter: 12 }, slot: 1, from: [1, 2, 3] });
    // The Byzantine leader stops short of the boundary: suspected, replaced; epoch 1 begins after slot 12.
    h.runUntil(() => [1, 2, 3].every((id) => h.r(id).epoch === 1 && h.r(id).status === 'normal'));
    for (const id of [1, 2, 3]) expect(epochsStarted(h, id)).toEqual([[1, 12, [0, 1, 2, 3]]]);

    // The admin re-sends it: every replica answers the cached result of slot 1 again.
    const before = h.replies.length;
    h.submit(rotate3, [1, 2, 3]);
    expect(h.replies.slice(before).map((r) => [r.from, r.message.slot, h.changeResults(1).get(r.from)])).toEqual(
      [1, 2, 3].map((id) => [id, 1, { ok: true, epoch: 1, activatesAfter: 12 }]),
    );
    // After a later change executed, the old one is older than the session: dropped, with the reason.
    const rotate2 = h.change({ kind: 'rotate-key', id: 2, publicKey: simReplicaKey(2, 1).publicKey });
    h.submit(rotate2, [1, 2, 3]);
    h.runUntil(() => h.repliesTo(SIM_ADMIN_ID, rotate2.ts).size >= 2);
    h.submit(rotate3, [1, 2, 3]);
    for (const id of [1, 2, 3]) expect(h.drops(id).filter((d) => d.startsWith('request older'))).toEqual(['request older than the last executed one']);
    expect(agreedChange(h, rotate2.ts).result).toMatchObject({ ok: true, epoch: 2 });
  });

  it('a change the admin signed for epoch 0 and held back executes in epoch 1 as an error naming the epoch; nothing changes', () => {
    const h = new EpochHarness({ n: 5 });
    const remove4 = h.change({ kind: 'remove', id: 4 });
    const rotate4 = h.change({ kind: 'rotate-key', id: 4, publicKey: simReplicaKey(4, 1).publicKey }); // signed now, sent later
    h.submit(remove4, [0, 1, 2, 3, 4]);
    h.runUntil(() => [0, 1, 2, 3].every((id) => h.r(id).epoch === 1 && h.r(id).status === 'normal'));
    const config1 = toHex(h.r(0).membership.encode());
    h.submit(rotate4, [0, 1, 2, 3]);
    h.runUntil(() => h.repliesTo(SIM_ADMIN_ID, rotate4.ts).size >= 2);
    expect(agreedChange(h, rotate4.ts).result).toEqual({ ok: false, error: 'replica 4 is not a member of epoch 1' });
    for (const id of [0, 1, 2, 3]) {
      expect(h.r(id).membership.next).toBeUndefined();
      expect(toHex(h.r(id).membership.encode())).toBe(config1);
    }
  });
});

describe('(c) two changes in flight', () => {
  it('the second is answered "pending until slot 12; retry" and changes nothing; resubmitted after the boundary it takes effect after slot 24', () => {
    const h = new EpochHarness();
    const rotate1 = h.change({ kind: 'rotate-key', id: 1, publicKey: simReplicaKey(1, 1).publicKey });
    const rotate2 = h.change({ kind: 'rotate-key', id: 2, publicKey: simReplicaKey(2, 1).publicKey });
    // Both reach the leader together: slot 1 and slot 2 (one request per client per batch).
    h.submit(rotate1, [0]);
    h.submit(rotate2, [0]);
    h.deliverAll();
    expect(agreedChange(h, 1)).toEqual({ result: { ok: true, epoch: 1, activatesAfter: 12 }, slot: 1, from: [0, 1, 2, 3] });
    expect(agreedChange(h, 2)).toEqual({ result: { ok: false, error: 'a change to epoch 1 is pending until slot 12; retry after it takes effect' }, slot: 2, from: [0, 1, 2, 3] });
    // Epoch 1 is the first change alone: replica 1's key rotated, replica 2's not.
    const keys = (id: number) => h.r(id).configuration.replicas.map((r) => toHex(r.publicKey));
    const expected1 = [0, 1, 2, 3].map((id) => toHex(simReplicaKey(id, id === 1 ? 1 : 0).publicKey));
    for (const id of [0, 1, 2, 3]) {
      expect(epochsStarted(h, id)).toEqual([[1, 12, [0, 1, 2, 3]]]);
      expect(keys(id)).toEqual(expected1);
      expect(h.r(id).membership.next).toBeUndefined();
      expect(h.eventsOf(id, 'epoch-scheduled').map((e) => e.epoch)).toEqual([1]);
    }
    // Resubmitted (a new request number) once epoch 1 runs: slot 13, boundary 24.
    const again = h.change({ kind: 'rotate-key', id: 2, publicKey: simReplicaKey(2, 1).publicKey });
    h.submit(again);
    h.runUntil(() => [0, 1, 2, 3].every((id) => h.r(id).epoch === 2 && h.r(id).status === 'normal'));
    expect(agreedChange(h, again.ts)).toEqual({ result: { ok: true, epoch: 2, activatesAfter: 24 }, slot: 13, from: [0, 1, 2, 3] });
    const expected2 = [0, 1, 2, 3].map((id) => toHex(simReplicaKey(id, id === 1 || id === 2 ? 1 : 0).publicKey));
    for (const id of [0, 1, 2, 3]) {
      expect(epochsStarted(h, id)).toEqual([[1, 12, [0, 1, 2, 3]], [2, 24, [0, 1, 2, 3]]]);
      expect(keys(id)).toEqual(expected2);
    }
    expectAgreement(h, [0, 1, 2, 3]);
  });
});

describe('(d) removing the current leader', () => {
  it('n=5: the admin removes replica 0 while it leads; epoch 1 = {1,2,3,4} after slot 12, led by replica 2; replica 0 stops voting and signs no certificate above 12', () => {
    const h = new EpochHarness({ n: 5 });
    const remove0 = h.change({ kind: 'remove', id: 0 });
    h.submit(remove0);
    h.runUntil(() => [1, 2, 3, 4].every((id) => h.r(id).epoch === 1 && h.r(id).status === 'normal'));
    expect(agreedChange(h, remove0.ts).result).toEqual({ ok: true, epoch: 1, activatesAfter: 12 });
    for (const id of [0, 1, 2, 3, 4]) expect(epochsStarted(h, id)).toEqual([[1, 12, [1, 2, 3, 4]]]);
    // The new epoch's first view: view 1, led by replicas[1 mod 4] = 2.
    for (const id of [1, 2, 3, 4]) expect([h.r(id).view, h.r(id).leader]).toEqual([1, 2]);
    expect(leaderOf(1, h.r(1).configuration)).toBe(2);
    expect(h.r(0).isMember).toBe(false);
    expect(h.r(0).isLeader).toBe(false);
    const votesFrom0 = h.sentBy(0).length;

    // Live: three puts complete in epoch 1, answered by its members.
    const puts = ['x', 'y', 'z'].map((v) => putCompletes(h, v));
    expect(puts.map((p) => p.slot)).toEqual([13, 14, 15]);
    for (const p of puts) expect(p.from.every((id) => id !== 0)).toBe(true);
    // Replica 0 signs nothing for epoch 1 (no vote, checkpoint or view change), and counts in no certificate.
    const after = h.sentBy(0).slice(votesFrom0);
    expect(after.filter((m) => m.type !== 'status')).toEqual([]);
    for (const id of [1, 2, 3, 4]) expect([...certSignersAbove(h, id, 12)].every((s) => s !== 0)).toBe(true);
    for (const id of [1, 2, 3, 4]) expect(h.r(id).executed).toBe(15);
    expectAgreement(h, [0, 1, 2, 3, 4]);
  });
});

describe('regressions', () => {
  // Found by a membership-change scenario: replica 3, cut off short of the boundary, suspected its leader and
  // moved to view 1 of epoch 0; the others began epoch 1 with a view change to view 1 too. Its
  // state transfer into epoch 1 left it waiting for a NEW-VIEW, but peers re-send theirs only to
  // a STATUS naming a lower view, or to a VIEW-CHANGE for their view — and it sent none: it never
  // voted again. It now announces a VIEW-CHANGE for the view it is in.
  it('a member that moved to view v of the old epoch and enters the new one, also in view v, by state transfer installs the view', () => {
    const h = new EpochHarness();
    const slotOf = (m: Envelope['message']) =>
      m.type === 'propose' || m.type === 'accept' || m.type === 'commit' ? m.slot : m.type === 'checkpoint' ? m.seq : m.type === 'decision' ? m.cert.slot : m.type === 'request' ? 0 : Infinity;
    const lag = h.dropWhere((e) => e.to === 3 && slotOf(e.message) > 8);
    h.submit(h.change({ kind: 'rotate-key', id: 1, publicKey: simReplicaKey(1, 1).publicKey }));
    h.runUntil(() => [0, 1, 2].every((id) => h.r(id).epoch === 1 && h.r(id).status === 'normal') && h.r(3).view === 1);
    expect([0, 1, 2].map((id) => [h.r(id).view, h.r(id).leader])).toEqual([[1, 1], [1, 1], [1, 1]]);
    expect([h.r(3).epoch, h.r(3).view, h.r(3).status, h.r(3).executed]).toEqual([0, 1, 'view-change', 8]);
    expect(h.eventsOf(3, 'view-change-started')).toEqual([{ type: 'view-change-started', view: 1, reason: 'no progress towards the epoch boundary at slot 12' }]);

    lag();
    h.runUntil(() => h.r(3).epoch === 1 && h.r(3).status === 'normal');
    expect(h.eventsOf(3, 'view-change-started').map((e) => [e.view, e.reason])).toEqual([
      [1, 'no progress towards the epoch boundary at slot 12'],
      [1, 'entered epoch 1 by state transfer'],
    ]);
    expect(h.eventsOf(3, 'new-view-installed')).toEqual([{ type: 'new-view-installed', view: 1, leader: 1, reproposed: 0 }]);
    // And it votes again: a put is executed by all four.
    const put = putCompletes(h, 'v');
    h.runUntil(() => h.r(3).executed === put.slot);
    expect(h.executed(3).filter((e) => e.slot === put.slot)[0]!.cert.sigs.length).toBe(3);
    expectAgreement(h, [0, 1, 2, 3]);
  });
});
