/**
 * The fast path (protocol brief §2.3), message by message: Qf matching ACCEPTs (the PROPOSE counts
 * as the leader's) decide a slot on their own; q ACCEPTs prepare it; the COMMIT policy decides
 * when a prepared replica sends COMMIT (`concurrent`: at once; `deferred`: after `deferTicks`
 * without the fast certificate). A replica that decided fast answers a straggler's COMMIT; after
 * `fastMissLimit` misses in a row a replica stops waiting for `classicSlotsAfterFallback` slots;
 * slots re-proposed by a NEW-VIEW commit without waiting. A shipped fast certificate (DECISION) is
 * checked like a commit certificate. n = 4, f = 1 (q = 3, Qf = 4) unless a test says otherwise.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolParams } from '../../src/core/config.ts';
import type { DecisionCert, DecisionMsg } from '../../src/core/messages.ts';
import { batchDigest, Harness, hex, kvResult, type Envelope } from './harness.ts';

const fast = (extra: Partial<ProtocolParams> = {}): Partial<ProtocolParams> => ({ mode: 'fast', commitPolicy: 'deferred', ...extra });
const signers = (c: { sigs: { from: number }[] }) => c.sigs.map((s) => s.from);

/** Kind, view, slot and signers of every slot replica `id` executed. */
function executedCerts(h: Harness, id: number) {
  return h.executed(id).map((e) => ({ slot: e.slot, kind: e.cert.kind, view: e.cert.view, signers: signers(e.cert) }));
}

function commitsFor(h: Harness, id: number, slot: number) {
  return h.sentBy(id, 'commit').filter((c) => c.slot === slot);
}

/** The output of replica `id` that persisted its prepare certificate for `slot`. */
function preparedOutput(h: Harness, id: number, slot: number) {
  const outs = h.outputsOf(id).filter((o) => o.persist.some((p) => p.kind === 'prepared' && p.cert.slot === slot));
  expect(outs).toHaveLength(1);
  return outs[0]!;
}

const isType = (type: Envelope['message']['type']) => (e: Envelope) => e.message.type === type;

describe('the fast quorum decides', () => {
  it('Qf = all 4 matching ACCEPTs decide fast; under `deferred` no COMMIT is ever sent for the slot', () => {
    const h = new Harness({ params: fast() });
    expect(h.quorums.fast).toBe(4);
    const req = h.put(0, 'k', 'v');
    h.submit(req, 0);
    h.deliverAll();
    h.run(30); // STATUS rounds and retransmission timers: still no COMMIT
    const D = batchDigest([req]);
    for (let id = 0; id < 4; id++) {
      const ex = h.executed(id);
      expect(ex).toHaveLength(1);
      const cert = ex[0]!.cert;
      expect(cert.kind).toBe('fast');
      expect(cert).toMatchObject({ view: 0, slot: 1 });
      expect(hex(cert.digest)).toBe(hex(D));
      expect(signers(cert)).toEqual([0, 1, 2, 3]);
      expect(h.auth.checkDecisionCert(cert)).toBeNull();
      // Qf ACCEPT signatures, not COMMIT signatures.
      expect(h.auth.checkVoteCert('accept', cert, 4)).toBeNull();
      expect(kvResult(ex[0]!.applied[0]!.result)).toEqual({ value: null });
      expect(h.sentBy(id, 'commit')).toEqual([]);
      expect(h.r(id).counters.get('fast commits')).toBe(1);
      expect(h.r(id).counters.get('classic commits')).toBeUndefined();
      expect(h.r(id).counters.get('fast path misses')).toBeUndefined();
      expect(h.persisted(id).filter((p) => p.kind === 'commit-sent')).toEqual([]);
    }
  });

  it('every replica decides fast slot after slot (3 slots, 12 executions, 0 COMMITs)', () => {
    const h = new Harness({ params: fast() });
    h.order(h.put(0, 'a', '1'), h.put(1, 'b', '2'), h.put(2, 'a', '3'));
    for (let id = 0; id < 4; id++) {
      expect(executedCerts(h, id)).toEqual([1, 2, 3].map((slot) => ({ slot, kind: 'fast', view: 0, signers: [0, 1, 2, 3] })));
      expect(h.sentBy(id, 'commit')).toEqual([]);
      expect(h.r(id).counters.get('fast commits')).toBe(3);
    }
  });

  it('Qf−1 = 3 ACCEPTs prepare but never decide fast (with or without waiting)', () => {
    for (const commitPolicy of ['deferred', 'concurrent'] as const) {
      const h = new Harness({ params: fast({ commitPolicy, deferTicks: 3 }) });
      const req = h.put(0, 'k', 'v');
      const D = batchDigest([req]);
      h.inject(1, h.propose(0, 1, [req]));
      const out = h.inject(1, h.accept(2, 0, 1, D)); // leader's PROPOSE + own + replica 2 = 3
      expect(out.persist.map((p) => p.kind)).toEqual(commitPolicy === 'deferred' ? ['prepared'] : ['prepared', 'commit-sent']);
      for (let i = 0; i < 10; i++) h.step(1, { kind: 'tick' });
      expect(h.executed(1)).toEqual([]);
      expect(h.persisted(1).filter((p) => p.kind === 'decided')).toEqual([]);
      expect(h.r(1).counters.get('fast commits')).toBeUndefined();
      // The fourth ACCEPT completes Qf (under `deferred` the wait already ran out and COMMIT went:
      // one miss counted, yet Qf ACCEPTs still decide fast).
      const last = h.inject(1, h.accept(3, 0, 1, D));
      expect(last.executed.map((e) => [e.cert.kind, signers(e.cert)])).toEqual([['fast', [0, 1, 2, 3]]]);
      expect(h.r(1).counters.get('fast path misses')).toBe(commitPolicy === 'deferred' ? 1 : undefined);
    }
  });

  it('ACCEPTs from different views or for different digests do not add up to Qf', () => {
    const h = new Harness({ params: fast({ commitPolicy: 'concurrent' }) });
    const req = h.put(0, 'k', 'v');
    const D = batchDigest([req]);
    const D2 = batchDigest([h.put(1, 'x', 'y')]);
    h.inject(1, h.propose(0, 1, [req]));
    h.inject(1, h.accept(2, 0, 1, D));
    const out = h.inject(1, h.accept(3, 1, 1, D)); // view 1, not 0
    expect(out.executed).toEqual([]);
    const h2 = new Harness({ params: fast({ commitPolicy: 'concurrent' }) });
    h2.inject(1, h2.propose(0, 1, [req]));
    h2.inject(1, h2.accept(2, 0, 1, D));
    const out2 = h2.inject(1, h2.accept(3, 0, 1, D2)); // another digest
    expect(out2.executed).toEqual([]);
    expect(h2.r(1).counters.get('fast commits')).toBeUndefined();
  });
});

