/**
 * The normal case, handler by handler: REQUEST → PROPOSE → ACCEPT → prepared → COMMIT → decided →
 * executed, plus execution order and exactly-once client semantics. n = 4, f = 1, q = 3.
 */
import { describe, expect, it } from 'vitest';
import type { Outputs } from '../../src/core/io.ts';
import type { ClientRequest, ProposeMsg } from '../../src/core/messages.ts';
import { verifyReply } from '../../src/core/replies.ts';
import { batchDigest, Harness, hex, kvResult, plain } from './harness.ts';

const Q = 3;

describe('request at the leader', () => {
  it('yields one PROPOSE broadcast carrying the request, with the proposal persisted in the same output', () => {
    const h = new Harness();
    const req = h.put(0, 'a', '1');
    const [out] = h.submit(req, 0) as [Outputs];

    expect(out.send).toHaveLength(1);
    const send = out.send[0]!;
    expect(send.to).toBe('all');
    const p = send.message as ProposeMsg;
    expect(p).toMatchObject({ type: 'propose', view: 0, slot: 1 });
    expect(plain(p.batch)).toEqual(plain([req]));
    // The proposal's signature is the leader's ACCEPT statement for (0, 1, digest(batch)).
    expect(h.auth.verifyProposal(0, 1, batchDigest([req]), p.sig)).toBe(true);

    // Persist before send: the vote the PROPOSE carries is on disk once the output is carried out.
    expect(plain(out.persist)).toEqual(plain([{ kind: 'proposal', slot: 1, view: 0, batch: [req], sig: p.sig }]));
    expect(out.executed).toEqual([]);
    expect(out.replies).toEqual([]);
    expect(plain(h.disks[0]!.slots.get(1)?.proposal)).toEqual(plain({ view: 0, batch: [req], sig: p.sig }));
  });

  it('fills consecutive slots for consecutive requests and does not re-propose a duplicate', () => {
    const h = new Harness();
    const r1 = h.put(0, 'a', '1');
    const r2 = h.put(1, 'b', '2');
    const [o1] = h.submit(r1, 0) as [Outputs];
    const [o2] = h.submit(r2, 0) as [Outputs];
    const [o3] = h.submit(r1, 0) as [Outputs]; // client retransmits before execution
    expect((o1.send[0]!.message as ProposeMsg).slot).toBe(1);
    expect((o2.send[0]!.message as ProposeMsg).slot).toBe(2);
    expect(o3).toEqual({ persist: [], send: [], replies: [], executed: [], events: [] });
  });
});

