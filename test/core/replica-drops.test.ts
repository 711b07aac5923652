/**
 * Every input a replica refuses comes back as a 'drop' event with a named reason, is counted in
 * `replica.counters`, and changes nothing: no persist op, no message, no execution. The reason
 * strings are the ones in the handle* functions of src/core (requests.ts, normal-case.ts, …).
 */
import { describe, expect, it } from 'vitest';
import type { Outputs } from '../../src/core/io.ts';
import type { ReplicaMessage } from '../../src/core/messages.ts';
import { batchDigest, Harness } from './harness.ts';

/** Asserts `out` is exactly one drop with `reason` (from `from`, if given) and nothing else. */
function expectOnlyDrop(h: Harness, id: number, out: Outputs, reason: string, from?: number): void {
  expect(out.persist).toEqual([]);
  expect(out.send).toEqual([]);
  expect(out.executed).toEqual([]);
  expect(out.replies).toEqual([]);
  expect(out.events).toEqual([{ type: 'drop', reason, ...(from === undefined ? {} : { from }) }]);
  expect(h.r(id).counters.get(`drop: ${reason}`)).toBeGreaterThanOrEqual(1);
}

function flip(sig: Uint8Array): Uint8Array {
  const s = new Uint8Array(sig);
  s[0] = s[0]! ^ 0x01;
  return s;
}

describe('PROPOSE drops', () => {
  it('a proposal for an old view', () => {
    const h = new Harness();
    h.silentLeaderFailover(h.put(0, 'a', '1'));
    expect(h.r(2).view).toBe(1);
    expect(h.r(2).status).toBe('normal');
    const stale = h.propose(0, 2, [h.put(1, 'b', '1')]);
    expectOnlyDrop(h, 2, h.inject(2, stale), 'proposal for an old view', 0);
  });

  it('a proposal for a view not installed here (view change in progress, or a future view)', () => {
    const h = new Harness();
    expectOnlyDrop(h, 2, h.inject(2, h.propose(1, 1, [h.put(0, 'a', '1')])), 'proposal for a view not installed here', 1);
  });

  it('a proposal outside the watermarks: slot h+W+1 and slot 0', () => {
    const h = new Harness();
    const W = h.r(1).params.window;
    expect(h.r(1).lowWatermark).toBe(0);
    expect(h.r(1).highWatermark).toBe(W);
    const batch = [h.put(0, 'a', '1')];
    expectOnlyDrop(h, 1, h.inject(1, h.propose(0, W + 1, batch)), 'proposal outside the watermarks', 0);
    expectOnlyDrop(h, 1, h.inject(1, h.propose(0, 0, batch)), 'proposal outside the watermarks', 0);
    // The edge itself is inside.
    expect(h.inject(1, h.propose(0, W, batch)).send.map((s) => s.message.type)).toEqual(['accept']);
  });

  it('a proposal with a bad leader signature', () => {
    const h = new Harness();
    const p = h.propose(0, 1, [h.put(0, 'a', '1')]);
    expectOnlyDrop(h, 1, h.inject(1, { ...p, sig: flip(p.sig) }), 'proposal with a bad leader signature', 0);
    // The leader's valid signature over a different batch does not cover this one either.
    const other = h.propose(0, 1, [h.put(1, 'b', '1')]);
    expectOnlyDrop(h, 1, h.inject(1, { ...p, sig: other.sig }), 'proposal with a bad leader signature', 0);
  });

  it('a PROPOSE signed with a non-leader key', () => {
    const h = new Harness();
    const forged = h.propose(0, 1, [h.put(0, 'a', '1')], 2); // replica 2 signs, but 0 leads view 0
    expectOnlyDrop(h, 1, h.inject(1, forged), 'proposal with a bad leader signature', 0);
    expect(h.r(1).counters.get('drop: proposal with a bad leader signature')).toBe(1);
  });

  it('a proposal reaching the leader of its own view', () => {
    const h = new Harness();
    expectOnlyDrop(h, 0, h.inject(0, h.propose(0, 1, [h.put(0, 'a', '1')])), 'proposal claims to be from this replica', 0);
  });
});