describe('`concurrent`: COMMIT at once, decide on whichever certificate completes first', () => {
  it('a prepared replica sends COMMIT in the same step that prepares it; if q COMMITs complete first it decides classically', () => {
    const h = new Harness({ params: fast({ commitPolicy: 'concurrent' }) });
    const req = h.put(0, 'k', 'v');
    // Replica 3's ACCEPT to replica 1 is late: replica 1 can only finish through COMMITs.
    h.holdWhere((e) => e.message.type === 'accept' && e.from === 3 && e.to === 1);
    h.submit(req, 0);
    h.deliverAll();

    const prep = preparedOutput(h, 1, 1);
    expect(prep.send.map((s) => s.message.type)).toEqual(['commit']);
    // Its own COMMIT and the first two that arrived (FIFO: replicas 2 and 3 prepared before the
    // leader's COMMIT reached replica 1).
    expect(executedCerts(h, 1)).toEqual([{ slot: 1, kind: 'commit', view: 0, signers: [1, 2, 3] }]);
    expect(h.r(1).counters.get('classic commits')).toBe(1);
    expect(h.r(1).counters.get('fast commits')).toBeUndefined();

    // The late ACCEPT changes nothing: decided once, by the commit certificate.
    expect(h.held).toHaveLength(1);
    h.clearRules();
    h.release();
    h.deliverAll();
    expect(executedCerts(h, 1)).toEqual([{ slot: 1, kind: 'commit', view: 0, signers: [1, 2, 3] }]);
    expect(h.persisted(1).filter((p) => p.kind === 'decided')).toHaveLength(1);
    expect(h.r(1).counters.get('fast commits')).toBeUndefined();
    // Every replica sent exactly one COMMIT (concurrent: even the ones that end up deciding fast).
    for (let id = 0; id < 4; id++) expect(commitsFor(h, id, 1)).toHaveLength(1);
  });

  it('if the Qf ACCEPTs complete first it decides fast, although its COMMIT already left', () => {
    const h = new Harness({ params: fast({ commitPolicy: 'concurrent' }) });
    const req = h.put(0, 'k', 'v');
    h.holdWhere((e) => e.message.type === 'commit' && e.to === 1);
    h.submit(req, 0);
    h.deliverAll();

    const prep = preparedOutput(h, 1, 1);
    expect(prep.send.map((s) => s.message.type)).toEqual(['commit']);
    expect(prep.executed).toEqual([]); // prepared at q = 3, not decided yet
    expect(executedCerts(h, 1)).toEqual([{ slot: 1, kind: 'fast', view: 0, signers: [0, 1, 2, 3] }]);
    expect(h.r(1).counters.get('fast commits')).toBe(1);

    expect(h.held).toHaveLength(3); // COMMITs from 0, 2, 3
    h.clearRules();
    h.release();
    h.deliverAll();
    expect(executedCerts(h, 1)).toEqual([{ slot: 1, kind: 'fast', view: 0, signers: [0, 1, 2, 3] }]);
    expect(h.persisted(1).filter((p) => p.kind === 'decided')).toHaveLength(1);
    expect(h.r(1).counters.get('classic commits')).toBeUndefined();
    expect(commitsFor(h, 1, 1)).toHaveLength(1);
  });

  it('with one replica silent every slot decides classically, without waiting a single tick', () => {
    const h = new Harness({ params: fast({ commitPolicy: 'concurrent' }) });
    h.isolate(3);
    h.order(h.put(0, 'a', '1'), h.put(1, 'b', '2'));
    for (const id of [0, 1, 2]) {
      expect(executedCerts(h, id)).toEqual([1, 2].map((slot) => ({ slot, kind: 'commit', view: 0, signers: [0, 1, 2] })));
      expect(h.r(id).now).toBe(0);
      expect(h.r(id).counters.get('fast path misses')).toBeUndefined();
    }
  });
});

