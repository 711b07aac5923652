/**
 * The named Byzantine attack scenarios of the protocol brief §4, driven through REAL replicas
 * (test/core/harness.ts: real Ed25519 keys, every message through the codec). The test plays the
 * Byzantine replica: it is `crash`ed in the harness, so its own code never runs, and the test
 * sends what it wants in its name, genuinely signed with its key — equivocating PROPOSEs, double
 * votes, lying VIEW-CHANGEs, wrong NEW-VIEWs.
 *
 * Every scenario runs twice: with the real SELECT rule, asserting the correct outcome with exact
 * values, and with the broken rule the scenario exposes (src/sim/broken-select-rules.ts),
 * asserting the concrete failure: two correct replicas execute different values for one slot, or
 * no NEW-VIEW ever forms.
 *
 * n = 4, f = 1 throughout: q = 3, Qf = 4 (all), τ = 2, n − f = 3 VIEW-CHANGEs. The leader of view
 * v is replica v mod 4. Replica numbers of the brief (R1..R4, A1..A4, views v1, v2, v3) are
 * renamed onto ours (0..3, views 0, 1, 2); each scenario's comment gives the mapping.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolParams } from '../../src/core/config.ts';
import type { Batch, SlotEvidence, VoteCert } from '../../src/core/messages.ts';
import type { SelectRule } from '../../src/core/select.ts';
import {
  equivocationResetsRule,
  fabStyleRule,
  forgetfulRule,
  highestVoteRule,
  pcFirstRule,
  perViewRule,
  votesOnlyRule,
} from '../../src/sim/broken-select-rules.ts';
import { batchDigest, Harness, hex, type Envelope } from './harness.ts';

// ------------------------------------------------------------------------------------ helpers

/** The fast path on, COMMITs sent as soon as prepared (decide on whichever certificate is first). */
const FAST: Partial<ProtocolParams> = { mode: 'fast', commitPolicy: 'concurrent' };

const NOOP: Batch = [];
const D = (b: Batch) => batchDigest(b);
const H = (b: Batch) => hex(batchDigest(b));

function harness(params: Partial<ProtocolParams>, selectRule?: SelectRule): Harness {
  return new Harness({ params, ...(selectRule ? { selectRule } : {}) });
}

/** Names for digests, so expectations read `[slot, 'b']` instead of hex. */
function namer(batches: Record<string, Batch>): (digestHex: string) => string {
  const names = new Map<string, string>([[H(NOOP), 'noop']]);
  for (const [name, b] of Object.entries(batches)) names.set(H(b), name);
  return (d) => names.get(d) ?? `?${d.slice(0, 8)}`;
}

/** What replica `id` executed, slot by slot: [slot, name of the executed batch]. */
function executedLog(h: Harness, id: number, name: (d: string) => string): [number, string][] {
  return h.executed(id).map((e) => [e.slot, name(hex(e.digest))]);
}

/** The digest replica `id` executed at `slot` (hex), or undefined. */
function executedAt(h: Harness, id: number, slot: number): string | undefined {
  const at = h.executed(id).filter((e) => e.slot === slot);
  return at.length > 0 ? hex(at[at.length - 1]!.digest) : undefined;
}

/** Slots at which two of the given replicas executed different digests (S1 violations). */
function disagreements(h: Harness, ids: number[]): number[] {
  const bySlot = new Map<number, Set<string>>();
  for (const id of ids) for (const e of h.executed(id)) bySlot.set(e.slot, (bySlot.get(e.slot) ?? new Set()).add(hex(e.digest)));
  return [...bySlot].filter(([, ds]) => ds.size > 1).map(([s]) => s).sort((a, b) => a - b);
}

/** S1 among the correct replicas: every slot any of them executed, all of them executed alike. */
function expectAgreement(h: Harness, correct: number[]): void {
  expect(disagreements(h, correct)).toEqual([]);
  for (const id of correct) {
    const slots = h.executed(id).map((e) => e.slot);
    expect(new Set(slots).size, `replica ${id} executed a slot twice`).toBe(slots.length);
  }
}

/** The one NEW-VIEW for `view` the replica `leader` broadcast, as [slot, name] per re-proposal, and its VIEW-CHANGE senders. */
function newViewBy(h: Harness, leader: number, view: number, name: (d: string) => string) {
  const nvs = h.broadcastBy(leader, 'new-view').filter((m) => m.view === view);
  expect(nvs).toHaveLength(1);
  const nv = nvs[0]!;
  return { from: nv.viewChanges.map((vc) => vc.from), proposals: nv.proposals.map((p) => [p.slot, name(H(p.batch))] as [number, string]) };
}

function alarms(h: Harness, id: number): string[] {
  return h.eventsOf(id, 'alarm').map((e) => e.what);
}

/** STATUS gossip and shipped DECISIONs: catch-up would let a replica learn a decision it must not see in these schedules. */
const isCatchUp = (e: Envelope) => e.message.type === 'status' || e.message.type === 'decision';
const isVote = (type: 'accept' | 'commit', view: number) => (e: Envelope) => e.message.type === type && e.message.view === view;
const vcFromTo = (from: number, to: number, view: number) => (e: Envelope) =>
  e.message.type === 'view-change' && e.message.newView === view && e.from === from && e.to === to;

/** Ticks and delivers until `done()` holds (at most `max` rounds); returns the rounds it took. */
function runUntil(h: Harness, done: () => boolean, max = 200): number {
  for (let t = 1; t <= max; t++) {
    h.run(1);
    if (done()) return t;
  }
  throw new Error(`runUntil: not done after ${max} rounds`);
}

/** True once replica `leader` has broadcast its NEW-VIEW for `view`. */
const newViewSent = (h: Harness, leader: number, view: number) => () => h.broadcastBy(leader, 'new-view').some((m) => m.view === view);

/** The Byzantine replica `byz` ACCEPTs, then COMMITs, (view, slot, batch) at `to`: it helps whatever is proposed get decided. */
function byzVotes(h: Harness, byz: number, view: number, slot: number, batch: Batch, to: number[]): void {
  for (const t of to) h.inject(t, h.accept(byz, view, slot, D(batch)));
  h.deliverAll();
  for (const t of to) h.inject(t, h.commit(byz, view, slot, D(batch)));
  h.deliverAll();
}

/**
 * A prepare certificate built from signatures the replicas really sent: the leader's PROPOSE
 * signature (its ACCEPT) and the ACCEPT messages of `acceptors` for (view, slot).
 */
function pcFromTraffic(h: Harness, proposeSig: Uint8Array, leader: number, view: number, slot: number, batch: Batch, acceptors: number[]): VoteCert {
  const sigs = [{ from: leader, sig: proposeSig }];
  for (const id of acceptors) {
    const m = h.sentBy(id, 'accept').find((a) => a.view === view && a.slot === slot && hex(a.digest) === H(batch));
    if (!m) throw new Error(`replica ${id} sent no ACCEPT for view ${view} slot ${slot}`);
    sigs.push({ from: id, sig: m.sig });
  }
  const cert = { view, slot, digest: D(batch), sigs };
  expect(h.auth.checkVoteCert('accept', cert, h.quorums.q)).toBeNull();
  return cert;
}

/** A lastVote for (view, slot, batch) backed by the signature `by` (the leader of `view`) really gave. */
function voteEvidence(h: Harness, view: number, slot: number, batch: Batch, by = h.leaderOf(view)): SlotEvidence {
  return { slot, lastVote: { view, digest: D(batch), leaderSig: h.voteSig('accept', by, view, slot, D(batch)) } };
}

