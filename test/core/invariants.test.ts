/**
 * A replica's own invariants (src/core/invariants.ts): silent on a healthy run, and each one
 * fires, with its exact description, when the state is corrupted on purpose through the
 * test-only `internalsForTests` path. The harness runs them after every step, so a corrupted
 * replica also fails the next step it takes.
 */
import { describe, expect, it } from 'vitest';
import { Harness } from './harness.ts';

/** Four requests through n = 4, everything delivered: every replica has executed slots 1..4. */
function healthy(): Harness {
  const h = new Harness();
  for (let i = 0; i < 4; i++) {
    h.submit(h.put(i % 2, `k${i}`, `v${i}`));
    h.deliverAll();
  }
  for (let id = 0; id < 4; id++) expect(h.r(id).executed).toBe(4);
  return h;
}

describe('invariants()', () => {
  it('is empty on every replica of a healthy run', () => {
    const h = healthy();
    for (let id = 0; id < 4; id++) expect(h.r(id).invariants()).toEqual([]);
  });

  it('names an executed slot whose decision certificate was lost', () => {
    const h = healthy();
    h.r(1).internalsForTests.log.get(2)!.decided = undefined;
    expect(h.r(1).invariants()).toEqual(['executed slot 2 has no decision certificate']);
  });

  it('names a slot decided with its body that execution did not reach', () => {
    const h = healthy();
    h.r(2).internalsForTests.executed = 3;
    expect(h.r(2).invariants()).toEqual(['slot 4 is decided with its body but not executed']);
  });

  it('names a vote in a view above the replica\'s own, and two values signed in one (view, slot)', () => {
    const h = healthy();
    const s = h.r(3).internalsForTests.log.get(1)!;
    const own = s.accepts.get(3)!;
    s.accepts.set(3, { ...own, view: 5 });
    expect(h.r(3).invariants()).toEqual(['slot 1: our ACCEPT is for view 5, above our view 0']);
    s.accepts.set(3, { ...own, digestHex: 'ff'.repeat(32) });
    expect(h.r(3).invariants()).toEqual(['slot 1: our ACCEPT and the proposal we accepted differ in view 0']);
  });

  it('names a stable checkpoint above what was executed', () => {
    const h = healthy();
    const r = h.r(0).internalsForTests;
    r.stableCert = { ...r.stableCert, seq: 8 };
    expect(h.r(0).invariants()).toEqual(['stable checkpoint 8 is above executed 4', 'next slot 5 is at or below the stable checkpoint 8']);
  });

  it('names a view change without our own VIEW-CHANGE', () => {
    const h = healthy();
    h.r(1).internalsForTests.status = 'view-change';
    expect(h.r(1).invariants()).toEqual(['changing to view 0 without our own VIEW-CHANGE for it']);
  });

  it('fails the harness at the next step of a corrupted replica', () => {
    const h = healthy();
    h.r(2).internalsForTests.executed = 3;
    expect(() => h.step(2, { kind: 'tick' })).toThrow('replica 2 violates its invariants after a tick step: slot 4 is decided with its body but not executed');
  });
});