describe('`deferred`: COMMIT only after deferTicks without the fast certificate', () => {
  it('with one replica silent, COMMIT leaves on exactly the deferTicks-th tick, then the slot decides classically', () => {
    const deferTicks = 7;
    const h = new Harness({ params: fast({ deferTicks }) });
    h.isolate(3);
    const req = h.put(0, 'k', 'v');
    h.submit(req, 0);
    h.deliverAll();
    for (const id of [0, 1, 2]) {
      const prep = preparedOutput(h, id, 1);
      expect(prep.send.filter((s) => s.message.type === 'commit')).toEqual([]);
    }
    for (let t = 1; t < deferTicks; t++) {
      h.tick(1);
      h.deliverAll();
      for (const id of [0, 1, 2]) {
        expect(h.sentBy(id, 'commit'), `tick ${t}`).toEqual([]);
        expect(h.executed(id), `tick ${t}`).toEqual([]);
      }
    }
    h.tick(1); // the deferTicks-th
    for (const id of [0, 1, 2]) {
      expect(h.r(id).now).toBe(deferTicks);
      const c = commitsFor(h, id, 1);
      expect(c).toHaveLength(1);
      expect(c[0]).toMatchObject({ type: 'commit', view: 0, slot: 1, from: id });
      expect(h.r(id).counters.get('fast path misses')).toBe(1);
      expect(h.executed(id)).toEqual([]);
    }
    h.deliverAll();
    for (const id of [0, 1, 2]) {
      expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'commit', view: 0, signers: [0, 1, 2] }]);
      expect(h.r(id).counters.get('classic commits')).toBe(1);
      expect(h.r(id).counters.get('fast commits')).toBeUndefined();
      expect(h.r(id).counters.get('fast path fallbacks')).toBeUndefined(); // 1 miss < fastMissLimit
      expect(commitsFor(h, id, 1)).toHaveLength(1);
    }
  });

  it('a fast certificate that completes during the wait cancels the COMMIT for good', () => {
    const h = new Harness({ params: fast({ deferTicks: 5 }) });
    h.holdWhere((e) => e.message.type === 'accept' && e.from === 3);
    h.submit(h.put(0, 'k', 'v'), 0);
    h.deliverAll();
    h.tick(4);
    h.deliverAll();
    expect(h.executed(1)).toEqual([]);
    h.clearRules();
    h.release();
    h.deliverAll();
    h.run(20);
    for (let id = 0; id < 4; id++) {
      expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'fast', view: 0, signers: [0, 1, 2, 3] }]);
      expect(h.sentBy(id, 'commit')).toEqual([]);
      expect(h.r(id).counters.get('fast path misses')).toBeUndefined();
    }
  });
});