// ------------------------------------------------------------------------------------ ZYZ-1

/**
 * ZYZ-1 (Zyzzyva's safety bug, brief "our form"). Brief R1..R4 = our 0..3, v1..v3 = views 0..2.
 * View 0: Byzantine leader 0 orders a@1 and a′@2 to replicas 1 and 2 only; their ACCEPTs reach
 * only replica 0, so only it holds PC(v0, a) and PC(v0, a′). View 1 (leader 1, VC-set {0 lying
 * by omission, 1, 3}): one vote each, below τ, so slots 1 and 2 are FREE — in byzpax a FREE slot
 * gets a no-op — and b goes to slot 3. Replica 3 decides all three on the FAST path (with 0's
 * ACCEPTs); 1 and 2 see no certificate. View 2 (leader 2, VC-set {0: PC(v0,a), PC(v0,a′); 1, 2:
 * votes in v1}): the real rule ranks by view — two v1 votes above w_pc = 0 reach τ — and keeps
 * the no-ops; Zyzzyva's "certificate first" picks the stale a and a′ and overwrites decided slots.
 */
function zyz1(selectRule?: SelectRule) {
  const h = harness(FAST, selectRule);
  const byz = 0;
  h.crash(byz);
  h.dropWhere(isCatchUp);
  const a = [h.put(0, 'x', 'a')];
  const a2 = [h.put(1, 'y', 'a2')];
  const b = [h.put(2, 'x', 'b')];
  const name = namer({ a, a2, b });

  // View 0: a@1 and a′@2 to replicas 1 and 2 only; every view-0 ACCEPT is lost except at replica 0.
  h.dropWhere(isVote('accept', 0));
  const pa = h.propose(0, 1, a);
  const pa2 = h.propose(0, 2, a2);
  for (const id of [1, 2]) {
    h.inject(id, pa);
    h.inject(id, pa2);
  }
  h.deliverAll();
  const pcA = pcFromTraffic(h, pa.sig, 0, 0, 1, a, [1, 2]);
  const pcA2 = pcFromTraffic(h, pa2.sig, 0, 0, 2, a2, [1, 2]);
  for (const id of [1, 2, 3]) expect(h.persisted(id).filter((p) => p.kind === 'prepared')).toEqual([]);

  // The client of b sends it everywhere; nothing executes; the backups time out.
  h.submit(b[0]!, 'all');
  h.deliverAll();
  // Replica 0 lies by omission in its VIEW-CHANGE; replica 2's VIEW-CHANGE is slow to reach 1.
  h.inject(1, h.viewChange(byz, 1));
  h.holdWhere(vcFromTo(2, 1, 1));
  // View 1: ACCEPTs reach only replica 3; COMMITs are lost.
  h.dropWhere((e) => isVote('accept', 1)(e) && e.to !== 3);
  h.dropWhere(isVote('commit', 1));
  runUntil(h, newViewSent(h, 1, 1));
  const nv1 = newViewBy(h, 1, 1, name);
  // Replica 3 gets the Byzantine replica's view-1 ACCEPTs: 4 of 4, a fast decision seen by it alone.
  for (const [slot, batch] of [[1, NOOP], [2, NOOP], [3, b]] as const) h.inject(3, h.accept(byz, 1, slot, D(batch)));
  h.deliverAll();

  // View 2: replica 2 times out on b; replica 0 presents its stale certificates; 3's VIEW-CHANGE is late.
  const byzVc2 = h.viewChange(byz, 2, { slots: [{ slot: 1, prepared: pcA }, { slot: 2, prepared: pcA2 }], batches: [a, a2] });
  for (const id of [1, 2, 3]) h.inject(id, byzVc2);
  h.holdWhere(vcFromTo(3, 2, 2));
  runUntil(h, newViewSent(h, 2, 2));
  const nv2 = newViewBy(h, 2, 2, name);
  return { h, byz, a, a2, b, name, nv1, nv2 };
}

describe('ZYZ-1: a stale prepare certificate against a later fast decision (Zyzzyva)', () => {
  it('real rule: view 2 re-proposes the view-1 no-ops and b; all correct replicas execute noop, noop, b', () => {
    const { h, name, nv1, nv2 } = zyz1();
    expect(nv1).toEqual({ from: [1, 0, 3], proposals: [[1, 'noop'], [2, 'noop']] });
    // Replica 3 decided slots 1–3 fast in view 1; 1 and 2 hold no certificate at all.
    expect(h.executed(3).map((e) => [e.slot, e.view, e.cert.kind, name(hex(e.digest))])).toEqual([
      [1, 1, 'fast', 'noop'],
      [2, 1, 'fast', 'noop'],
      [3, 1, 'fast', 'b'],
    ]);
    expect(nv2).toEqual({ from: [2, 0, 1], proposals: [[1, 'noop'], [2, 'noop'], [3, 'b']] });
    for (const id of [1, 2, 3]) {
      expect(executedLog(h, id, name)).toEqual([
        [1, 'noop'],
        [2, 'noop'],
        [3, 'b'],
      ]);
      expect(alarms(h, id)).toEqual([]);
    }
    expectAgreement(h, [1, 2, 3]);
  });

  it('pc-first rule (Zyzzyva): view 2 re-proposes a and a′ over the decided no-ops; replicas 1, 2 execute a where 3 executed a no-op', () => {
    const { h, byz, a, a2, b, name, nv2 } = zyz1(pcFirstRule);
    expect(nv2).toEqual({ from: [2, 0, 1], proposals: [[1, 'a'], [2, 'a2'], [3, 'b']] });
    // Replica 3 refuses to vote against its fast certificates; the Byzantine replica's votes complete the quorums.
    expect(alarms(h, 3)).toEqual(['proposal for slot 1 contradicts its commit certificate', 'proposal for slot 2 contradicts its commit certificate']);
    for (const [slot, batch] of [[1, a], [2, a2], [3, b]] as const) byzVotes(h, byz, 2, slot, batch, [1, 2]);
    for (const id of [1, 2]) expect(executedLog(h, id, name)).toEqual([[1, 'a'], [2, 'a2'], [3, 'b']]);
    expect(executedLog(h, 3, name)).toEqual([[1, 'noop'], [2, 'noop'], [3, 'b']]);
    expect(executedAt(h, 1, 1)).not.toBe(executedAt(h, 3, 1));
    expect(disagreements(h, [1, 2, 3])).toEqual([1, 2]);
  });
});

// ------------------------------------------------------------------------------------ STALE-PC-1

/**
 * STALE-PC-1. The stale certificate is held by a CORRECT replica. View 0: Byzantine leader 0
 * proposes B to replicas 2 and 3 (only 3 assembles PC(v0, B)) and A to replica 1. View 1 (leader 1,
 * VC-set {1: A, 0: A, 2: B}): A has τ votes and is re-proposed; every correct replica votes A in
 * view 1, and replica 1 alone sees all four ACCEPTs: A is decided fast. View 2 (leader 2, VC-set
 * {2: vote(v1,A), 0: silent, 3: vote(v1,A) + PC(v0,B)}): the real rule counts only votes above
 * w_pc = 0 — two for A — and keeps A; a certificate-first rule trusts the stale PC(v0, B).
 */
