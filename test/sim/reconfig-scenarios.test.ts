/**
 * Named membership-change scenarios (issue 12), each with exact outcomes: which slot executed what
 * under which view, which epoch began after which slot with which members, what a refused change
 * replied, and the reason every bad input was dropped with.
 *
 * Most run real replicas message by message (epoch-harness.ts), where the test plays the
 * Byzantine party with its real key; the removed-member strategy (src/faults/removed-member.ts)
 * runs in the simulator's random schedules. Every core bug these found has a regression test at
 * the end. Parameters: checkpoint every 4 slots, window 8 — a change executed at slot s takes
 * effect at B = the first multiple of 4 at or above s + 8 (slot 1 → 12, slot 13 → 24).
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/crypto/bytes.ts';
import { leaderOf } from '../../src/core/config.ts';
import { Membership, type ChangeResult } from '../../src/core/membership.ts';
import type { Batch, EpochLink, ReplicaMessage } from '../../src/core/messages.ts';
import { stateDigestOf } from '../../src/core/replicated-state.ts';
import { batchDigest, type Statements } from '../../src/core/statements.ts';
import { simCommand } from '../../src/cli/sim.ts';
import type { RemovedMemberNode } from '../../src/faults/removed-member.ts';
import { defaultSimOptions, SIM_ADMIN_ID, Simulation, simReplicaKey } from '../../src/sim/simulation.ts';
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

/** The slot a message is about (0 for a request, Infinity for views, STATUS and STATE): to cut a replica off above a slot. */
function slotOf(m: Envelope['message']): number {
  if (m.type === 'propose' || m.type === 'accept' || m.type === 'commit') return m.slot;
  if (m.type === 'checkpoint') return m.seq;
  if (m.type === 'decision') return m.cert.slot;
  return m.type === 'request' ? 0 : Infinity;
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
        expect(h.r(id).configuration.replicas.map((r) => r.id)).toEqual([0, 1, 2, 3]);
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

describe('(e) a joining replica fed a forged configuration chain', () => {
  it('every forged proof of epoch 1 is dropped with its reason; the joiner then joins through the honest members', () => {
    const h = new EpochHarness();
    h.start(4);
    h.crash(3); // Byzantine: the test sends its forgeries, signed with its real key
    const cut = h.dropWhere((e) => e.to === 4);
    const add = h.change({ kind: 'add', member: member(4) });
    h.submit(add, [0, 1, 2]);
    // Epoch 1 = {0,1,2,3,4} begins after slot 12; its first view needs 4 VIEW-CHANGEs, so it waits for the joiner.
    h.runUntil(() => [0, 1, 2].every((id) => h.r(id).epoch === 1));
    const honest = h.r(0).epochLinks[0]!;
    const { stableCert, stableSnapshot } = h.r(0).internalsForTests;
    expect(stableCert).toMatchObject({ epoch: 0, seq: 12 });
    expect(honest.cert).toMatchObject({ epoch: 0, seq: 12 });

    const e0 = h.statements(0);
    const e1 = h.statements(1);
    const digest = honest.cert.stateDigest;
    const certBy = (signers: number[], statements = e0, epoch = 0) => ({ epoch, seq: 12, stateDigest: digest, sigs: signers.map((from) => ({ from, sig: h.sign(from, statements.checkpoint(12, digest)) })) });
    const membershipWith = (edit: (m: Membership) => void) => {
      const m = Membership.decode(honest.membership, h.config.clusterId);
      edit(m);
      return m.encode();
    };
    const forgeries: [string, EpochLink, string][] = [
      ['signed by non-members', { ...honest, cert: certBy([5, 6, 7]) }, 'configuration proof: certificate signer 5 is not a member of epoch 0'],
      ['signed by too few members', { ...honest, cert: certBy([0, 1]) }, 'configuration proof: checkpoint certificate has 2 signatures, needs 3'],
      ['signed by members for epoch 1', { ...honest, cert: certBy([0, 1, 2], e1) }, 'configuration proof: checkpoint certificate: bad signature from replica 0'],
      ['certified as epoch 1', { ...honest, cert: certBy([0, 1, 2], e1, 1) }, 'configuration proof for epoch 1 certified by epoch 1'],
      ['certified at another checkpoint', { ...honest, cert: { ...honest.cert, seq: 8 } }, 'configuration proof: certificate at 8, boundary at 12'],
      [
        'membership not the certified one (an extra member 9)',
        { ...honest, membership: membershipWith((m) => (m.current.config = { ...m.current.config, n: 6, replicas: [...m.current.config.replicas, member(9)] })) },
        'configuration proof: membership does not match the certified state',
      ],
      ['skipping to epoch 2', { ...honest, membership: membershipWith((m) => (m.current.config = { ...m.current.config, epoch: 2 })) }, 'configuration proof for epoch 2, but the next one here is 1'],
    ];
    const snapshotDigest = stateDigestOf(stableSnapshot!)!;
    for (const [what, link, reason] of forgeries) {
      const out = h.inject(4, { type: 'state', links: [link], checkpoint: stableCert, snapshot: stableSnapshot!, from: 3, sig: h.sign(3, e0.state(3, 12, snapshotDigest)) });
      expect(out.events, what).toEqual([{ type: 'drop', reason: `STATE: ${reason}`, from: 3 }]);
      expect(out.persist, what).toEqual([]);
      expect([h.r(4).epoch, h.r(4).isMember, h.r(4).executed, h.r(4).epochLinks.length], what).toEqual([0, false, 0, 0]);
    }

    // The honest members' STATE brings the real proof.
    cut();
    h.runUntil(() => [0, 1, 2, 4].every((id) => h.r(id).epoch === 1 && h.r(id).status === 'normal'));
    expect(h.r(4).isMember).toBe(true);
    expect(plainLink(h.r(4).epochLinks[0]!)).toEqual(plainLink(honest));
    expect(epochsStarted(h, 4)).toEqual([[1, 12, [0, 1, 2, 3, 4]]]);
    const put = putCompletes(h, 'joined');
    h.runUntil(() => h.r(4).executed >= put.slot);
    expectAgreement(h, [0, 1, 2, 4]);
  });
});

describe('(f) a removed member replaying old-epoch votes ("I still work here")', () => {
  it('n=5: replica 4 is removed at epoch 0; what it signs for epoch 1 and its replayed epoch-0 votes are dropped with their reasons; no certificate includes it', () => {
    const h = new EpochHarness({ n: 5 });
    // Replica 3 stops at slot 8 (checkpoint 8 stable): a member still in epoch 0, its window (8, 12].
    const lag = h.dropWhere((e) => e.to === 3 && slotOf(e.message) > 8);
    const remove4 = h.change({ kind: 'remove', id: 4 });
    h.submit(remove4);
    h.runUntil(() => [0, 1, 2].every((id) => h.r(id).epoch === 1 && h.r(id).status === 'normal') && h.r(4).epoch === 1);
    expect([h.r(3).epoch, h.r(3).executed, h.r(3).lowWatermark, h.r(3).highWatermark]).toEqual([0, 8, 8, 12]);
    expect(h.r(4).isMember).toBe(false);
    for (const id of [0, 1, 2, 4]) expect(epochsStarted(h, id)).toEqual([[1, 12, [0, 1, 2, 3]]]);

    // From here the test plays replica 4, with its real key.
    h.crash(4);
    const genuine = h.sentBy(4).filter((m) => m.type === 'accept' || m.type === 'commit' || m.type === 'checkpoint');
    expect(genuine.length).toBeGreaterThan(20);
    const e0 = h.statements(0);
    const e1 = h.statements(1);
    const junk = D([h.kv(1, { op: 'put', key: 'k', value: 'forged' })]);
    const vote = (kind: 'accept' | 'commit', statements: Statements, view: number, slot: number) => ({ type: kind, view, slot, digest: junk, from: 4, sig: h.sign(4, statements.vote(kind, view, slot, junk)) });
    const checkpoint = (statements: Statements, seq: number) => ({ type: 'checkpoint' as const, seq, stateDigest: junk, from: 4, sig: h.sign(4, statements.checkpoint(seq, junk)) });
    const vcBody = { newView: 2, from: 4, checkpoint: h.r(0).internalsForTests.stableCert, slots: [], batches: [] };
    const notMember = 'message from a replica that is not a member of the current epoch';

    // At the members of epoch 1: nothing from 4 counts, whatever epoch it signs for.
    const atMembers: [string, ReplicaMessage, string, number[]][] = [
      ['epoch-1 ACCEPT', vote('accept', e1, 1, 13), notMember, [0, 1, 2]],
      ['epoch-1 COMMIT', vote('commit', e1, 1, 13), notMember, [0, 1, 2]],
      ['epoch-1 CHECKPOINT', checkpoint(e1, 16), notMember, [0, 1, 2]],
      ['epoch-1 VIEW-CHANGE', { type: 'view-change', ...vcBody, sig: h.sign(4, e1.viewChange(vcBody)) }, notMember, [0, 1, 2]],
      ['epoch-1 PROPOSE for view 1 (led by 1)', { type: 'propose', view: 1, slot: 13, batch: [], sig: h.sign(4, e1.vote('accept', 1, 13, D([]))) }, 'proposal with a bad leader signature', [0, 2]],
      ['epoch-1 NEW-VIEW for view 2 (led by 2)', { type: 'new-view', view: 2, viewChanges: [], proposals: [], sig: h.sign(4, e1.newView({ view: 2, viewChanges: [], proposals: [] })) }, 'NEW-VIEW with a bad signature', [0, 1]],
      ['epoch-0 ACCEPT for a slot of epoch 1', vote('accept', e0, 0, 13), notMember, [0, 1, 2]],
      ['epoch-0 COMMIT for a slot of epoch 1', vote('commit', e0, 0, 13), notMember, [0, 1, 2]],
      ...genuine.map((m, i): [string, ReplicaMessage, string, number[]] => [`replayed epoch-0 ${m.type} #${i}`, m as ReplicaMessage, notMember, [0, 1, 2]]),
    ];
    // At replica 3, still in epoch 0 where 4 is a member: its epoch-0 signatures are checked, but
    // nothing above the boundary fits the window, and its epoch-1 signatures are not epoch 0's.
    const atLaggard: [string, ReplicaMessage, string, number[]][] = [
      ['epoch-0 ACCEPT above the boundary', vote('accept', e0, 0, 13), 'ACCEPT outside the watermarks', [3]],
      ['epoch-0 COMMIT above the boundary', vote('commit', e0, 0, 13), 'COMMIT outside the watermarks', [3]],
      ['epoch-0 CHECKPOINT above the boundary', checkpoint(e0, 16), 'CHECKPOINT for a sequence number outside the window', [3]],
      ['epoch-1 ACCEPT inside the window', vote('accept', e1, 0, 10), 'ACCEPT with a bad signature', [3]],
      ['epoch-1 COMMIT inside the window', vote('commit', e1, 0, 10), 'COMMIT with a bad signature', [3]],
      ['epoch-1 CHECKPOINT at the boundary', checkpoint(e1, 12), 'CHECKPOINT with a bad signature', [3]],
    ];
    for (const [what, message, reason, to] of [...atMembers, ...atLaggard]) {
      for (const id of to) {
        const out = h.inject(id, message);
        expect(out.events.map((e) => (e.type === 'drop' ? e.reason : e.type)), `${what} at replica ${id}`).toEqual([reason]);
        expect([out.persist, out.send], `${what} at replica ${id}`).toEqual([[], []]);
      }
    }

    // Replica 3 catches up; the cluster goes on without replica 4, and no certificate names it.
    lag();
    h.runUntil(() => h.r(3).epoch === 1 && h.r(3).status === 'normal');
    expect(epochsStarted(h, 3)).toEqual([[1, 12, [0, 1, 2, 3]]]);
    const puts = ['a', 'b'].map((v) => putCompletes(h, v));
    h.runUntil(() => [0, 1, 2, 3].every((id) => h.r(id).executed === puts[1]!.slot));
    for (const id of [0, 1, 2, 3]) expect([...certSignersAbove(h, id, 12)].filter((s) => s === 4)).toEqual([]);
    for (const id of [0, 1, 2, 3]) expect(h.eventsOf(id, 'alarm')).toEqual([]);
    expectAgreement(h, [0, 1, 2, 3, 4]);
  });
});

/** An epoch link as comparable hex. */
function plainLink(l: EpochLink): unknown {
  return { membership: toHex(l.membership), restHash: toHex(l.restHash), cert: { ...l.cert, stateDigest: toHex(l.cert.stateDigest), sigs: l.cert.sigs.map((s) => ({ from: s.from, sig: toHex(s.sig) })) } };
}

describe('regressions', () => {
  // Found by scenario (f): replica 3, cut off short of the boundary, suspected its leader and
  // moved to view 1 of epoch 0; the others began epoch 1 with a view change to view 1 too. Its
  // state transfer into epoch 1 left it waiting for a NEW-VIEW, but peers re-send theirs only to
  // a STATUS naming a lower view, or to a VIEW-CHANGE for their view — and it sent none: it never
  // voted again. It now announces a VIEW-CHANGE for the view it is in.
  it('a member that moved to view v of the old epoch and enters the new one, also in view v, by state transfer installs the view', () => {
    const h = new EpochHarness();
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

  // Seed 184, message by message: the next leader decided slot 1 (the change) on COMMITs alone,
  // without its body. Its own NEW-VIEW brought the body; slot 1 executed inside installing view 1;
  // with the boundary now pending, the leader filled slots from its stale next slot — slot 1 again,
  // empty: two PROPOSEs for (view 1, slot 1).
  it('a new leader whose NEW-VIEW executes a change proposes past its re-proposals, never over them', () => {
    const h = new EpochHarness();
    const rotate3 = h.change({ kind: 'rotate-key', id: 3, publicKey: simReplicaKey(3, 1).publicKey });
    h.dropWhere((e) => e.to === 1 && ((e.message.type === 'propose' && e.message.view === 0) || e.message.type === 'decision' || e.message.type === 'state'));
    h.dropWhere((e) => e.from === 0 && e.message.type === 'propose' && e.message.slot > 1);
    h.submit(rotate3, [0, 1, 2, 3]);
    h.deliverAll();
    const s1 = h.r(1).internalsForTests.log.get(1)!;
    expect([s1.decided?.cert.view, s1.body(s1.decided!.digestHex), h.r(1).executed]).toEqual([0, undefined, 0]);
    h.crash(0);
    h.runUntil(() => [1, 2, 3].every((id) => h.r(id).epoch === 1 && h.r(id).status === 'normal'));
    // Replica 1 led view 1: one value per slot, slot 1 being its re-proposal of the change.
    const proposals = [...h.sentBy(1).flatMap((m) => (m.type === 'propose' ? [m] : m.type === 'new-view' ? m.proposals : []))].filter((p) => p.view === 1);
    const bySlot = new Map<number, Set<string>>();
    for (const p of proposals) bySlot.set(p.slot, (bySlot.get(p.slot) ?? new Set()).add(toHex(D(p.batch))));
    expect([...bySlot.values()].every((d) => d.size === 1)).toBe(true);
    expect([...bySlot.get(1)!]).toEqual([toHex(D([rotate3]))]);
    expect([...bySlot.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const id of [1, 2, 3]) expect(epochsStarted(h, id)).toEqual([[1, 12, [0, 1, 2, 3]]]);
    expectAgreement(h, [1, 2, 3]);
  });
});

describe('regression seeds (byzpax sim --reconfig --seed S)', () => {
  const seed = (s: number) => {
    const sim = new Simulation({ ...defaultSimOptions, seed: s, reconfig: true });
    const r = sim.run();
    return { violations: r.violations, live: r.live, linearizable: r.linearizable, epoch: sim.membershipView.latest().epoch };
  };

  // Seeds 84 and 206: the plan replaced replica 0 while it was changing views; at the boundary it
  // entered the new epoch, where it is no member, still 'view-change' with its old epoch's
  // VIEW-CHANGEs forgotten — its invariant (own VIEW-CHANGE for the view it changes to) failed.
  // A replica changing views when an epoch begins now waits for that epoch's view.
  it('seed 84: a member replaced while changing views stops there (then add, rotate, remove: epoch 4)', () => {
    expect(seed(84)).toEqual({ violations: [], live: true, linearizable: 'ok', epoch: 4 });
  });

  it('seed 206: the same, replica 0 replaced while changing to view 3', () => {
    expect(seed(206)).toEqual({ violations: [], live: true, linearizable: 'ok', epoch: 1 });
  });

  // Seed 62 (n = 5 after an add, one replica down for good: q = 4 needs everyone else): the
  // timer that suspects a leader short of a pending boundary was not restarted by a new view, so
  // some replica deposed each new leader right after installing its view. A new view now restarts it.
  it('seed 62: every new view gets a full timeout to reach the boundary', () => {
    expect(seed(62)).toMatchObject({ violations: [], live: true, linearizable: 'ok' });
  });

  // Seed 184 (S5: a correct leader signed two ACCEPTs for one slot in one view): the leader of
  // view 5 held commit certificates for slots 33-36 without their bodies; its NEW-VIEW's
  // re-proposals brought them, slot 33 executed an admin's change, and with a boundary pending
  // the leader filled slots from its stale next slot — over its own re-proposals. The next slot is
  // now set before anything in installing a view can execute.
  it('seed 184: a new leader never proposes over its own NEW-VIEW', () => {
    expect(seed(184)).toMatchObject({ violations: [], live: true, linearizable: 'ok' });
  });
});

describe('the removed-member strategy in random schedules (--reconfig --byzantine R:removed-member)', () => {
  it('the drawn plan replaces it; afterwards everything it signs is dropped: no violation, live, linearizable', () => {
    const notMember = 'message from a replica that is not a member of the current epoch';
    for (const [seed, id] of [[1, 0], [2, 3], [3, 1], [4, 0], [5, 2], [6, 3]] as const) {
      const sim = new Simulation({ ...defaultSimOptions, seed, reconfig: true, byzantine: [{ id, strategy: 'removed-member' }] });
      const r = sim.run();
      expect({ seed, violations: r.violations, live: r.live, linearizable: r.linearizable }).toEqual({ seed, violations: [], live: true, linearizable: 'ok' });
      expect(sim.membershipView.latest().config.replicas.map((x) => x.id)).not.toContain(id);
      // It did attack after its removal, every kind of forgery the run gave it material for…
      const node = sim.nodeOf(id) as RemovedMemberNode;
      expect(node.removed).toBe(true);
      expect(node.stats.size).toBeGreaterThanOrEqual(10);
      // …and the correct replicas dropped it (the checker re-verified every certificate with its slot's epoch).
      expect(r.detections.drops[notMember]).toBeGreaterThan(100);
      expect(r.detections.dropsFrom[id]).toBeGreaterThan(100);
    }
  }, 120_000);

  it('byzpax sim refuses removed-member without --reconfig', () => {
    expect(() => simCommand(['--byzantine', '0:removed-member', '--seeds', '1'])).toThrow(/add --reconfig/);
  });
});