describe('a straggler that missed the fast certificate', () => {
  it('sends COMMIT after its wait; replicas that decided fast answer with their own COMMIT; it decides classically', () => {
    const deferTicks = 4;
    const h = new Harness({ params: fast({ deferTicks }) });
    const req = h.put(0, 'k', 'v');
    const D = batchDigest([req]);
    const undo = h.dropWhere((e) => e.message.type === 'accept' && e.from === 2 && e.to === 3);
    h.submit(req, 0);
    h.deliverAll();
    undo();
    for (const id of [0, 1, 2]) {
      expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'fast', view: 0, signers: [0, 1, 2, 3] }]);
      expect(h.sentBy(id, 'commit')).toEqual([]);
    }
    // Replica 3 is prepared with {0, 1, 3} and waiting for a fast certificate that never comes.
    expect(h.executed(3)).toEqual([]);
    expect(h.persisted(3).map((p) => p.kind)).toEqual(['proposal', 'prepared']);

    h.tick(deferTicks - 1, [3]);
    expect(h.sentBy(3, 'commit')).toEqual([]);
    h.tick(1, [3]);
    expect(commitsFor(h, 3, 1)).toHaveLength(1);
    expect(h.r(3).counters.get('fast path misses')).toBe(1);
    h.deliverAll();

    for (const id of [0, 1, 2]) {
      // Exactly one answering COMMIT each (the others' answers do not trigger a second one).
      const c = commitsFor(h, id, 1);
      expect(c).toHaveLength(1);
      expect(c[0]).toMatchObject({ view: 0, slot: 1, from: id });
      expect(hex(c[0]!.digest)).toBe(hex(D));
      expect(h.broadcastBy(id, 'commit')).toHaveLength(1);
      // Their own decision stays the fast one.
      expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'fast', view: 0, signers: [0, 1, 2, 3] }]);
      expect(h.r(id).counters.get('classic commits')).toBeUndefined();
    }
    // Its own COMMIT plus the first two answers (from 0 and 1): q = 3.
    expect(executedCerts(h, 3)).toEqual([{ slot: 1, kind: 'commit', view: 0, signers: [0, 1, 3] }]);
    expect(h.r(3).executed).toBe(1);
    expect(h.r(3).counters.get('classic commits')).toBe(1);
    expect(hex(h.r(3).stateDigest())).toBe(hex(h.r(0).stateDigest()));
  });

  it('a replica that decided fast answers the first COMMIT it gets (any COMMIT, as the brief says) exactly once, with its decided digest', () => {
    const h = new Harness({ params: fast() });
    const req = h.put(0, 'k', 'v');
    const D = batchDigest([req]);
    h.inject(1, h.propose(0, 1, [req]));
    h.inject(1, h.accept(2, 0, 1, D));
    const dec = h.inject(1, h.accept(3, 0, 1, D));
    expect(dec.executed.map((e) => e.cert.kind)).toEqual(['fast']);
    expect(dec.send).toEqual([]);

    // Even a COMMIT for another digest (a Byzantine replica) is answered, but with a COMMIT for the
    // decided digest only, persisted before it leaves: the replica is prepared for D, so this is
    // the vote it may legitimately give. A Byzantine peer can cost it at most this one signature.
    const ans = h.inject(1, h.commit(3, 0, 1, batchDigest([h.put(1, 'x', 'y')])));
    expect(ans.persist.map((p) => p.kind)).toEqual(['commit-sent']);
    expect(ans.send.map((s) => [s.to, s.message.type])).toEqual([['all', 'commit']]);
    const c = ans.send[0]!.message;
    if (c.type !== 'commit') throw new Error('unreachable');
    expect([c.view, c.slot, c.from]).toEqual([0, 1, 1]);
    expect(hex(c.digest)).toBe(hex(D));
    expect(h.auth.verifyVote('commit', 1, 0, 1, D, c.sig)).toBe(true);
    // Further COMMITs get no second answer, and the decision stays the fast one.
    expect(h.inject(1, h.commit(2, 0, 1, D)).send).toEqual([]);
    expect(h.inject(1, h.commit(0, 0, 1, D)).send).toEqual([]);
    expect(executedCerts(h, 1)).toEqual([{ slot: 1, kind: 'fast', view: 0, signers: [0, 1, 2, 3] }]);
    expect(h.persisted(1).filter((p) => p.kind === 'decided')).toHaveLength(1);
  });
});