function stalePc1(selectRule?: SelectRule) {
  const h = harness(FAST, selectRule);
  const byz = 0;
  h.crash(byz);
  h.dropWhere(isCatchUp);
  const A = [h.put(0, 'k', 'A')];
  const B = [h.put(1, 'k', 'B')];
  const name = namer({ A, B });

  // View 0: B to replicas 2 and 3, A to replica 1; only 2's ACCEPT reaches 3. COMMITs are lost.
  h.dropWhere((e) => isVote('accept', 0)(e) && !(e.from === 2 && e.to === 3));
  h.dropWhere(isVote('commit', 0));
  const pB = h.propose(0, 1, B);
  h.inject(3, pB);
  h.inject(2, pB);
  h.inject(1, h.propose(0, 1, A));
  h.deliverAll();
  const prepared = (id: number) => h.persisted(id).flatMap((p) => (p.kind === 'prepared' ? [[p.cert.view, name(hex(p.cert.digest))]] : []));
  expect([1, 2, 3].map(prepared)).toEqual([[], [], [[0, 'B']]]);

  h.submit(A[0]!, 'all');
  h.deliverAll();
  // Replica 0 reports its (genuinely signed) proposal of A as its vote; 3's VIEW-CHANGE is late at 1.
  h.inject(1, h.viewChange(byz, 1, { slots: [voteEvidence(h, 0, 1, A)], batches: [A] }));
  h.holdWhere(vcFromTo(3, 1, 1));
  // View 1: ACCEPTs reach only replica 1; COMMITs are lost.
  h.dropWhere((e) => isVote('accept', 1)(e) && e.to !== 1);
  h.dropWhere(isVote('commit', 1));
  runUntil(h, newViewSent(h, 1, 1));
  const nv1 = newViewBy(h, 1, 1, name);
  h.inject(1, h.accept(byz, 1, 1, D(A)));
  h.deliverAll();

  // View 2: replicas 2 and 3 time out on A; 0 sends an empty VIEW-CHANGE; 1's is late at 2.
  for (const id of [1, 2, 3]) h.inject(id, h.viewChange(byz, 2));
  h.holdWhere(vcFromTo(1, 2, 2));
  runUntil(h, newViewSent(h, 2, 2));
  const vc3 = h.sentBy(3, 'view-change').find((vc) => vc.newView === 2)!;
  const nv2 = newViewBy(h, 2, 2, name);
  return { h, byz, A, B, name, nv1, nv2, vc3 };
}

describe('STALE-PC-1: a stale PC(v0, B) shown after A was fast-decided in view 1', () => {
  it('real rule: view 2 re-proposes A (two view-1 votes above w_pc = 0); every correct replica executes A', () => {
    const { h, name, nv1, nv2, vc3 } = stalePc1();
    expect(nv1).toEqual({ from: [1, 0, 2], proposals: [[1, 'A']] });
    expect(h.executed(1).map((e) => [e.slot, e.view, e.cert.kind, name(hex(e.digest))])).toEqual([[1, 1, 'fast', 'A']]);
    // Replica 3 (correct) still holds the stale certificate, next to its newer vote.
    const e3 = vc3.slots.find((e) => e.slot === 1)!;
    expect([e3.prepared!.view, name(hex(e3.prepared!.digest))]).toEqual([0, 'B']);
    expect([e3.lastVote!.view, name(hex(e3.lastVote!.digest))]).toEqual([1, 'A']);
    expect(nv2).toEqual({ from: [2, 0, 3], proposals: [[1, 'A']] });
    for (const id of [1, 2, 3]) {
      expect(executedLog(h, id, name)).toEqual([[1, 'A']]);
      expect(alarms(h, id)).toEqual([]);
    }
    expectAgreement(h, [1, 2, 3]);
  });

  it('pc-first rule: view 2 re-proposes the stale B; replicas 2 and 3 execute B where 1 executed A', () => {
    const { h, byz, B, name, nv2 } = stalePc1(pcFirstRule);
    expect(nv2).toEqual({ from: [2, 0, 3], proposals: [[1, 'B']] });
    expect(alarms(h, 1)).toEqual(['proposal for slot 1 contradicts its commit certificate']);
    byzVotes(h, byz, 2, 1, B, [2, 3]);
    // Leader 2 also re-orders A (still waiting there) in slot 2: replica 1 runs it as a duplicate.
    expect(executedLog(h, 1, name)).toEqual([[1, 'A'], [2, 'A']]);
    for (const id of [2, 3]) expect(executedLog(h, id, name)).toEqual([[1, 'B'], [2, 'A']]);
    expect(disagreements(h, [1, 2, 3])).toEqual([1]);
    expect(hex(h.r(1).stateDigest())).not.toBe(hex(h.r(2).stateDigest()));
  });
});

// ------------------------------------------------------------------------------------ SPREAD-1

/**
 * SPREAD-1. Brief R3, R4 = our 2, 3; the Byzantine v2 leader = our replica 1 (leader of view 1).
 * View 0: correct leader 0 proposes d; replica 0 alone sees all four ACCEPTs (1's included): d is
 * decided fast, then 0 is cut off. View 1: Byzantine leader 1 sends a valid NEW-VIEW (d) to replica
 * 2 only, and signs d′ for slot 1 itself. View 2 (leader 2, VC-set {1: vote(v1,d′), 2: vote(v1,d),
 * 3: vote(v0,d)}): d's two voters are in DIFFERENT views. The real rule sums across views (2 = τ)
 * and keeps d; a per-view rule finds no view with τ votes and frees the slot.
 */
function spread1(selectRule?: SelectRule) {
  const h = harness(FAST, selectRule);
  const byz = 1;
  h.crash(byz);
  h.dropWhere(isCatchUp);
  const d = [h.put(0, 'k', 'd')];
  const d2 = [h.put(1, 'k', 'd2')];
  const name = namer({ d, d2 });

  // View 0: ACCEPTs reach only replica 0; COMMITs are lost.
  h.dropWhere((e) => isVote('accept', 0)(e) && e.to !== 0);
  h.dropWhere(isVote('commit', 0));
  h.submit(d[0]!, 'all');
  h.deliverAll();
  h.inject(0, h.accept(byz, 0, 1, D(d)));
  h.deliverAll();
  const healZero = h.isolate(0);

  // Replicas 2 and 3 time out: VIEW-CHANGE to view 1, whose leader is the Byzantine replica.
  const byzVc1 = h.viewChange(byz, 1);
  h.inject(3, byzVc1);
  runUntil(h, () => [2, 3].every((id) => h.r(id).view === 1));
  const vc = (id: number, view: number) => h.sentBy(id, 'view-change').find((m) => m.newView === view)!;
  // Its NEW-VIEW is valid (d, from two view-0 votes) but goes to replica 2 only.
  const nv1 = h.newView(1, [byzVc1, vc(2, 1), vc(3, 1)], [h.propose(1, 1, d)]);
  h.inject(2, nv1);
  h.deliverAll();
  // In view 2 it reports a vote for d′, backed by its own signature as the leader of view 1.
  const byzVc2 = h.viewChange(byz, 2, { slots: [voteEvidence(h, 1, 1, d2)], batches: [d2] });
  for (const id of [2, 3]) h.inject(id, byzVc2);
  runUntil(h, newViewSent(h, 2, 2));
  const nv2 = newViewBy(h, 2, 2, name);
  return { h, byz, d, name, nv2, healZero };
}

