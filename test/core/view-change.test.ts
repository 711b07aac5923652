/**
 * View change: a silent leader is replaced; what was prepared survives into the new view in the
 * same slot; NEW-VIEW messages are recomputed by every receiver and refused when they differ;
 * VIEW-CHANGE messages with forged evidence are refused; the f+1 join rule.
 */
import { describe, expect, it } from 'vitest';
import type { ClientRequest, NewViewMsg, ViewChangeMsg } from '../../src/core/messages.ts';
import { checkViewChange } from '../../src/core/view-change.ts';
import { batchDigest, Harness, hex, kvResult, plain } from './harness.ts';

describe('a silent leader', () => {
  it('backups time out, replica 1 sends NEW-VIEW, and the request executes in view 1 on every correct replica', () => {
    const h = new Harness();
    const req = h.put(0, 'k', 'v');
    h.crash(0);
    h.submit(req, 'all');
    h.deliverAll();
    // The client sent it to everyone: backups wait relayAfterTicks for a PROPOSE carrying it,
    // then relay it to the silent leader, and keep waiting.
    for (const id of [1, 2, 3]) expect(h.sentBy(id, 'request')).toHaveLength(0);
    const timeout = h.params.requestTimeoutTicks!;
    h.tick(h.params.relayAfterTicks!);
    for (const id of [1, 2, 3]) expect(h.sentBy(id, 'request')).toHaveLength(1);
    h.tick(timeout - 1 - h.params.relayAfterTicks!);
    h.deliverAll();
    for (const id of [1, 2, 3]) expect(h.eventsOf(id, 'view-change-started')).toEqual([]);

    h.tick(1);
    for (const id of [1, 2, 3]) {
      const started = h.eventsOf(id, 'view-change-started');
      expect(started).toEqual([{ type: 'view-change-started', view: 1, reason: 'request 0:1 not executed in time' }]);
      // The output that carries the VIEW-CHANGE persisted view 1 (not normal) first.
      const out = h.outputsOf(id).find((o) => o.send.some((s) => s.message.type === 'view-change'))!;
      expect(out.persist).toContainEqual({ kind: 'view', view: 1, normal: false });
      expect(h.r(id).status).toBe('view-change');
    }
    h.deliverAll();

    // One NEW-VIEW broadcast (copies re-sent to peers whose VIEW-CHANGEs arrive late are answers, not new choices).
    const nvs = h.broadcastBy(1, 'new-view');
    expect(nvs).toHaveLength(1);
    for (const again of h.sentBy(1, 'new-view')) expect(plain(again)).toEqual(plain(nvs[0]));
    const nv = nvs[0]!;
    expect(nv.view).toBe(1);
    expect(nv.viewChanges.map((vc) => vc.from)).toEqual([1, 2, 3]);
    expect(nv.proposals).toEqual([]); // nothing was proposed in view 0
    for (const id of [2, 3]) expect(h.broadcastBy(id, 'new-view')).toEqual([]);

    for (const id of [1, 2, 3]) {
      expect(h.eventsOf(id, 'new-view-installed')).toEqual([{ type: 'new-view-installed', view: 1, leader: 1, reproposed: 0 }]);
      expect(h.r(id).view).toBe(1);
      expect(h.r(id).status).toBe('normal');
      const ex = h.executed(id);
      expect(ex.map((e) => [e.slot, e.view])).toEqual([[1, 1]]);
      expect(kvResult(ex[0]!.applied[0]!.result)).toEqual({ value: null });
      expect(hex(h.r(id).stateDigest())).toBe(hex(h.r(1).stateDigest()));
    }
    const replies = h.repliesTo(0, 1).sort((a, b) => a.sentBy - b.sentBy);
    expect(replies.map((r) => [r.sentBy, r.view, r.slot])).toEqual([
      [1, 1, 1],
      [2, 1, 1],
      [3, 1, 1],
    ]);
    expect(new Set(replies.map((r) => hex(r.result))).size).toBe(1);
  });
});

/**
 * Slot 1 is decided in view 0. Slot 2 (request `r2`) is prepared at replicas 0 and 1 only
 * (ACCEPTs to 2 and 3 and all COMMITs are held back), then the leader falls silent.
 */