describe('fallback after fastMissLimit misses in a row', () => {
  it('emits fast-path-fallback, then the next classicSlotsAfterFallback slots COMMIT at once, then it waits for the fast path again', () => {
    const deferTicks = 2;
    const params = fast({ deferTicks, fastMissLimit: 2, classicSlotsAfterFallback: 2 });
    const h = new Harness({ params });
    const reconnect = h.isolate(3);
    const live = [0, 1, 2];

    /** Orders one request; returns whether it executed everywhere live without any tick. */
    const orderOne = (i: number) => {
      h.submit(h.put(i % 3, `k${i}`, `v${i}`), 0);
      h.deliverAll();
      return live.every((id) => h.r(id).executed === i);
    };
    const waitOut = () => {
      h.tick(deferTicks);
      h.deliverAll();
    };

    // Slots 1 and 2 miss: each waits deferTicks, then commits classically.
    expect(orderOne(1)).toBe(false);
    waitOut();
    for (const id of live) {
      expect(h.r(id).counters.get('fast path misses')).toBe(1);
      expect(h.eventsOf(id, 'fast-path-fallback')).toEqual([]);
    }
    expect(orderOne(2)).toBe(false);
    waitOut();
    for (const id of live) {
      expect(h.r(id).executed).toBe(2);
      expect(h.r(id).counters.get('fast path misses')).toBe(2);
      expect(h.r(id).counters.get('fast path fallbacks')).toBe(1);
      // Paused through slot 4: the two slots after the highest one seen (2).
      expect(h.eventsOf(id, 'fast-path-fallback')).toEqual([{ type: 'fast-path-fallback', through: 4, reason: '2 slots in a row missed the fast certificate' }]);
    }

    // Slots 3 and 4: COMMIT as soon as prepared, decided with no tick at all.
    const now = h.r(1).now;
    expect(orderOne(3)).toBe(true);
    expect(orderOne(4)).toBe(true);
    for (const id of live) {
      expect(h.r(id).now).toBe(now);
      for (const slot of [3, 4]) expect(preparedOutput(h, id, slot).send.filter((s) => s.message.type === 'commit')).toHaveLength(1);
      expect(h.r(id).counters.get('fast path misses')).toBe(2);
    }

    // Slot 5: the pause is over, every replica waits for the fast certificate again (and misses).
    expect(orderOne(5)).toBe(false);
    for (const id of live) {
      expect(commitsFor(h, id, 5)).toEqual([]);
      expect(preparedOutput(h, id, 5).send.filter((s) => s.message.type === 'commit')).toEqual([]);
    }
    waitOut();
    for (const id of live) {
      expect(h.r(id).executed).toBe(5);
      expect(h.r(id).counters.get('fast path misses')).toBe(3);
      expect(h.r(id).counters.get('fast path fallbacks')).toBe(1);
    }

    // Slot 6 with replica 3 back: the fast path works again.
    reconnect();
    expect(orderOne(6)).toBe(true);
    for (const id of live) {
      expect(executedCerts(h, id).map((e) => e.kind)).toEqual(['commit', 'commit', 'commit', 'commit', 'commit', 'fast']);
      expect(commitsFor(h, id, 6)).toEqual([]);
      expect(h.r(id).counters.get('fast commits')).toBe(1);
    }
  });

  it('a fast decision in between resets the run of misses', () => {
    const h = new Harness({ params: fast({ deferTicks: 1, fastMissLimit: 2, classicSlotsAfterFallback: 5 }) });
    let undo = h.isolate(3);
    h.submit(h.put(0, 'a', '1'), 0);
    h.deliverAll();
    h.tick(1);
    h.deliverAll(); // miss 1
    undo();
    // Replica 3 votes for slot 2: fast.
    h.submit(h.put(0, 'a', '2'), 0);
    h.deliverAll();
    undo = h.isolate(3);
    h.submit(h.put(0, 'a', '3'), 0);
    h.deliverAll();
    h.tick(1);
    h.deliverAll(); // miss 2, but not in a row
    for (const id of [0, 1, 2]) {
      expect(executedCerts(h, id).map((e) => e.kind)).toEqual(['commit', 'fast', 'commit']);
      expect(h.r(id).counters.get('fast path misses')).toBe(2);
      expect(h.r(id).counters.get('fast path fallbacks')).toBeUndefined();
      expect(h.eventsOf(id, 'fast-path-fallback')).toEqual([]);
    }
  });
});