describe('PROPOSE at a backup', () => {
  it('persists the proposal and broadcasts exactly one ACCEPT for (view, slot, digest)', () => {
    const h = new Harness();
    const req = h.put(0, 'a', '1');
    const prop = h.propose(0, 1, [req]);
    const out = h.inject(1, prop);
    const digest = batchDigest([req]);

    expect(plain(out.persist)).toEqual(plain([{ kind: 'proposal', slot: 1, view: 0, batch: [req], sig: prop.sig }]));
    expect(out.send).toHaveLength(1);
    expect(out.send[0]!.to).toBe('all');
    const acc = out.send[0]!.message;
    expect(acc).toMatchObject({ type: 'accept', view: 0, slot: 1, from: 1 });
    if (acc.type !== 'accept') throw new Error('unreachable');
    expect(hex(acc.digest)).toBe(hex(digest));
    expect(h.auth.verifyVote('accept', 1, 0, 1, digest, acc.sig)).toBe(true);
    expect(out.events).toEqual([]);

    // The same proposal again: dropped as a duplicate, no second ACCEPT.
    const again = h.inject(1, prop);
    expect(again.send).toEqual([]);
    expect(again.persist).toEqual([]);
    expect(h.drops(1)).toEqual(['duplicate proposal']);
  });

  it('q matching ACCEPTs (the proposal counting as the leader\'s) persist a prepare certificate, then one COMMIT leaves', () => {
    const h = new Harness();
    const req = h.put(0, 'a', '1');
    const digest = batchDigest([req]);
    h.inject(1, h.propose(0, 1, [req]));
    // Leader's proposal + own ACCEPT = 2 < q: nothing yet. A third ACCEPT makes q.
    const out = h.inject(1, h.accept(2, 0, 1, digest));

    expect(out.persist.map((p) => p.kind)).toEqual(['prepared', 'commit-sent']);
    const prepared = out.persist[0]!;
    if (prepared.kind !== 'prepared') throw new Error('unreachable');
    expect(prepared.cert).toMatchObject({ view: 0, slot: 1 });
    expect(prepared.cert.sigs.map((s) => s.from)).toEqual([0, 1, 2]);
    expect(h.auth.checkVoteCert('accept', prepared.cert, Q)).toBeNull();
    expect(plain(out.persist[1])).toEqual(plain({ kind: 'commit-sent', slot: 1, view: 0, digest }));

    expect(out.send).toHaveLength(1);
    const c = out.send[0]!.message;
    expect(c).toMatchObject({ type: 'commit', view: 0, slot: 1, from: 1 });
    if (c.type !== 'commit') throw new Error('unreachable');
    expect(h.auth.verifyVote('commit', 1, 0, 1, digest, c.sig)).toBe(true);

    // A fourth ACCEPT changes nothing: prepared once, one COMMIT.
    const more = h.inject(1, h.accept(3, 0, 1, digest));
    expect(more.persist).toEqual([]);
    expect(more.send).toEqual([]);
  });

  it('q COMMITs decide the slot: executed with its certificate, a reply signed by the replica', () => {
    const h = new Harness();
    const req = h.put(0, 'a', '1');
    const digest = batchDigest([req]);
    h.inject(1, h.propose(0, 1, [req]));
    h.inject(1, h.accept(2, 0, 1, digest)); // prepared, own COMMIT sent
    const none = h.inject(1, h.commit(0, 0, 1, digest)); // 2 COMMITs
    expect(none.executed).toEqual([]);
    const out = h.inject(1, h.commit(2, 0, 1, digest)); // 3 = q

    expect(out.persist.map((p) => p.kind)).toEqual(['decided']);
    expect(out.executed).toHaveLength(1);
    const e = out.executed[0]!;
    expect(e).toMatchObject({ slot: 1, view: 0 });
    expect(hex(e.digest)).toBe(hex(digest));
    expect(plain(e.batch)).toEqual(plain([req]));
    expect(h.auth.checkVoteCert('commit', e.cert, Q)).toBeNull();
    expect(e.applied).toHaveLength(1);
    expect(e.applied[0]).toMatchObject({ clientId: 0, ts: 1 });
    expect(kvResult(e.applied[0]!.result)).toEqual({ value: null });

    expect(out.replies).toHaveLength(1);
    const reply = out.replies[0]!;
    expect(reply.clientId).toBe(0);
    expect(reply.message).toMatchObject({ type: 'reply', view: 0, clientId: 0, ts: 1, slot: 1, from: 1 });
    const m = reply.message;
    expect(verifyReply(h.auth, m)).toBe(true);
    // Signed by replica 1, not by anyone else.
    expect(verifyReply(h.auth, { ...m, from: 2 })).toBe(false);
    expect(h.r(1).executed).toBe(1);
  });
});

