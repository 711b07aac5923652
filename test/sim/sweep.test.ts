/**
 * Simulator sweeps: a few hundred seeded schedules with loss, duplication, delay, partitions,
 * crashes and restarts (sometimes of the leader, sometimes f replicas kept down through the
 * liveness phase). Every schedule must finish with zero violations, all requests completed and a
 * linearizable client history. A failing seed prints its replay command.
 */
import { describe, expect, it } from 'vitest';
import { runSweep, sweepOptions } from '../../src/sim/run.ts';
import type { SimResult } from '../../src/sim/simulation.ts';

function sweep(n: number, f: number, seed: number, seeds: number) {
  const failures: string[] = [];
  const summary = runSweep(sweepOptions({ n, f, seed, seeds }), (r: SimResult) => {
    if (r.violations.length > 0 || !r.live || r.linearizable !== 'ok') {
      failures.push(`seed ${r.seed} (${r.faults}): live=${r.live} lin=${r.linearizable} ${r.violations.join('; ')} — replay: npx byzpax sim --n ${n} --f ${f} --seed ${r.seed} --trace`);
    }
  });
  return { summary, failures };
}

describe('simulator sweeps', () => {
  it('n=4, f=1: 200 schedules are safe and live', () => {
    const { summary, failures } = sweep(4, 1, 1, 200);
    expect(failures).toEqual([]);
    expect(summary.live).toBe(200);
    // The sweep really exercised faults: crashes, view changes and state transfers happened.
    expect(summary.crashes).toBeGreaterThan(100);
    expect(summary.viewChanges).toBeGreaterThan(50);
    expect(summary.stateTransfers).toBeGreaterThan(10);
    expect(summary.completed).toBe(summary.operations);
  });

  it('n=7, f=2: 60 schedules are safe and live', () => {
    const { summary, failures } = sweep(7, 2, 1001, 60);
    expect(failures).toEqual([]);
    expect(summary.live).toBe(60);
    expect(summary.crashes).toBeGreaterThan(20);
  });

  it('n=5, f=1 (q=4, not 3f+1): 30 schedules are safe and live', () => {
    const { failures } = sweep(5, 1, 2001, 30);
    expect(failures).toEqual([]);
  });
});