describe('SPREAD-1: a fast decision whose voters are spread over two views', () => {
  it('real rule: view 2 re-proposes d (vote(v1,d) + vote(v0,d) summed across views); correct replicas execute d', () => {
    const { h, byz, d, name, nv2 } = spread1();
    expect(h.executed(0).map((e) => [e.slot, e.view, e.cert.kind, name(hex(e.digest))])).toEqual([[1, 0, 'fast', 'd']]);
    expect(h.eventsOf(2, 'new-view-installed').map((e) => e.view)).toEqual([1, 2]);
    expect(h.eventsOf(3, 'new-view-installed').map((e) => e.view)).toEqual([2]); // never saw view 1's
    expect(nv2).toEqual({ from: [2, 1, 3], proposals: [[1, 'd']] });
    byzVotes(h, byz, 2, 1, d, [2, 3]);
    for (const id of [0, 2, 3]) expect(executedLog(h, id, name)).toEqual([[1, 'd']]);
    expectAgreement(h, [0, 2, 3]);
  });

  it('per-view rule: no single view holds τ votes, slot 1 is freed; replicas 2 and 3 execute a no-op where 0 executed d', () => {
    const { h, byz, name, nv2, healZero } = spread1(perViewRule);
    expect(nv2).toEqual({ from: [2, 1, 3], proposals: [[1, 'noop']] });
    byzVotes(h, byz, 2, 1, NOOP, [2, 3]);
    expect(executedLog(h, 0, name)).toEqual([[1, 'd']]);
    for (const id of [2, 3]) expect(executedLog(h, id, name)).toEqual([[1, 'noop']]);
    expect(disagreements(h, [0, 2, 3])).toEqual([1]);
    // Reconnected, replica 0 refuses the view-2 proposal: it contradicts the fast certificate it holds.
    healZero();
    h.inject(0, h.broadcastBy(2, 'new-view')[0]!);
    expect(alarms(h, 0)).toEqual(['proposal for slot 1 contradicts its commit certificate']);
  });
});

// ------------------------------------------------------------------------------------ FAB-1

/**
 * FAB-1 (FaB's liveness bug, brief "our form"). Brief A1..A4 = our 0, 3, 2, 1 (the commit-proof
 * holder is 3, so that the view-1 leader 1 is a B voter). View 0: Byzantine leader 0 proposes A to
 * 2 and 3, B to 1; only 3 assembles PC(v0, A). View 1 (leader 1, VC-set {1: B, 0: B, 2: A}): B;
 * replicas 1 and 2 vote B, 3 never hears of view 1, no certificate forms. View 2 (leader 2, VC-set
 * {2: vote(v1,B), 1: vote(v1,B), 3: PC(v0,A)}): the real rule ranks by view — w_pc = 0, two votes
 * above it — and decides B. FaB's progress certificate has B's count veto A and A's proof veto B:
 * no value is vouched for, no NEW-VIEW ever forms, and the Byzantine replica need not act again.
 */
function fab1(selectRule?: SelectRule) {
  const h = harness(FAST, selectRule);
  const byz = 0;
  h.crash(byz);
  h.dropWhere(isCatchUp);
  const A = [h.put(0, 'k', 'A')];
  const B = [h.put(1, 'k', 'B')];
  const name = namer({ A, B });

  h.dropWhere((e) => isVote('accept', 0)(e) && !(e.from === 2 && e.to === 3));
  h.dropWhere(isVote('commit', 0));
  const pA = h.propose(0, 1, A);
  h.inject(3, pA);
  h.inject(2, pA);
  h.inject(1, h.propose(0, 1, B));
  h.submit(B[0]!, 'all');
  h.deliverAll();

  h.inject(1, h.viewChange(byz, 1, { slots: [voteEvidence(h, 0, 1, B)], batches: [B] }));
  h.holdWhere(vcFromTo(3, 1, 1));
  // The holder of the commit proof never hears of view 1.
  h.dropWhere((e) => e.message.type === 'new-view' && e.message.view === 1 && e.to === 3);
  runUntil(h, newViewSent(h, 1, 1));
  const nv1 = newViewBy(h, 1, 1, name);
  // View 1 times out: replica 2 on its request timer, replica 3 on its view-change timer.
  runUntil(h, () => newViewSent(h, 2, 2)() || alarms(h, 2).length > 0);
  return { h, A, B, name, nv1 };
}

describe('FAB-1: a stale commit proof and fresh votes veto each other (FaB)', () => {
  it('real rule: view 2 re-proposes B (w_pc = 0, two view-1 votes above it) and every correct replica executes B', () => {
    const { h, name, nv1 } = fab1();
    expect(nv1).toEqual({ from: [1, 0, 2], proposals: [[1, 'B']] });
    expect([1, 2, 3].map((id) => h.persisted(id).filter((p) => p.kind === 'prepared').map((p) => [p.cert.view, name(hex(p.cert.digest))]))).toEqual([
      [[2, 'B']],
      [[2, 'B']],
      [
        [0, 'A'],
        [2, 'B'],
      ],
    ]);
    expect(newViewBy(h, 2, 2, name)).toEqual({ from: [2, 1, 3], proposals: [[1, 'B']] });
    for (const id of [1, 2, 3]) {
      expect(executedLog(h, id, name)).toEqual([[1, 'B']]);
      expect(alarms(h, id)).toEqual([]);
    }
    expectAgreement(h, [1, 2, 3]);
  });

  it('FaB-style rule: no NEW-VIEW forms in view 2 or any later view; "vouches for no value"; B never executes', () => {
    const { h } = fab1(fabStyleRule);
    const stuck = (v: number) => `cannot form NEW-VIEW ${v}: slot 1: the selection rule vouches for no value`;
    expect(alarms(h, 2)).toEqual([stuck(2)]);
    // Views 3 (leader 3) and 5 (leader 1) get stuck the same way; view 4's leader is the silent Byzantine replica.
    h.run(600);
    expect(alarms(h, 3)).toEqual([stuck(3)]);
    expect(alarms(h, 1)).toEqual([stuck(5)]);
    for (const id of [1, 2, 3]) {
      expect(h.eventsOf(id, 'new-view-installed').map((e) => e.view)).toEqual(id === 3 ? [] : [1]);
      expect(h.executed(id)).toEqual([]);
      expect(h.r(id).status).toBe('view-change');
    }
    expect(h.maxView()).toBeGreaterThanOrEqual(6);
  });
});

// ------------------------------------------------------------------------------------ EQ-1

/**
 * EQ-1. Brief R1..R4 = our 0..3. View 0: Byzantine leader 0 sends PROPOSE(d) to 1 and PROPOSE(d′)
 * to 2 and 3. d′ reaches q (0's signature, 2, 3) — neither reaches Qf — and with 0's COMMIT only
 * replica 3 decides d′. Each signed PROPOSE pair, once seen by one replica, is proof against
 * the leader: 1 and 2 suspect it at once. View 1 (leader 1, VC-set {1: vote d, 0: vote d, 2:
 * PC(v0,d′)}): the real rule takes the prepared d′ (no vote above w_pc = 0); a rule that treats an
 * equivocated slot as undecided frees it and loses 3's decision.
 */