function preparedThenSilent(opts: { holdNewView?: boolean } = {}) {
  const h = new Harness();
  const r1 = h.put(0, 'k', 'one');
  h.order(r1);
  const r2 = h.put(1, 'k', 'two');
  const undoAccepts = h.dropWhere((e) => e.message.type === 'accept' && e.message.slot === 2 && (e.to === 2 || e.to === 3));
  const undoCommits = h.dropWhere((e) => e.message.type === 'commit' && e.message.slot === 2);
  h.submit(r2, 'all');
  h.deliverAll();
  undoAccepts();
  undoCommits();
  const prepared = (id: number) => h.persisted(id).some((p) => p.kind === 'prepared' && p.cert.slot === 2);
  expect([0, 1, 2, 3].map(prepared)).toEqual([true, true, false, false]);
  for (let id = 0; id < 4; id++) expect(h.r(id).executed).toBe(1);

  h.crash(0);
  if (opts.holdNewView) h.holdWhere((e) => e.message.type === 'new-view');
  h.tick(h.params.requestTimeoutTicks!);
  h.deliverAll();
  return { h, r1, r2 };
}

describe('what was prepared survives', () => {
  it('a value prepared in view 0 at only some replicas is re-proposed in view 1 in the same slot and executed once', () => {
    const { h, r1, r2 } = preparedThenSilent();
    const vc1 = h.sentBy(1, 'view-change')[0]!;
    const e2 = vc1.slots.find((e) => e.slot === 2)!;
    expect(e2.prepared?.view).toBe(0);
    expect(hex(e2.prepared!.digest)).toBe(hex(batchDigest([r2])));
    const vc2 = h.sentBy(2, 'view-change')[0]!;
    expect(vc2.slots.find((e) => e.slot === 2)?.prepared).toBeUndefined();
    expect(vc2.slots.find((e) => e.slot === 2)?.lastVote?.view).toBe(0);

    const nv = h.broadcastBy(1, 'new-view')[0]!;
    expect(nv.proposals.map((p) => [p.view, p.slot])).toEqual([
      [1, 1],
      [1, 2],
    ]);
    expect(plain(nv.proposals[0]!.batch)).toEqual(plain([r1]));
    expect(plain(nv.proposals[1]!.batch)).toEqual(plain([r2]));

    for (const id of [1, 2, 3]) {
      expect(h.r(id).view).toBe(1);
      const ex = h.executed(id);
      expect(ex.map((e) => [e.slot, e.view])).toEqual([
        [1, 0],
        [2, 1],
      ]);
      expect(kvResult(ex[1]!.applied[0]!.result)).toEqual({ value: 'one' });
      expect(hex(h.r(id).stateDigest())).toBe(hex(h.r(1).stateDigest()));
    }
    // Client 1's request ran once: one reply per replica, all for slot 2.
    expect(h.repliesTo(1, 1).map((r) => [r.sentBy, r.slot]).sort()).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
  });
});

describe('NEW-VIEW validation', () => {
  function heldNewView() {
    const s = preparedThenSilent({ holdNewView: true });
    const held = s.h.takeHeld((e) => e.to === 2);
    expect(held.length).toBeGreaterThanOrEqual(1); // the broadcast, plus answers to late VIEW-CHANGEs
    const nv = held[0]!.message as NewViewMsg;
    expect(s.h.r(2).status).toBe('view-change');
    return { ...s, nv };
  }

  it('the genuine NEW-VIEW is accepted (control)', () => {
    const { h, nv } = heldNewView();
    const out = h.inject(2, nv);
    expect(out.events.filter((e) => e.type !== 'drop')).toEqual([{ type: 'new-view-installed', view: 1, leader: 1, reproposed: 2 }]);
    expect(h.r(2).view).toBe(1);
    expect(h.r(2).status).toBe('normal');
  });

  it('a re-signed NEW-VIEW proposing a different batch than SELECT gives is rejected; the replica moves to view 2', () => {
    const { h, nv } = heldNewView();
    const evil = h.put(2, 'k', 'evil');
    const proposals = [nv.proposals[0]!, h.propose(1, 2, [evil], 1)];
    const tampered = h.newView(1, nv.viewChanges, proposals, 1);
    const out = h.inject(2, tampered);
    const what = 'invalid NEW-VIEW 1: slot 2: proposes a different value than the evidence selects';
    expect(out.events).toEqual([
      { type: 'misbehaviour', culprit: 1, what },
      { type: 'view-change-started', view: 2, reason: 'invalid NEW-VIEW from replica 1' },
    ]);
    expect(out.send.map((s) => s.message.type)).toEqual(['view-change']);
    expect(out.persist).toEqual([{ kind: 'view', view: 2, normal: false }]);
    expect(h.r(2).view).toBe(2);
    expect(h.r(2).status).toBe('view-change');
    expect(h.executed(2).map((e) => e.slot)).toEqual([1]);
  });

  it('a NEW-VIEW that drops a slot the evidence selects is rejected', () => {
    const { h, nv } = heldNewView();
    const out = h.inject(2, h.newView(1, nv.viewChanges, nv.proposals.slice(0, 1), 1));
    expect(out.events[0]).toEqual({ type: 'misbehaviour', culprit: 1, what: 'invalid NEW-VIEW 1: proposes 1 slots, the evidence gives 2' });
    expect(h.r(2).view).toBe(2);
  });

  it('a NEW-VIEW with too few VIEW-CHANGEs is rejected', () => {
    const { h, nv } = heldNewView();
    const out = h.inject(2, h.newView(1, nv.viewChanges.slice(0, 2), nv.proposals, 1));
    expect(out.events[0]).toEqual({ type: 'misbehaviour', culprit: 1, what: 'invalid NEW-VIEW 1: carries 2 VIEW-CHANGEs, needs exactly 3' });
    expect(out.events[1]).toMatchObject({ type: 'view-change-started', view: 2 });
  });

  it('a NEW-VIEW with a duplicated VIEW-CHANGE sender is rejected', () => {
    const { h, nv } = heldNewView();
    const [a, b] = nv.viewChanges as [ViewChangeMsg, ViewChangeMsg, ViewChangeMsg];
    const out = h.inject(2, h.newView(1, [a, b, b], nv.proposals, 1));
    expect(out.events[0]).toEqual({ type: 'misbehaviour', culprit: 1, what: `invalid NEW-VIEW 1: carries two VIEW-CHANGEs from replica ${b.from}` });
    expect(h.r(2).view).toBe(2);
  });

  it('a NEW-VIEW carrying a forged VIEW-CHANGE is rejected', () => {
    const { h, nv } = heldNewView();
    const [a, b, c] = nv.viewChanges as [ViewChangeMsg, ViewChangeMsg, ViewChangeMsg];
    const forgedC = { ...c, slots: [] as ViewChangeMsg['slots'], batches: [] }; // evidence stripped, signature kept
    const out = h.inject(2, h.newView(1, [a, b, forgedC], nv.proposals, 1));
    expect(out.events[0]).toEqual({ type: 'misbehaviour', culprit: 1, what: 'invalid NEW-VIEW 1: view-change: bad signature' });
  });
});