describe('ACCEPT and COMMIT drops', () => {
  const d = () => batchDigest([]);

  it('an ACCEPT with a bad signature (signed by another replica, or bit-flipped)', () => {
    const h = new Harness();
    expectOnlyDrop(h, 1, h.inject(1, h.accept(2, 0, 1, d(), 3)), 'ACCEPT with a bad signature', 2);
    const a = h.accept(2, 0, 1, d());
    expectOnlyDrop(h, 1, h.inject(1, { ...a, sig: flip(a.sig) }), 'ACCEPT with a bad signature', 2);
    // A COMMIT signature is not an ACCEPT signature.
    expectOnlyDrop(h, 1, h.inject(1, { ...a, sig: h.commit(2, 0, 1, d()).sig }), 'ACCEPT with a bad signature', 2);
  });

  it('an ACCEPT for an old view', () => {
    const h = new Harness();
    h.silentLeaderFailover(h.put(0, 'a', '1'));
    expect(h.r(2).view).toBe(1);
    expectOnlyDrop(h, 2, h.inject(2, h.accept(3, 0, 5, d())), 'ACCEPT for an old view', 3);
  });

  it('an ACCEPT outside the watermarks', () => {
    const h = new Harness();
    expectOnlyDrop(h, 1, h.inject(1, h.accept(2, 0, h.r(1).highWatermark + 1, d())), 'ACCEPT outside the watermarks', 2);
  });

  it('a COMMIT outside the watermarks: slot h+W+1 and slot 0', () => {
    const h = new Harness();
    expectOnlyDrop(h, 1, h.inject(1, h.commit(2, 0, h.r(1).highWatermark + 1, d())), 'COMMIT outside the watermarks', 2);
    expectOnlyDrop(h, 1, h.inject(1, h.commit(2, 0, 0, d())), 'COMMIT outside the watermarks', 2);
  });

  it('a COMMIT with a bad signature (an ACCEPT signature is not a COMMIT one)', () => {
    const h = new Harness();
    const c = h.commit(2, 0, 1, d());
    expectOnlyDrop(h, 1, h.inject(1, { ...c, sig: h.accept(2, 0, 1, d()).sig }), 'COMMIT with a bad signature', 2);
  });
});

describe('sender identity', () => {
  it('a message claiming to be from this replica', () => {
    const h = new Harness();
    const mine: ReplicaMessage[] = [h.accept(1, 0, 1, batchDigest([])), h.commit(1, 0, 1, batchDigest([])), h.status(1, 0, 0, 0)];
    for (const m of mine) expectOnlyDrop(h, 1, h.inject(1, m), 'message claims to be from this replica', 1);
    expect(h.r(1).counters.get('drop: message claims to be from this replica')).toBe(3);
  });

  it('a message from an unknown replica id', () => {
    const h = new Harness();
    // Id 7 passes the codec (ids up to 255 decode) but is no member of a 4-replica cluster.
    const m = { ...h.accept(3, 0, 1, batchDigest([])), from: 7 };
    expectOnlyDrop(h, 1, h.inject(1, m), 'message from a replica that is not a member of the current epoch', 7);
    expectOnlyDrop(h, 1, h.inject(1, { ...h.commit(3, 0, 1, batchDigest([])), from: 4 }), 'message from a replica that is not a member of the current epoch', 4);
  });
});

describe('other signed messages with bad signatures', () => {
  it('CHECKPOINT, STATUS, DECISION, STATE and NEW-VIEW signed by the wrong key', () => {
    const h = new Harness({ params: { checkpointInterval: 4, window: 8 } });
    const digest = h.genesisDigest();
    expectOnlyDrop(h, 1, h.inject(1, h.checkpoint(2, 4, digest, 3)), 'CHECKPOINT with a bad signature', 2);
    expectOnlyDrop(h, 1, h.inject(1, { ...h.status(2, 0, 0, 0), sig: h.status(3, 0, 0, 0).sig }), 'STATUS with a bad signature', 2);

    const batch = [h.put(0, 'a', '1')];
    const cert = h.voteCert('commit', 0, 1, batchDigest(batch), [0, 1, 2]);
    const dec = h.decision(2, batch, cert);
    expectOnlyDrop(h, 3, h.inject(3, { ...dec, sig: flip(dec.sig) }), 'DECISION with a bad signature', 2);

    const st = h.state(2, h.checkpointCert(4, digest, [0, 1, 2]), new Uint8Array([1, 2, 3]));
    expectOnlyDrop(h, 3, h.inject(3, { ...st, sig: flip(st.sig) }), 'STATE with a bad signature', 2);

    const vcs = [1, 2, 3].map((from) => h.viewChange(from, 1));
    const nv = h.newView(1, vcs, [], 2); // view 1 is led by replica 1, not 2
    expectOnlyDrop(h, 3, h.inject(3, nv), 'NEW-VIEW with a bad signature', 1);
  });

  it('a CHECKPOINT for a sequence number that is not a checkpoint, or beyond the window', () => {
    const h = new Harness({ params: { checkpointInterval: 4, window: 8 } });
    const digest = h.genesisDigest();
    expectOnlyDrop(h, 1, h.inject(1, h.checkpoint(2, 3, digest)), 'CHECKPOINT for a sequence number outside the window', 2);
    expectOnlyDrop(h, 1, h.inject(1, h.checkpoint(2, 12, digest)), 'CHECKPOINT for a sequence number outside the window', 2);
  });

  it('a VIEW-CHANGE for an old view', () => {
    const h = new Harness();
    h.silentLeaderFailover(h.put(0, 'a', '1'));
    expect(h.r(3).view).toBe(1);
    // Replica 3 moves on to view 2 (two VIEW-CHANGEs for it: the join rule); one for view 1 is then old.
    const lone = h.viewChange(2, 1);
    h.inject(3, h.viewChange(1, 2));
    h.inject(3, h.viewChange(2, 2)); // f+1 → replica 3 joins view 2
    expect(h.r(3).view).toBe(2);
    expectOnlyDrop(h, 3, h.inject(3, lone), 'VIEW-CHANGE for an old view', 2);
  });
});