function eq1(selectRule?: SelectRule) {
  const h = harness(FAST, selectRule);
  const byz = 0;
  h.crash(byz);
  h.dropWhere(isCatchUp);
  const d = [h.put(0, 'k', 'd')];
  const d2 = [h.put(1, 'k', 'd2')];
  const name = namer({ d, d2 });

  const pd = h.propose(0, 1, d);
  const pd2 = h.propose(0, 1, d2);
  h.inject(1, pd);
  h.inject(2, pd2);
  h.inject(3, pd2);
  h.deliverAll();
  h.inject(3, h.commit(byz, 0, 1, D(d2)));
  h.deliverAll();

  // The other half of each pair reaches 1 and 2: misbehaviour proofs, immediate view changes.
  h.inject(1, h.viewChange(byz, 1, { slots: [voteEvidence(h, 0, 1, d)], batches: [d] }));
  h.holdWhere(vcFromTo(3, 1, 1));
  const out1 = h.inject(1, pd2);
  const out2 = h.inject(2, pd);
  h.deliverAll();
  const nv1 = newViewBy(h, 1, 1, name);
  return { h, byz, d, d2, name, nv1, out1, out2 };
}

describe('EQ-1: the leader sends PROPOSE(d) to one replica and PROPOSE(d′) to two', () => {
  it("real rule: d′ (the one value with a prepare certificate) is re-proposed; every correct replica executes d′", () => {
    const { h, name, nv1, out1, out2 } = eq1();
    for (const id of [1, 2, 3]) expect(h.r(id).counters.get('fast commits')).toBeUndefined();
    expect(h.executed(3).map((e) => [e.slot, e.view, e.cert.kind, name(hex(e.digest))])).toEqual([[1, 0, 'commit', 'd2']]);
    expect(out1.events).toEqual([
      { type: 'misbehaviour', culprit: 0, what: 'two proposals for slot 1 in view 0' },
      { type: 'view-change-started', view: 1, reason: 'leader misbehaved: two proposals for slot 1 in view 0' },
    ]);
    expect(out2.events).toEqual([
      { type: 'misbehaviour', culprit: 0, what: 'two proposals for slot 1 in view 0' },
      { type: 'view-change-started', view: 1, reason: 'leader misbehaved: two proposals for slot 1 in view 0' },
    ]);
    expect(nv1).toEqual({ from: [1, 0, 2], proposals: [[1, 'd2']] });
    for (const id of [1, 2, 3]) {
      expect(executedLog(h, id, name)).toEqual([[1, 'd2']]);
      expect(alarms(h, id)).toEqual([]);
    }
    expectAgreement(h, [1, 2, 3]);
  });

  it('"equivocation resets the slot" rule: slot 1 becomes a no-op; replicas 1 and 2 execute it where 3 executed d′', () => {
    const { h, byz, name, nv1 } = eq1(equivocationResetsRule);
    expect(nv1).toEqual({ from: [1, 0, 2], proposals: [[1, 'noop']] });
    expect(alarms(h, 3)).toEqual(['proposal for slot 1 contradicts its commit certificate']);
    byzVotes(h, byz, 1, 1, NOOP, [1, 2]);
    for (const id of [1, 2]) expect(executedLog(h, id, name)).toEqual([[1, 'noop']]);
    expect(executedLog(h, 3, name)).toEqual([[1, 'd2']]);
    expect(disagreements(h, [1, 2, 3])).toEqual([1]);
  });
});

// ------------------------------------------------------------------------------------ EQ-2

/**
 * EQ-2. View 0: Byzantine leader 0 proposes d to 1 and 2 and d′ to 3, so d gets exactly Qf − 1 = 3
 * ACCEPTs: no fast decision anywhere, but 1 and 2 are prepared and, with 0's COMMIT, replica 2
 * decides d on the classic path. View 1 (leader 1, VC-set {1: PC(v0,d), 0: vote d′, 3: vote d′}):
 * the real rule takes the prepared d — nothing was voted above w_pc = 0 — and then orders d′ in
 * slot 2. A rule counting votes only (as if every decision were fast) follows the two d′ votes.
 */
function eq2(selectRule?: SelectRule) {
  const h = harness(FAST, selectRule);
  const byz = 0;
  h.crash(byz);
  h.dropWhere(isCatchUp);
  const d = [h.put(0, 'k', 'd')];
  const d2 = [h.put(1, 'k', 'd2')];
  const name = namer({ d, d2 });

  const pd = h.propose(0, 1, d);
  h.inject(1, pd);
  h.inject(2, pd);
  h.inject(3, h.propose(0, 1, d2));
  h.deliverAll();
  h.inject(2, h.commit(byz, 0, 1, D(d)));
  h.deliverAll();

  // d′'s client retransmits to every replica; it never executes in view 0.
  h.submit(d2[0]!, 'all');
  h.deliverAll();
  h.inject(1, h.viewChange(byz, 1, { slots: [voteEvidence(h, 0, 1, d2)], batches: [d2] }));
  h.holdWhere(vcFromTo(2, 1, 1));
  runUntil(h, newViewSent(h, 1, 1));
  const nv1 = newViewBy(h, 1, 1, name);
  return { h, byz, d, d2, name, nv1 };
}

describe('EQ-2: the leader equivocates so that d gets exactly Qf − 1 ACCEPTs', () => {
  it('real rule: no fast decision; d, decided classically at replica 2, is re-proposed; all execute d then d′', () => {
    const { h, name, nv1 } = eq2();
    for (const id of [1, 2, 3]) expect(h.r(id).counters.get('fast commits')).toBeUndefined();
    const accepts = (id: number) => new Set(h.sentBy(id, 'accept').filter((a) => a.view === 0).map((a) => name(hex(a.digest))));
    expect([1, 2, 3].map((id) => [...accepts(id)])).toEqual([['d'], ['d'], ['d2']]);
    expect(h.executed(2)[0]!.cert).toMatchObject({ kind: 'commit', view: 0, slot: 1 });
    expect(nv1).toEqual({ from: [1, 0, 3], proposals: [[1, 'd']] });
    for (const id of [1, 2, 3]) {
      expect(executedLog(h, id, name)).toEqual([
        [1, 'd'],
        [2, 'd2'],
      ]);
      expect(alarms(h, id)).toEqual([]);
    }
    expectAgreement(h, [1, 2, 3]);
  });

  it('votes-only rule: d′ (two votes) replaces the classically decided d; replicas 1 and 3 execute d′ where 2 executed d', () => {
    const { h, byz, d2, name, nv1 } = eq2(votesOnlyRule);
    expect(nv1).toEqual({ from: [1, 0, 3], proposals: [[1, 'd2']] });
    expect(alarms(h, 2)).toEqual(['proposal for slot 1 contradicts its commit certificate']);
    byzVotes(h, byz, 1, 1, d2, [1, 3]);
    for (const id of [1, 3]) expect(executedLog(h, id, name)).toEqual([[1, 'd2']]);
    expect(executedLog(h, 2, name)).toEqual([[1, 'd']]);
    expect(disagreements(h, [1, 2, 3])).toEqual([1]);
  });
});

// ------------------------------------------------------------------------------------ COL-1

/**
 * COL-1. Correct leader 0 proposes d; Byzantine backup 3 double-votes — ACCEPT(d) to 0 and 1,
 * ACCEPT(d′) to 2 — and COMMITs both (d to 0, d′ to 1 and 2). d′ was never proposed, so it can
 * gather one signature (3's) and no certificate. Replica 0 decides d with 3's COMMIT; 1 and 2 stay
 * prepared (the COMMITs between correct replicas are lost except 1 → 0). View 1 (leader 1, VC-set
 * {1, 2: PC(v0,d); 3: empty}): the real rule keeps the prepared d. A forgetful rule frees the slot.
 * Classic mode: the point is the commit certificate, not the fast one.
 */