describe('VIEW-CHANGE validation (checkViewChange)', () => {
  function setup() {
    const h = new Harness();
    const req = h.put(0, 'k', 'v');
    const batch = [req];
    const D = batchDigest(batch);
    const ctx = h.r(3).internalsForTests.vcContext;
    return { h, batch, D, ctx };
  }

  it('a valid VIEW-CHANGE with a vote, a prepare and a commit certificate passes', () => {
    const { h, batch, D, ctx } = setup();
    const vc = h.viewChange(2, 1, {
      slots: [{ slot: 1, lastVote: { view: 0, digest: D, leaderSig: h.voteSig('accept', 0, 0, 1, D) }, prepared: h.voteCert('accept', 0, 1, D, [0, 1, 2]), decided: h.decisionCert('commit', 0, 1, D, [0, 1, 2]) }],
      batches: [batch],
    });
    expect(checkViewChange(vc, ctx)).toBeNull();
    // Delivered to a replica in view 0 it is stored, not dropped (one alone does not make it join).
    const out = h.inject(3, vc);
    expect(out.events).toEqual([]);
    expect(h.r(3).view).toBe(0);
  });

  type Setup = ReturnType<typeof setup>;
  const cases: [string, (s: Setup) => ViewChangeMsg, string | ((s: Setup) => string)][] = [
    [
      'a forged lastVote (not signed by the leader of its view)',
      ({ h, batch, D }) => h.viewChange(2, 1, { slots: [{ slot: 1, lastVote: { view: 0, digest: D, leaderSig: h.voteSig('accept', 2, 0, 1, D) } }], batches: [batch] }),
      'view-change slot 1: vote without a valid leader proposal',
    ],
    [
      'a prepare certificate with too few signatures',
      ({ h, batch, D }) => h.viewChange(2, 1, { slots: [{ slot: 1, prepared: h.voteCert('accept', 0, 1, D, [0, 2]) }], batches: [batch] }),
      'view-change slot 1: accept certificate has 2 signatures, needs 3',
    ],
    [
      'a commit certificate for another slot',
      ({ h, batch, D }) => h.viewChange(2, 1, { slots: [{ slot: 1, decided: h.decisionCert('commit', 0, 2, D, [0, 1, 2]) }], batches: [batch] }),
      'view-change slot 1: commit certificate for the wrong slot or view',
    ],
    [
      'a vote not below the new view',
      ({ h, batch, D }) => h.viewChange(2, 1, { slots: [{ slot: 1, lastVote: { view: 1, digest: D, leaderSig: h.voteSig('accept', 1, 1, 1, D) } }], batches: [batch] }),
      'view-change slot 1: vote not below the new view',
    ],
    ['a bad signature', ({ h }) => h.viewChange(2, 1, { signedBy: 3 }), 'view-change: bad signature'],
    [
      'a referenced digest without its body',
      ({ h, D }) => h.viewChange(2, 1, { slots: [{ slot: 1, lastVote: { view: 0, digest: D, leaderSig: h.voteSig('accept', 0, 0, 1, D) } }] }),
      ({ D }) => `view-change: no body for digest ${hex(D).slice(0, 12)}`,
    ],
    ['an unreferenced body', ({ h, batch }) => h.viewChange(2, 1, { batches: [batch] }), 'view-change: carries batch bodies it does not reference'],
    [
      'a slot beyond the high watermark',
      ({ h, batch, D }) => h.viewChange(2, 1, { slots: [{ slot: 257, lastVote: { view: 0, digest: D, leaderSig: h.voteSig('accept', 0, 0, 257, D) } }], batches: [batch] }),
      'view-change: slot 257 beyond the high watermark 256',
    ],
    [
      'a forged checkpoint certificate',
      ({ h }) => h.viewChange(2, 1, { checkpoint: h.checkpointCert(128, new Uint8Array(32), [0, 1]) }),
      'view-change: checkpoint certificate has 2 signatures, needs 3',
    ],
  ];

  for (const [name, build, reason] of cases) {
    it(`${name}: checkViewChange gives its reason and the replica drops it`, () => {
      const s = setup();
      const vc = build(s);
      const problem = checkViewChange(vc, s.ctx);
      expect(problem).toBe(typeof reason === 'string' ? reason : reason(s));
      const out = s.h.inject(3, vc);
      expect(out.events).toEqual([{ type: 'drop', reason: problem, from: 2 }]);
      expect(out.send).toEqual([]);
    });
  }

  it('a dropped VIEW-CHANGE does not count towards the join rule', () => {
    const { h } = setup();
    h.inject(3, h.viewChange(1, 1));
    h.inject(3, h.viewChange(2, 1, { signedBy: 1 }));
    expect(h.r(3).view).toBe(0);
    expect(h.r(3).status).toBe('normal');
  });
});