describe('a whole cluster', () => {
  it('executes put/get with correct results on every replica and every replica replies', () => {
    const h = new Harness();
    const reqs = [h.put(0, 'k', 'v1'), h.put(1, 'k', 'v2'), h.get(2, 'k'), h.get(0, 'missing')];
    h.order(...reqs);

    const expected = [{ value: null }, { value: 'v1' }, { value: 'v2' }, { value: null }];
    for (let id = 0; id < 4; id++) {
      const ex = h.executed(id);
      expect(ex.map((e) => e.slot)).toEqual([1, 2, 3, 4]);
      expect(ex.map((e) => kvResult(e.applied[0]!.result))).toEqual(expected);
      expect(h.r(id).executed).toBe(4);
      expect(hex(h.r(id).stateDigest())).toBe(hex(h.r(0).stateDigest()));
    }
    reqs.forEach((r, i) => {
      const replies = h.repliesTo(r.clientId, r.ts);
      expect(replies.map((x) => x.sentBy).sort()).toEqual([0, 1, 2, 3]);
      for (const x of replies) {
        expect(x.slot).toBe(i + 1);
        expect(kvResult(x.result)).toEqual(expected[i]);
        expect(x.from).toBe(x.sentBy);
        expect(verifyReply(h.auth, x)).toBe(true);
      }
    });
  });

  it('never sends a vote before the op it depends on is persisted (same output or earlier)', () => {
    const h = new Harness();
    h.order(h.put(0, 'a', '1'), h.put(1, 'b', '2'));
    h.run(12); // ticks: STATUS gossip and retransmissions too
    let votes = 0;
    for (let id = 0; id < 4; id++) {
      const proposals = new Set<string>();
      const commits = new Set<string>();
      for (const out of h.outputsOf(id)) {
        for (const p of out.persist) {
          if (p.kind === 'proposal') proposals.add(`${p.view}/${p.slot}`);
          if (p.kind === 'commit-sent') commits.add(`${p.view}/${p.slot}`);
        }
        for (const s of out.send) {
          const m = s.message;
          if (m.type === 'propose' || m.type === 'accept') {
            votes++;
            expect(proposals.has(`${m.view}/${m.slot}`), `replica ${id} sent ${m.type} ${m.view}/${m.slot} unpersisted`).toBe(true);
          }
          if (m.type === 'commit') {
            votes++;
            expect(commits.has(`${m.view}/${m.slot}`), `replica ${id} sent COMMIT ${m.view}/${m.slot} unpersisted`).toBe(true);
          }
        }
      }
    }
    expect(votes).toBeGreaterThanOrEqual(2 * (1 + 3 + 4)); // per slot: 1 PROPOSE, 3 ACCEPTs, 4 COMMITs
  });

  it('executes strictly in slot order: slot 2 decided first waits for slot 1', () => {
    const h = new Harness();
    const r1 = h.put(0, 'k', 'first');
    const r2 = h.put(1, 'k', 'second');
    h.holdWhere((e) => e.message.type === 'commit' && e.message.slot === 1);
    h.submit(r1, 0);
    h.submit(r2, 0);
    h.deliverAll();

    for (let id = 0; id < 4; id++) {
      // Slot 2 is decided everywhere (persisted), nothing has executed.
      expect(h.persisted(id).filter((p) => p.kind === 'decided').map((p) => (p.kind === 'decided' ? p.cert.slot : -1))).toEqual([2]);
      expect(h.executed(id)).toEqual([]);
      expect(h.r(id).executed).toBe(0);
    }
    h.clearRules();
    h.release();
    h.deliverAll();
    for (let id = 0; id < 4; id++) {
      const ex = h.executed(id);
      expect(ex.map((e) => e.slot)).toEqual([1, 2]);
      expect(ex.map((e) => kvResult(e.applied[0]!.result))).toEqual([{ value: null }, { value: 'first' }]);
    }
  });
});