function col1(selectRule?: SelectRule) {
  const h = harness({}, selectRule);
  const byz = 3;
  h.crash(byz);
  h.dropWhere(isCatchUp);
  const d = [h.put(0, 'k', 'd')];
  const d2 = [h.put(1, 'k', 'evil')];
  const name = namer({ d, d2 });

  h.dropWhere((e) => isVote('commit', 0)(e) && !(e.from === 1 && e.to === 0));
  h.submit(d[0]!, 'all');
  h.inject(0, h.accept(byz, 0, 1, D(d)));
  h.inject(1, h.accept(byz, 0, 1, D(d)));
  h.inject(2, h.accept(byz, 0, 1, D(d2)));
  h.deliverAll();
  h.inject(0, h.commit(byz, 0, 1, D(d)));
  h.inject(1, h.commit(byz, 0, 1, D(d2)));
  h.inject(2, h.commit(byz, 0, 1, D(d2)));
  // Gossip hands each half of the double vote to a replica that holds the other half.
  const dupAccept = h.inject(1, h.accept(byz, 0, 1, D(d2)));
  const dupCommit = h.inject(0, h.commit(byz, 0, 1, D(d2)));
  h.deliverAll();

  h.inject(1, h.viewChange(byz, 1));
  h.holdWhere(vcFromTo(0, 1, 1));
  runUntil(h, newViewSent(h, 1, 1));
  const nv1 = newViewBy(h, 1, 1, name);
  return { h, byz, d, name, nv1, dupAccept, dupCommit };
}

describe('COL-1: a Byzantine backup double-votes ACCEPT and COMMIT', () => {
  it('real rule: no certificate for d′ forms; d, decided at replica 0, is re-proposed and every correct replica executes d', () => {
    const { h, name, nv1, dupAccept, dupCommit } = col1();
    expect(dupAccept.events).toEqual([{ type: 'misbehaviour', culprit: 3, what: 'two ACCEPTs for slot 1 in view 0' }]);
    expect(dupCommit.events).toEqual([{ type: 'misbehaviour', culprit: 3, what: 'two COMMITs for slot 1 in view 0' }]);
    expect(h.executed(0).map((e) => [e.slot, e.view, e.cert.kind, e.cert.sigs.map((s) => s.from)])).toEqual([[1, 0, 'commit', [0, 1, 3]]]);
    expect(nv1).toEqual({ from: [1, 2, 3], proposals: [[1, 'd']] });
    for (const id of [0, 1, 2]) {
      expect(executedLog(h, id, name)).toEqual([[1, 'd']]);
      // Every certificate any correct replica assembled, in any view, is for d.
      const certs = h.persisted(id).flatMap((p) => (p.kind === 'prepared' || p.kind === 'decided' ? [name(hex(p.cert.digest))] : []));
      expect(certs.length).toBeGreaterThan(0);
      expect(new Set(certs)).toEqual(new Set(['d']));
    }
    expectAgreement(h, [0, 1, 2]);
  });

  it('forgetful rule: slot 1 becomes a no-op; replicas 1 and 2 execute it where 0 executed d', () => {
    const { h, byz, name, nv1 } = col1(forgetfulRule);
    expect(nv1).toEqual({ from: [1, 2, 3], proposals: [[1, 'noop']] });
    expect(alarms(h, 0)).toEqual(['proposal for slot 1 contradicts its commit certificate']);
    byzVotes(h, byz, 1, 1, NOOP, [1, 2]);
    // The new leader then orders d afresh, in slot 2: the client's one request has two positions.
    for (const id of [1, 2]) expect(executedLog(h, id, name)).toEqual([[1, 'noop'], [2, 'd']]);
    expect(executedLog(h, 0, name)).toEqual([[1, 'd'], [2, 'd']]);
    expect(disagreements(h, [0, 1, 2])).toEqual([1]);
  });
});

// ------------------------------------------------------------------------------------ VC-LIE-1, NV-1 base

/**
 * Shared start of VC-LIE-1 and NV-1 (Byzantine replica 1, the leader of view 1). View 0: correct
 * leader 0 proposes d; 0, 2, 3 accept it (1 is silent), so all three are prepared; the COMMITs
 * reach replica 3 only, which decides and executes d. Replica 2 times out on d and, with replica 1's
 * VIEW-CHANGE, brings everyone into the view change to view 1.
 */
function decidedAtThreeOnly(params: Partial<ProtocolParams>, selectRule?: SelectRule) {
  const h = harness(params, selectRule);
  const byz = 1;
  h.crash(byz);
  h.dropWhere(isCatchUp);
  const d = [h.put(0, 'k', 'd')];
  const d2 = [h.put(1, 'k', 'd2')];
  const name = namer({ d, d2 });
  h.dropWhere((e) => isVote('commit', 0)(e) && e.to !== 3);
  h.submit(d[0]!, 'all');
  h.deliverAll();
  expect(h.executed(3).map((e) => [e.slot, e.cert.kind, e.cert.sigs.map((s) => s.from)])).toEqual([[1, 'commit', [0, 2, 3]]]);
  const byzVc1 = h.viewChange(byz, 1);
  for (const id of [0, 2, 3]) h.inject(id, byzVc1);
  runUntil(h, () => [0, 2, 3].every((id) => h.r(id).view === 1));
  for (const id of [0, 2, 3]) expect(h.r(id).status).toBe('view-change');
  const vc1 = (id: number) => h.sentBy(id, 'view-change').find((m) => m.newView === 1)!;
  return { h, byz, d, d2, name, byzVc1, vc1 };
}

// ------------------------------------------------------------------------------------ VC-LIE-1

/**
 * VC-LIE-1. After the base schedule, Byzantine leader 1 never sends NEW-VIEW 1; everyone times out
 * to view 2 (leader 2). Replica 1 first tries VIEW-CHANGEs with a forged leader signature, a
 * certificate with forged, too few or duplicate signers, and a fake commit certificate — each is
 * dropped with its reason — then sends a valid one that omits its (non-)vote in view 0 and claims a
 * vote for d′ in view 1, signed by itself as that view's leader. VC-set {2, 0: PC(v0,d); 1: vote(v1,d′)}:
 * the real rule needs τ = 2 votes above w_pc = 0, the lie is one, and d is kept. A "freshest vote
 * wins" rule follows the lone Byzantine vote.
 */