describe('the join rule', () => {
  it('f+1 VIEW-CHANGEs for a higher view make a replica in normal state join; f do not', () => {
    const h = new Harness();
    const one = h.inject(3, h.viewChange(1, 1));
    expect(one.events).toEqual([]);
    expect(one.send).toEqual([]);
    expect(h.r(3).view).toBe(0);

    const two = h.inject(3, h.viewChange(2, 1));
    expect(two.events).toEqual([{ type: 'view-change-started', view: 1, reason: '2 replicas asked for view 1 or higher' }]);
    expect(two.persist).toEqual([{ kind: 'view', view: 1, normal: false }]);
    expect(two.send.map((s) => [s.to, s.message.type])).toEqual([['all', 'view-change']]);
    expect(h.r(3).view).toBe(1);
    expect(h.r(3).status).toBe('view-change');
  });

  it('joins the smallest view the f+1 ask for', () => {
    const h = new Harness();
    h.inject(3, h.viewChange(1, 5));
    const out = h.inject(3, h.viewChange(2, 2));
    expect(out.events).toEqual([{ type: 'view-change-started', view: 2, reason: '2 replicas asked for view 2 or higher' }]);
    expect(h.r(3).view).toBe(2);
  });

  it('the new leader with n−f VIEW-CHANGEs (its own included) sends NEW-VIEW', () => {
    const h = new Harness();
    h.inject(1, h.viewChange(2, 1));
    const out = h.inject(1, h.viewChange(3, 1)); // joins, and now holds 3 = n − f
    const types = out.send.map((s) => s.message.type);
    expect(types).toEqual(['view-change', 'new-view']);
    const nv = out.send[1]!.message as NewViewMsg;
    expect(nv.viewChanges.map((v) => v.from)).toEqual([1, 2, 3]);
    expect(h.r(1).status).toBe('normal');
    expect(h.r(1).isLeader).toBe(true);
  });
});

describe('requests across the view change', () => {
  it('a request submitted after the failover executes in view 1 at slot 2', () => {
    const h = new Harness();
    h.silentLeaderFailover(h.put(0, 'k', 'v'));
    const next: ClientRequest = h.get(1, 'k');
    h.submit(next, 1);
    h.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(h.executed(id).map((e) => [e.slot, e.view])).toEqual([
        [1, 1],
        [2, 1],
      ]);
      expect(kvResult(h.executed(id)[1]!.applied[0]!.result)).toEqual({ value: 'v' });
    }
  });
});
