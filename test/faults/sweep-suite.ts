/**
 * The per-strategy sweep, shared by two test files (one per position, so vitest runs them in
 * parallel): every strategy of the library on one replica of n = 4 (f = 1), with random loss,
 * duplication, delay, partitions and — for the Byzantine replica itself — crashes and restarts
 * from its disk; a few seeds more with the leader cut off twice (forced view changes).
 *
 * Each schedule must be safe (no checker violation), live (every client request completes in the
 * liveness phase) and linearizable, and the correct replicas must settle within a bounded number
 * of views. Bound: measured with `byzpax faults --sweep` per (strategy, replica 0 / 1) over 150
 * random seeds and 130 with forced view changes (plus 40 forced in classic mode): the highest view
 * any correct replica reached was 7 (flood), 6 for most strategies; 10 leaves margin.
 */
import { expect, it } from 'vitest';
import { strategyNames, type StrategyName } from '../../src/faults/types.ts';
import { forcedViewChanges } from '../../src/sim/run.ts';
import { sweep } from './helpers.ts';

export const MAX_VIEW_N4 = 10;

/**
 * Seeds per strategy, kept small for `npm test` (the larger sweep: `npx byzpax faults --sweep
 * --seeds 50 [--force-view-changes]`). flood costs ~4× a normal run (its junk is verified too).
 */
const seedsFor = (s: StrategyName) => (s === 'flood' ? { random: [1], forced: [101] } : { random: [1, 2], forced: [101] });

export function strategySweeps(id: number, position: string): void {
  for (const strategy of strategyNames) {
    it(`${strategy} on replica ${id} (${position}): safe, live, linearizable, settles within ${MAX_VIEW_N4} views`, () => {
      const { random, forced } = seedsFor(strategy);
      const a = sweep({ byzantine: [{ id, strategy }] }, random);
      const b = sweep({ byzantine: [{ id, strategy }], script: forcedViewChanges }, forced);
      expect([...a.failures, ...b.failures]).toEqual([]);
      expect(Math.max(a.maxView, b.maxView)).toBeLessThanOrEqual(MAX_VIEW_N4);
      // The forced schedules really went through view changes.
      expect(b.maxView).toBeGreaterThanOrEqual(1);
    });
  }
}