describe('view change and the fast path', () => {
  /**
   * Slot 1 is prepared in view 0 at replicas 0, 1, 2 (replica 3's view-0 ACCEPTs are lost both
   * ways) and waiting for its fast certificate; then leader 0 crashes and replicas 1, 2, 3 time
   * out into view 1. VIEW-CHANGEs to the new leader 1 are held, so the view change stays pending.
   */
  function pendingViewChange() {
    const deferTicks = 15;
    const h = new Harness({ params: fast({ deferTicks, requestTimeoutTicks: 10, viewChangeTimeoutTicks: 20 }) });
    const req = h.put(0, 'k', 'v');
    h.dropWhere((e) => e.message.type === 'accept' && e.message.view === 0 && (e.from === 3 || e.to === 3));
    h.submit(req, 'all');
    h.deliverAll();
    for (const id of [0, 1, 2]) expect(preparedOutput(h, id, 1).send.filter((s) => s.message.type === 'commit')).toEqual([]);
    expect(h.persisted(3).filter((p) => p.kind === 'prepared')).toEqual([]);
    h.crash(0);
    h.holdWhere((e) => e.message.type === 'view-change' && e.to === 1);
    h.tick(10);
    for (const id of [1, 2, 3]) expect(h.r(id).status).toBe('view-change');
    h.deliverAll();
    // Well past the view-0 deadline (tick 15), still before the view-change timeout (10 + 20).
    h.tick(12);
    h.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(h.r(id).now).toBe(22);
      expect(h.r(id).status).toBe('view-change');
      // No fast waiting while the view change is pending: the deferred COMMIT never leaves.
      expect(h.sentBy(id, 'commit')).toEqual([]);
      expect(h.r(id).counters.get('fast path misses')).toBeUndefined();
    }
    h.clearRules();
    return { h, req };
  }

  it('no deferred COMMIT during a pending view change; the re-proposed slot then commits classically with no tick', () => {
    const { h, req } = pendingViewChange();
    h.release();
    h.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(h.r(id).view).toBe(1);
      expect(h.r(id).status).toBe('normal');
      expect(h.r(id).now).toBe(22);
      expect(h.eventsOf(id, 'new-view-installed')).toEqual([{ type: 'new-view-installed', view: 1, leader: 1, reproposed: 1 }]);
      expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'commit', view: 1, signers: [1, 2, 3] }]);
      expect(hex(h.executed(id)[0]!.digest)).toBe(hex(batchDigest([req])));
      expect(commitsFor(h, id, 1).map((c) => c.view)).toEqual([1]);
      expect(h.r(id).counters.get('fast path misses')).toBeUndefined();
    }
  });

  it('also when view-1 ACCEPTs reach a replica before its NEW-VIEW does', () => {
    const { h } = pendingViewChange();
    h.holdWhere((e) => e.message.type === 'new-view' && e.to === 3);
    h.release(isType('view-change'));
    h.deliverAll();
    // Replica 2 installed view 1 and ACCEPTed; replica 3 recorded that ACCEPT while still changing views.
    expect(h.r(2).status).toBe('normal');
    expect(h.r(3).status).toBe('view-change');
    expect(h.executed(1)).toEqual([]);
    h.clearRules();
    h.release();
    h.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(h.r(id).now).toBe(22);
      expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'commit', view: 1, signers: [1, 2, 3] }]);
      expect(h.r(id).counters.get('fast path misses')).toBeUndefined();
    }
    // Replica 3's COMMIT left in the very step that installed the NEW-VIEW and prepared the slot
    // (the request it still waits for is relayed to the new leader in the same step).
    expect(preparedOutput(h, 3, 1).send.map((s) => s.message.type)).toEqual(['accept', 'commit', 'request']);
  });

  it('only the re-proposed slots skip the wait: a new slot of the view waits for its fast certificate again', () => {
    const { h } = pendingViewChange();
    h.release();
    h.deliverAll();
    h.submit(h.put(1, 'k2', 'v2'), 1);
    h.deliverAll();
    // Replica 0 is down, so slot 2 can only miss: it waits deferTicks (15) before COMMIT.
    for (const id of [1, 2, 3]) {
      expect(h.r(id).executed).toBe(1);
      expect(preparedOutput(h, id, 2).send.filter((s) => s.message.type === 'commit')).toEqual([]);
      expect(commitsFor(h, id, 2)).toEqual([]);
    }
    h.tick(14);
    h.deliverAll();
    for (const id of [1, 2, 3]) expect(commitsFor(h, id, 2)).toEqual([]);
    h.tick(1);
    h.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(commitsFor(h, id, 2).map((c) => c.view)).toEqual([1]);
      expect(executedCerts(h, id)).toEqual([
        { slot: 1, kind: 'commit', view: 1, signers: [1, 2, 3] },
        { slot: 2, kind: 'commit', view: 1, signers: [1, 2, 3] },
      ]);
      expect(h.r(id).counters.get('fast path misses')).toBe(1);
    }
  });
});