function vcLie1(selectRule?: SelectRule) {
  const base = decidedAtThreeOnly(FAST, selectRule);
  const { h, byz, d2 } = base;
  const D2 = D(d2);
  const forged = (signer: number, claimed: number) => ({ from: claimed, sig: h.voteSig('accept', signer, 0, 1, D2) });
  const lies: [string, ReturnType<Harness['viewChange']>][] = [
    ['view-change slot 1: vote without a valid leader proposal', h.viewChange(byz, 2, { slots: [{ slot: 1, lastVote: { view: 0, digest: D2, leaderSig: h.voteSig('accept', byz, 0, 1, D2) } }], batches: [d2] })],
    ['view-change slot 1: vote without a valid leader proposal', h.viewChange(byz, 2, { slots: [{ slot: 1, lastVote: { view: 0, digest: D2, leaderSig: new Uint8Array(64) } }], batches: [d2] })],
    ['view-change slot 1: accept certificate: bad signature from replica 0', h.viewChange(byz, 2, { slots: [{ slot: 1, prepared: { view: 0, slot: 1, digest: D2, sigs: [forged(byz, 0), forged(byz, 1), forged(byz, 2)] } }], batches: [d2] })],
    ['view-change slot 1: accept certificate has 1 signatures, needs 3', h.viewChange(byz, 2, { slots: [{ slot: 1, prepared: h.voteCert('accept', 0, 1, D2, [byz]) }], batches: [d2] })],
    ['view-change slot 1: certificate names replica 1 twice', h.viewChange(byz, 2, { slots: [{ slot: 1, prepared: { view: 0, slot: 1, digest: D2, sigs: [forged(byz, 1), forged(byz, 1), forged(byz, 1)] } }], batches: [d2] })],
    ['view-change slot 1: commit certificate has 1 signatures, needs 3', h.viewChange(byz, 2, { slots: [{ slot: 1, decided: h.decisionCert('commit', 0, 1, D2, [byz]) }], batches: [d2] })],
  ];
  const lieOutputs = lies.map(([, vc]) => h.inject(2, vc));
  // The lie that passes every check: a vote from the view it led, nothing else.
  h.inject(2, h.viewChange(byz, 2, { slots: [voteEvidence(h, 1, 1, d2)], batches: [d2] }));
  h.holdWhere(vcFromTo(3, 2, 2));
  runUntil(h, newViewSent(h, 2, 2));
  const nv2 = newViewBy(h, 2, 2, base.name);
  return { ...base, lies, lieOutputs, nv2 };
}

describe('VC-LIE-1: lying VIEW-CHANGEs from the Byzantine replica', () => {
  it('real rule: forged evidence is dropped with its reason; the lone (valid) lie is out-voted; d is re-proposed and executed everywhere', () => {
    const { h, name, lies, lieOutputs, nv2 } = vcLie1();
    lies.forEach(([reason], i) => {
      expect(lieOutputs[i]!.events).toEqual([{ type: 'drop', reason, from: 1 }]);
      expect(lieOutputs[i]!.send).toEqual([]);
    });
    expect(h.drops(2).filter((r) => r.startsWith('view-change'))).toEqual(lies.map(([r]) => r));
    expect(nv2).toEqual({ from: [2, 0, 1], proposals: [[1, 'd']] });
    const byzInSet = h.broadcastBy(2, 'new-view')[0]!.viewChanges.find((vc) => vc.from === 1)!;
    expect(byzInSet.slots.map((e) => [e.slot, e.lastVote?.view, name(hex(e.lastVote!.digest)), e.prepared])).toEqual([[1, 1, 'd2', undefined]]);
    for (const id of [0, 2, 3]) {
      expect(executedLog(h, id, name)).toEqual([[1, 'd']]);
      expect(alarms(h, id)).toEqual([]);
    }
    expectAgreement(h, [0, 2, 3]);
  });

  it("highest-vote rule: the Byzantine vote from view 1 wins; replicas 0 and 2 execute d′ where 3 executed d", () => {
    const { h, byz, d2, name, nv2 } = vcLie1(highestVoteRule);
    expect(nv2).toEqual({ from: [2, 0, 1], proposals: [[1, 'd2']] });
    expect(alarms(h, 3)).toEqual(['proposal for slot 1 contradicts its commit certificate']);
    byzVotes(h, byz, 2, 1, d2, [0, 2]);
    // Leader 2 also orders d afresh in slot 2 (3 runs it as a duplicate).
    for (const id of [0, 2]) expect(executedLog(h, id, name)).toEqual([[1, 'd2'], [2, 'd']]);
    expect(executedLog(h, 3, name)).toEqual([[1, 'd'], [2, 'd']]);
    expect(disagreements(h, [0, 2, 3])).toEqual([1]);
  });
});

// ------------------------------------------------------------------------------------ NV-1

/**
 * NV-1. After the base schedule, Byzantine leader 1 sends a DIFFERENT signed NEW-VIEW 1 to each
 * replica: to 0 one whose re-proposal is a no-op where the evidence (PC(v0,d) from 0 and 2) selects
 * d; to 2 one with only two VIEW-CHANGEs; to 3 one listing replica 2's VIEW-CHANGE twice. Every
 * receiver recomputes, rejects, and moves to view 2 at once; view 2's leader 2 re-proposes d.
 * Recomputation is only as good as the rule: with a forgetful rule the no-op NEW-VIEW recomputes
 * "correctly" and is installed.
 */
function nv1Scenario(selectRule?: SelectRule) {
  const base = decidedAtThreeOnly(FAST, selectRule);
  const { h, byz, byzVc1, vc1 } = base;
  const set = [byzVc1, vc1(0), vc1(2)];
  const wrongO = h.newView(1, set, [h.propose(1, 1, NOOP)], byz);
  return { ...base, set, wrongO };
}

describe('NV-1: a Byzantine new leader sends wrong and different NEW-VIEWs', () => {
  it('real rule: each NEW-VIEW is recomputed and rejected, everyone moves to view 2, whose NEW-VIEW re-proposes d; S1 holds', () => {
    const { h, byz, d, name, set, wrongO } = nv1Scenario();
    const out0 = h.inject(0, wrongO);
    const out2 = h.inject(2, h.newView(1, set.slice(0, 2), [h.propose(1, 1, d)], byz));
    const out3 = h.inject(3, h.newView(1, [set[0]!, set[2]!, set[2]!], [h.propose(1, 1, d)], byz));
    const rejected = (what: string) => [
      { type: 'misbehaviour', culprit: 1, what: `invalid NEW-VIEW 1: ${what}` },
      { type: 'view-change-started', view: 2, reason: 'invalid NEW-VIEW from replica 1' },
    ];
    expect(out0.events).toEqual(rejected('slot 1: proposes a different value than the evidence selects'));
    expect(out2.events).toEqual(rejected('carries 2 VIEW-CHANGEs, needs exactly 3'));
    expect(out3.events).toEqual(rejected('carries two VIEW-CHANGEs from replica 2'));
    h.deliverAll();
    expect(newViewBy(h, 2, 2, name)).toEqual({ from: [2, 0, 3], proposals: [[1, 'd']] });
    for (const id of [0, 2, 3]) {
      expect(h.eventsOf(id, 'new-view-installed').map((e) => e.view)).toEqual([2]);
      expect(executedLog(h, id, name)).toEqual([[1, 'd']]);
      expect(alarms(h, id)).toEqual([]);
    }
    expectAgreement(h, [0, 2, 3]);
    // Replayed later, the wrong NEW-VIEW is for a view already passed.
    expect(h.inject(0, wrongO).events).toEqual([{ type: 'drop', reason: 'NEW-VIEW for a view already installed or passed', from: 1 }]);
  });

  it('forgetful rule: the no-op NEW-VIEW passes recomputation at 0, 2 and 3; 0 and 2 execute a no-op where 3 executed d', () => {
    const { h, byz, name, wrongO } = nv1Scenario(forgetfulRule);
    for (const id of [0, 2, 3]) h.inject(id, wrongO);
    h.deliverAll();
    for (const id of [0, 2, 3]) expect(h.eventsOf(id, 'new-view-installed').map((e) => e.view)).toEqual([1]);
    expect(alarms(h, 3)).toEqual(['proposal for slot 1 contradicts its commit certificate']);
    byzVotes(h, byz, 1, 1, NOOP, [0, 2]);
    for (const id of [0, 2]) expect(executedLog(h, id, name)).toEqual([[1, 'noop']]);
    expect(executedLog(h, 3, name)).toEqual([[1, 'd']]);
    expect(disagreements(h, [0, 2, 3])).toEqual([1]);
  });
});