describe('exactly-once client semantics', () => {
  function executedPut(): { h: Harness; req: ClientRequest } {
    const h = new Harness();
    const req = h.put(0, 'a', '1');
    h.order(req);
    expect(h.r(0).executed).toBe(1);
    return { h, req };
  }

  it('a retransmitted request (same ts) after execution gets the cached reply and is not executed again', () => {
    const { h, req } = executedPut();
    const original = h.repliesTo(0, 1).find((r) => r.sentBy === 0)!;
    for (const to of [0, 2]) {
      const [out] = h.submit(req, to) as [Outputs];
      expect(out.send).toEqual([]);
      expect(out.persist).toEqual([]);
      expect(out.executed).toEqual([]);
      expect(out.replies).toHaveLength(1);
      const r = out.replies[0]!.message;
      expect(r).toMatchObject({ clientId: 0, ts: 1, slot: 1, from: to, view: 0 });
      expect(kvResult(r.result)).toEqual({ value: null });
    }
    // The leader's second reply is the cached one, byte for byte.
    const again = h.repliesTo(0, 1).filter((r) => r.sentBy === 0);
    expect(again).toHaveLength(2);
    expect(hex(again[1]!.sig)).toBe(hex(original.sig));
    h.deliverAll();
    for (let id = 0; id < 4; id++) expect(h.executed(id)).toHaveLength(1);
  });

  it('an older ts than the last executed one is dropped with its reason', () => {
    const h = new Harness();
    h.order(h.put(0, 'a', '1'), h.put(0, 'a', '2'));
    const stale = h.put(0, 'a', 'stale', 1);
    const [out] = h.submit(stale, 0) as [Outputs];
    expect(out.send).toEqual([]);
    expect(out.replies).toEqual([]);
    expect(out.events).toEqual([{ type: 'drop', reason: 'request older than the last executed one', from: 0 }]);
    expect(h.r(0).counters.get('drop: request older than the last executed one')).toBe(1);
  });

  it('a request from an unknown client is dropped', () => {
    const h = new Harness();
    const op = h.put(0, 'a', '1').op;
    const unknown: ClientRequest = { clientId: 99, ts: 1, op, sig: h.clientSigners[0]!.sign(h.auth.statements.request({ clientId: 99, ts: 1, op })) };
    const [out] = h.submit(unknown, 0) as [Outputs];
    expect(out.send).toEqual([]);
    expect(out.persist).toEqual([]);
    expect(h.drops(0)).toEqual(['request from unknown client']);
    expect(h.r(0).counters.get('drop: request from unknown client')).toBe(1);
  });

  it('a request with a bad client signature is dropped, at the leader and at a backup, when no channel vouches for its client', () => {
    const h = new Harness();
    const good = h.put(0, 'a', '1');
    const wrongKey: ClientRequest = { ...good, sig: h.clientSigners[1]!.sign(h.auth.statements.request(good)) };
    const tampered: ClientRequest = { ...good, op: h.put(0, 'a', '2').op };
    for (const bad of [wrongKey, tampered]) {
      for (const to of [0, 1]) {
        const [out] = h.submit(bad, to, null) as [Outputs];
        expect(out.send).toEqual([]);
        expect(out.events).toEqual([{ type: 'drop', reason: 'bad client signature', from: 0 }]);
      }
    }
    expect(h.r(0).counters.get('drop: bad client signature')).toBe(2);
    expect(h.r(1).counters.get('drop: bad client signature')).toBe(2);
  });

  it('a backup relays a request from no known channel to the leader at once', () => {
    const h = new Harness();
    const req = h.put(0, 'a', '1');
    const [out] = h.submit(req, 2, null) as [Outputs];
    expect(plain(out.send)).toEqual(plain([{ to: 0, message: { type: 'request', request: req } }]));
    h.deliverAll();
    expect(h.r(2).executed).toBe(1);
  });

  it('a backup relays a request from its client after relayAfterTicks, unless a PROPOSE carried it meanwhile', () => {
    const h = new Harness();
    const req = h.put(0, 'a', '1');
    const [out] = h.submit(req, 2) as [Outputs];
    expect(out.send).toEqual([]);
    h.tick(h.params.relayAfterTicks! - 1, [2]);
    expect(h.sentBy(2, 'request')).toEqual([]);
    h.tick(1, [2]);
    expect(plain(h.sentBy(2, 'request'))).toEqual(plain([{ type: 'request', request: req }]));
    h.deliverAll();
    expect(h.r(2).executed).toBe(1);
    // Sent to everyone, the leader proposes it before the backups would relay: no relay at all.
    const next = h.put(1, 'a', '2');
    h.submit(next, 'all');
    h.deliverAll();
    h.run(h.params.relayAfterTicks! + 1);
    for (const id of [1, 2, 3]) expect(h.sentBy(id, 'request').filter((m) => m.request.clientId === 1)).toEqual([]);
    for (const id of [0, 1, 2, 3]) expect(h.r(id).executed).toBe(2);
  });
});

describe('a decision that arrives before its proposal', () => {
  /** Replica 3 hears nothing until 0–2 have decided and executed slot 1; then its COMMITs arrive first. */
  function commitsFirst() {
    const h = new Harness();
    const req = h.put(0, 'k', 'v');
    h.holdWhere((e) => e.to === 3);
    h.submit(req, 0);
    h.deliverAll();
    expect(h.r(0).executed).toBe(1);
    h.clearRules();
    h.release((e) => e.message.type === 'commit');
    // q COMMITs: decided, but without the batch body nothing can execute yet.
    expect(h.persisted(3).map((p) => p.kind)).toEqual(['decided']);
    expect(h.r(3).executed).toBe(0);
    return { h, req };
  }

  it('a DECISION then supplies the body and the slot executes', () => {
    const { h, req } = commitsFirst();
    h.takeHeld();
    const decided = h.persisted(0).find((p) => p.kind === 'decided');
    if (decided?.kind !== 'decided') throw new Error('unreachable');
    const out = h.inject(3, h.decision(1, [req], decided.cert));
    expect(out.executed.map((e) => e.slot)).toEqual([1]);
    expect(h.r(3).executed).toBe(1);
  });

  // Regression: a slot decided by q COMMITs before its PROPOSE arrived was never executed when the
  // PROPOSE later brought the body, and catch-up did not help (handleDecision returned early because
  // decision and body were both present). Storing a body for a decided slot now executes it.
  it('executes once the PROPOSE supplies the body (and catch-up gossip does not leave it stuck)', () => {
    const { h } = commitsFirst();
    h.release(); // the PROPOSE and ACCEPTs
    h.deliverAll();
    h.run(4 * h.params.statusIntervalTicks!); // STATUS → DECISION rounds
    expect(h.r(3).executed).toBe(1);
  });
});