describe('a DECISION carrying a fast certificate', () => {
  function setup() {
    const h = new Harness({ params: fast() });
    const req = h.put(0, 'k', 'v');
    const D = batchDigest([req]);
    /** A DECISION from replica 1 to the lagging replica 3, with the given certificate. */
    const decision = (cert: DecisionCert): DecisionMsg => h.decision(1, [req], cert);
    return { h, req, D, decision };
  }

  function expectNothingExecuted(h: Harness) {
    expect(h.executed(3)).toEqual([]);
    expect(h.r(3).executed).toBe(0);
    expect(h.persisted(3).filter((p) => p.kind === 'decided')).toEqual([]);
  }

  it('Qf−1 signers: dropped with its reason, nothing executes', () => {
    const { h, D, decision } = setup();
    const out = h.inject(3, decision(h.decisionCert('fast', 0, 1, D, [0, 1, 2])));
    expect(out.events).toEqual([{ type: 'drop', reason: 'DECISION: accept certificate has 3 signatures, needs 4', from: 1 }]);
    expect(h.r(3).counters.get('drop: DECISION: accept certificate has 3 signatures, needs 4')).toBe(1);
    expectNothingExecuted(h);
  });

  it('a duplicate signer (4 entries, 3 replicas): dropped', () => {
    const { h, D, decision } = setup();
    const out = h.inject(3, decision(h.decisionCert('fast', 0, 1, D, [0, 1, 2, 2])));
    expect(h.drops(3)).toEqual(['DECISION: certificate names replica 2 twice']);
    expect(out.executed).toEqual([]);
    expectNothingExecuted(h);
  });

  it('a non-member signer: dropped', () => {
    const { h, D, decision } = setup();
    const c = h.decisionCert('fast', 0, 1, D, [0, 1, 2, 3]);
    const outsider: DecisionCert = { ...c, sigs: [c.sigs[0]!, c.sigs[1]!, c.sigs[2]!, { from: 4, sig: c.sigs[3]!.sig }] };
    h.inject(3, decision(outsider));
    expect(h.drops(3)).toEqual(['DECISION: certificate signer 4 is not a member of epoch 0']);
    expectNothingExecuted(h);
  });

  it('COMMIT signatures labelled as fast (and ACCEPT signatures labelled as commit): dropped', () => {
    const { h, D, decision } = setup();
    const commits = h.decisionCert('commit', 0, 1, D, [0, 1, 2, 3]);
    h.inject(3, decision({ ...commits, kind: 'fast' }));
    const accepts = h.decisionCert('fast', 0, 1, D, [0, 1, 2, 3]);
    h.inject(3, decision({ ...accepts, kind: 'commit' }));
    expect(h.drops(3)).toEqual(['DECISION: accept certificate: bad signature from replica 0', 'DECISION: commit certificate: bad signature from replica 0']);
    expectNothingExecuted(h);
  });

  it('a valid fast certificate lets a lagging replica execute (after the bad ones were refused)', () => {
    const { h, D, req, decision } = setup();
    h.inject(3, decision(h.decisionCert('fast', 0, 1, D, [0, 1, 2])));
    const out = h.inject(3, decision(h.decisionCert('fast', 0, 1, D, [3, 2, 1, 0])));
    expect(out.events).toEqual([]);
    expect(out.persist.map((p) => p.kind)).toEqual(['decided']);
    expect(out.executed).toHaveLength(1);
    const e = out.executed[0]!;
    expect(e).toMatchObject({ slot: 1, view: 0 });
    expect(e.cert.kind).toBe('fast');
    expect(signers(e.cert)).toEqual([3, 2, 1, 0]);
    expect(hex(e.digest)).toBe(hex(D));
    expect(e.applied.map((a) => [a.clientId, a.ts])).toEqual([[req.clientId, req.ts]]);
    expect(h.r(3).executed).toBe(1);
    expect(h.r(3).counters.get('fast commits')).toBe(1);
  });

  it('end to end: a replica cut off during a fast decision catches up through STATUS → DECISION with the fast certificate', () => {
    const h = new Harness({ params: fast() });
    // Replica 3 gets the PROPOSE and votes (its ACCEPT goes out) but hears nothing else.
    const undo = h.dropWhere((e) => e.to === 3 && e.message.type !== 'propose');
    h.submit(h.put(0, 'k', 'v'), 0);
    h.deliverAll();
    for (const id of [0, 1, 2]) expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'fast', view: 0, signers: [0, 1, 2, 3] }]);
    expect(h.executed(3)).toEqual([]);
    undo();
    h.run(3 * h.params.statusIntervalTicks!);
    expect(executedCerts(h, 3)).toEqual([{ slot: 1, kind: 'fast', view: 0, signers: [0, 1, 2, 3] }]);
    expect(hex(h.r(3).stateDigest())).toBe(hex(h.r(0).stateDigest()));
  });
});