// ------------------------------------------------------------------------------------ FAST-GRIEF-1

/**
 * Delivers in synchronous rounds — everything sent in round k arrives in round k + 1 — until
 * `done()`; returns the rounds it took: message delays from the first send.
 */
function roundsUntil(h: Harness, done: () => boolean, max = 10): number {
  const undo = h.holdWhere(() => true);
  h.deliverAll();
  let rounds = 0;
  while (!done()) {
    if (++rounds > max) throw new Error(`roundsUntil: not done after ${max} rounds`);
    h.release();
    h.deliverAll();
  }
  undo();
  return rounds;
}

const allExecuted = (h: Harness, ids: number[], slot: number) => () => ids.every((id) => executedAt(h, id, slot) !== undefined);

/**
 * FAST-GRIEF-1. Byzantine backup 3 withholds its ACCEPT in every slot. At n = 4 the fast quorum is
 * all four, so no slot can decide fast; safety is untouched (decisions are classic, backed by q
 * COMMITs). CONCURRENT: 3 message delays instead of 2, no timer. DEFERRED: each slot first waits
 * δ for the fast certificate, and after k misses in a row the replicas stop waiting.
 * The view change is where a classic-only history matters: the decision is visible there only as
 * prepare certificates and votes, which a forgetful rule throws away.
 */
describe('FAST-GRIEF-1: a Byzantine backup withholds its ACCEPT in every slot', () => {
  it('concurrent policy: every slot decides on the classic path in 3 message delays (2 without the griefer), the same everywhere', () => {
    const griefed = harness(FAST);
    griefed.crash(3);
    const healthy = harness(FAST);
    const delays: [number, number][] = [];
    for (let slot = 1; slot <= 3; slot++) {
      const delay = (h: Harness, ids: number[]) => {
        h.submit(h.put(slot - 1, `k${slot}`, 'v'), 0);
        return roundsUntil(h, allExecuted(h, ids, slot));
      };
      delays.push([delay(griefed, [0, 1, 2]), delay(healthy, [0, 1, 2, 3])]);
    }
    expect(delays).toEqual([
      [3, 2],
      [3, 2],
      [3, 2],
    ]);
    for (const id of [0, 1, 2]) {
      expect(griefed.executed(id).map((e) => [e.slot, e.view, e.cert.kind])).toEqual([
        [1, 0, 'commit'],
        [2, 0, 'commit'],
        [3, 0, 'commit'],
      ]);
      expect(griefed.r(id).counters.get('classic commits')).toBe(3);
      expect(griefed.r(id).counters.get('fast commits')).toBeUndefined();
      expect(healthy.executed(id).map((e) => e.cert.kind)).toEqual(['fast', 'fast', 'fast']);
    }
    expectAgreement(griefed, [0, 1, 2]);
    for (let slot = 1; slot <= 3; slot++) expect(executedAt(griefed, 0, slot)).toBe(executedAt(healthy, 0, slot));
  });

  it('deferred policy: each of the first 3 slots waits deferTicks for the fast certificate, then the replicas fall back to CLASSIC_ONLY', () => {
    const h = harness({ mode: 'fast', commitPolicy: 'deferred', deferTicks: 4, fastMissLimit: 3, classicSlotsAfterFallback: 64 });
    h.crash(3);
    const correct = [0, 1, 2];
    for (let slot = 1; slot <= 3; slot++) {
      h.submit(h.put(slot - 1, `k${slot}`, 'v'), 0);
      h.deliverAll();
      // Prepared everywhere, no COMMIT yet: waiting for a fast certificate that cannot come.
      for (const id of correct) expect(h.sentBy(id, 'commit').filter((c) => c.slot === slot)).toEqual([]);
      h.run(3);
      expect(correct.map((id) => executedAt(h, id, slot))).toEqual([undefined, undefined, undefined]);
      h.run(1);
      expect(allExecuted(h, correct, slot)()).toBe(true);
    }
    const reason = '3 slots in a row missed the fast certificate';
    // `through` = the highest slot seen or proposed (3) + classicSlotsAfterFallback, at leader and backups alike.
    for (const id of correct) expect(h.eventsOf(id, 'fast-path-fallback')).toEqual([{ type: 'fast-path-fallback', through: 3 + 64, reason }]);
    for (const id of correct) expect(h.r(id).counters.get('fast path misses')).toBe(3);
    // Slot 4: COMMIT as soon as prepared, no waiting — 3 message delays, no tick.
    h.submit(h.put(0, 'k4', 'v'), 0);
    expect(roundsUntil(h, allExecuted(h, correct, 4))).toBe(3);
    expectAgreement(h, correct);
  });

  /**
   * View change under the griefer: correct leader 0's d is decided (classically) at replica 0
   * only — the COMMITs to 1 and 2 are lost — and 1 and 2 time out. VC-set {1, 2: PC(v0,d); 3:
   * empty}: the real rule keeps d; a forgetful rule frees slot 1.
   */
  function griefThenViewChange(selectRule?: SelectRule) {
    const h = harness(FAST, selectRule);
    const byz = 3;
    h.crash(byz);
    h.dropWhere(isCatchUp);
    const d = [h.put(0, 'k', 'd')];
    const name = namer({ d });
    h.dropWhere((e) => isVote('commit', 0)(e) && e.to !== 0);
    h.submit(d[0]!, 'all');
    h.deliverAll();
    expect(h.executed(0).map((e) => [e.slot, e.cert.kind])).toEqual([[1, 'commit']]);
    h.inject(1, h.viewChange(byz, 1));
    h.holdWhere(vcFromTo(0, 1, 1));
    runUntil(h, newViewSent(h, 1, 1));
    return { h, byz, d, name, nv1: newViewBy(h, 1, 1, name) };
  }

  it('real rule, view change after classic-only decisions: the prepared d is re-proposed and executed everywhere', () => {
    const { h, name, nv1 } = griefThenViewChange();
    expect(nv1).toEqual({ from: [1, 2, 3], proposals: [[1, 'd']] });
    for (const id of [0, 1, 2]) {
      expect(executedLog(h, id, name)).toEqual([[1, 'd']]);
      expect(alarms(h, id)).toEqual([]);
    }
    expectAgreement(h, [0, 1, 2]);
  });

  it('forgetful rule: the classic decision, visible only as prepare certificates, is lost; 1 and 2 execute a no-op where 0 executed d', () => {
    const { h, byz, name, nv1 } = griefThenViewChange(forgetfulRule);
    expect(nv1).toEqual({ from: [1, 2, 3], proposals: [[1, 'noop']] });
    expect(alarms(h, 0)).toEqual(['proposal for slot 1 contradicts its commit certificate']);
    byzVotes(h, byz, 1, 1, NOOP, [1, 2]);
    for (const id of [1, 2]) expect(executedLog(h, id, name).slice(0, 1)).toEqual([[1, 'noop']]);
    expect(executedLog(h, 0, name).slice(0, 1)).toEqual([[1, 'd']]);
    expect(disagreements(h, [0, 1, 2])).toEqual([1]);
  });
});
