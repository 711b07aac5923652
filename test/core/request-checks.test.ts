/**
 * Each client signature checked once where it matters (src/core/request-checks.ts): backups take
 * requests from their clients' own channels unchecked and match PROPOSEd copies by digest; the
 * leader checks everything it proposes. Each test is a client or a leader trying to exploit the
 * shortcut, and failing.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ClientRequest } from '../../src/core/messages.ts';
import { Harness, hex } from './harness.ts';

/** The same request with one bit of its signature flipped. */
function badlySigned(r: ClientRequest): ClientRequest {
  const sig = new Uint8Array(r.sig);
  sig[5]! ^= 0x01;
  return { ...r, sig };
}

function viewChanges(h: Harness): number {
  return [0, 1, 2, 3].reduce((n, id) => n + h.eventsOf(id, 'view-change-started').length, 0);
}

/** Client `clientId`'s requests each replica executed, as "ts:op-hex". */
function executedBy(h: Harness, id: number, clientId: number): string[] {
  return h.executed(id).flatMap((e) => e.batch.filter((r) => r.clientId === clientId).map((r) => `${r.ts}:${hex(r.op)}`));
}

function spyOnRequestChecks(h: Harness): { calls: (id: number) => number } {
  const spies = [0, 1, 2, 3].map((id) => vi.spyOn(h.r(id).auth, 'verifyRequest'));
  return { calls: (id) => spies[id]!.mock.calls.length };
}

describe('client signatures are checked once where it matters', () => {
  it('the leader checks each request; backups holding the same bytes from the client check none', () => {
    const h = new Harness();
    const checks = spyOnRequestChecks(h);
    for (let i = 0; i < 3; i++) h.submit(h.put(i, `k${i}`, 'v'), 'all');
    h.deliverAll();
    for (const id of [0, 1, 2, 3]) expect(executedBy(h, id, 0)).toHaveLength(1);
    // The leader checks each (the backups' relays of the same bytes are cache hits, but asked for).
    expect(checks.calls(0)).toBeGreaterThanOrEqual(3);
    for (const id of [1, 2, 3]) expect(checks.calls(id)).toBe(0);
  });

  it('a request that reaches a backup only inside a PROPOSE, or relayed, is checked there', () => {
    const h = new Harness();
    const checks = spyOnRequestChecks(h);
    h.submit(h.put(0, 'a', '1'), 0); // the leader alone got it from the client
    h.deliverAll();
    for (const id of [1, 2, 3]) {
      expect(executedBy(h, id, 0)).toHaveLength(1);
      expect(checks.calls(id)).toBe(1);
    }
  });

  it('a bad signature to the leader alone: the backups relay good copies, the leader orders one, nobody is blamed', () => {
    const h = new Harness();
    const good = h.put(0, 'a', '1');
    h.submit(badlySigned(good), 0);
    expect(h.drops(0)).toContain('bad client signature');
    for (const id of [1, 2, 3]) h.submit(good, id);
    h.run(3 * 10);
    for (const id of [0, 1, 2, 3]) expect(executedBy(h, id, 0)).toEqual([`1:${hex(good.op)}`]);
    expect(viewChanges(h)).toBe(0);
  });

  it('a bad signature to the backups alone: the copies differ from the proposed one, which they check and accept', () => {
    const h = new Harness();
    const checks = spyOnRequestChecks(h);
    const good = h.put(0, 'a', '1');
    h.submit(good, 0);
    for (const id of [1, 2, 3]) h.submit(badlySigned(good), id);
    h.run(3 * 10);
    for (const id of [0, 1, 2, 3]) expect(executedBy(h, id, 0)).toEqual([`1:${hex(good.op)}`]);
    for (const id of [1, 2, 3]) expect(checks.calls(id)).toBe(1);
    expect(viewChanges(h)).toBe(0);
  });

  it('a bad signature to everyone: the leader drops it, each backup checks it before suspecting the leader, and drops it too', () => {
    const h = new Harness();
    h.submit(badlySigned(h.put(0, 'a', '1')), 'all');
    h.run(5 * 10);
    expect(viewChanges(h)).toBe(0);
    expect(h.r(0).executed).toBe(0);
    for (const id of [1, 2, 3]) {
      expect(h.drops(id)).toContain('bad client signature (checked before suspecting the leader)');
      expect(h.r(id).internalsForTests.waiting.size).toBe(0);
    }
  });

  it('different requests under one request number to different replicas: one is ordered everywhere, nobody is blamed', () => {
    const h = new Harness();
    const a = h.put(0, 'k', 'A', 1);
    const b = h.put(0, 'k', 'B', 1);
    h.submit(a, 0);
    h.submit(a, 1);
    h.submit(b, 2);
    h.submit(b, 3);
    h.run(3 * 10);
    for (const id of [0, 1, 2, 3]) expect(executedBy(h, id, 0)).toEqual([`1:${hex(a.op)}`]);
    expect(viewChanges(h)).toBe(0);
    // The client asking again with B gets the answer its request number already has.
    h.submit(b, 2);
    expect(h.repliesTo(0, 1).filter((r) => r.sentBy === 2).every((r) => r.slot === 1)).toBe(true);
  });

  it('a leader proposing a forged request is blamed by backups that hold the real one', () => {
    const h = new Harness();
    const real = h.put(0, 'a', '1');
    for (const id of [1, 2, 3]) h.submit(real, id);
    const forged = h.propose(0, 1, [badlySigned(real)]);
    for (const id of [1, 2, 3]) h.inject(id, forged);
    for (const id of [1, 2, 3]) {
      expect(h.eventsOf(id, 'misbehaviour').map((e) => e.what)).toContain("proposed an invalid batch: bad signature on client 0's request 1");
      expect(h.eventsOf(id, 'view-change-started')).toHaveLength(1);
    }
  });

  it('a replica that becomes leader checks the requests it took unchecked as a backup before proposing them', () => {
    const h = new Harness();
    h.crash(0);
    const good = h.put(1, 'g', '1');
    const bad = badlySigned(h.put(0, 'b', '1'));
    for (const id of [1, 2, 3]) h.submit(good, id);
    for (const id of [1, 2, 3]) h.submit(bad, id);
    h.run(10 * 10);
    expect(h.r(1).isLeader).toBe(true);
    for (const id of [1, 2, 3]) {
      expect(executedBy(h, id, 1)).toEqual([`1:${hex(good.op)}`]);
      expect(executedBy(h, id, 0)).toEqual([]);
    }
    expect(h.drops(1)).toContain('bad client signature');
  });
});