describe('n = 6, f = 1 (q = 4, Qf = 5, t = 1)', () => {
  it('with one replica silent every slot still decides fast', () => {
    const h = new Harness({ n: 6, f: 1, params: fast() });
    expect([h.quorums.q, h.quorums.fast, h.quorums.t]).toEqual([4, 5, 1]);
    h.isolate(5);
    h.order(h.put(0, 'a', '1'), h.put(1, 'b', '2'), h.put(2, 'c', '3'));
    for (let id = 0; id < 5; id++) {
      expect(executedCerts(h, id)).toEqual([1, 2, 3].map((slot) => ({ slot, kind: 'fast', view: 0, signers: [0, 1, 2, 3, 4] })));
      expect(h.sentBy(id, 'commit')).toEqual([]);
      expect(h.r(id).now).toBe(0);
      expect(h.r(id).counters.get('fast commits')).toBe(3);
    }
  });

  it('with two replicas silent it decides classically (after the deferred wait)', () => {
    const deferTicks = 3;
    const h = new Harness({ n: 6, f: 1, params: fast({ deferTicks }) });
    h.isolate(4);
    h.isolate(5);
    h.submit(h.put(0, 'a', '1'), 0);
    h.deliverAll();
    for (let id = 0; id < 4; id++) expect(h.executed(id)).toEqual([]);
    h.tick(deferTicks);
    h.deliverAll();
    for (let id = 0; id < 4; id++) {
      expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'commit', view: 0, signers: [0, 1, 2, 3] }]);
      expect(commitsFor(h, id, 1)).toHaveLength(1);
      expect(h.r(id).counters.get('fast path misses')).toBe(1);
      expect(h.r(id).counters.get('fast commits')).toBeUndefined();
    }
  });

  it('Qf−1 = 4 ACCEPTs never decide fast, even under `concurrent`', () => {
    const h = new Harness({ n: 6, f: 1, params: fast({ commitPolicy: 'concurrent' }) });
    h.isolate(4);
    h.isolate(5);
    h.order(h.put(0, 'a', '1'));
    for (let id = 0; id < 4; id++) {
      expect(executedCerts(h, id)).toEqual([{ slot: 1, kind: 'commit', view: 0, signers: [0, 1, 2, 3] }]);
      expect(h.r(id).counters.get('fast commits')).toBeUndefined();
    }
  });
});

describe("mode 'classic'", () => {
  for (const commitPolicy of ['deferred', 'concurrent'] as const) {
    it(`never decides fast, even when all n ACCEPTs arrive (commitPolicy '${commitPolicy}' is ignored)`, () => {
      const h = new Harness({ params: { mode: 'classic', commitPolicy, deferTicks: 50 } });
      h.order(h.put(0, 'a', '1'), h.put(1, 'b', '2'));
      for (let id = 0; id < 4; id++) {
        // Every replica received all 4 ACCEPTs (the PROPOSE included) for both slots...
        for (const slot of [1, 2]) {
          expect(preparedOutput(h, id, slot).send.filter((s) => s.message.type === 'commit')).toHaveLength(1);
        }
        // ...and still decided by COMMITs, with no tick of waiting.
        expect(executedCerts(h, id).map((e) => [e.slot, e.kind])).toEqual([
          [1, 'commit'],
          [2, 'commit'],
        ]);
        expect(h.r(id).now).toBe(0);
        expect(h.r(id).counters.get('fast commits')).toBeUndefined();
        expect(h.r(id).counters.get('classic commits')).toBe(2);
      }
      for (let id = 1; id < 4; id++) expect(h.sentBy(id, 'accept')).toHaveLength(2);
    });
  }

  it('Qf ACCEPTs injected one by one at a backup do not decide', () => {
    const h = new Harness({ params: { mode: 'classic' } });
    const req = h.put(0, 'k', 'v');
    const D = batchDigest([req]);
    h.inject(1, h.propose(0, 1, [req]));
    h.inject(1, h.accept(2, 0, 1, D));
    const out = h.inject(1, h.accept(3, 0, 1, D));
    expect(out.executed).toEqual([]);
    expect(h.r(1).executed).toBe(0);
  });
});
