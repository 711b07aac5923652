/**
 * Simulator sweeps: a few hundred seeded schedules with loss, duplication, delay, partitions,
 * crashes and restarts (sometimes of the leader, sometimes f replicas kept down through the
 * liveness phase). Every schedule must finish with zero violations, all requests completed and a
 * linearizable client history. A failing seed prints its replay command.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolParams } from '../../src/core/config.ts';
import { runSweep, sweepOptions } from '../../src/sim/run.ts';
import type { SimResult } from '../../src/sim/simulation.ts';

function sweep(n: number, f: number, seed: number, seeds: number, params: Partial<ProtocolParams> = {}) {
  const failures: string[] = [];
  const summary = runSweep(sweepOptions({ n, f, seed, seeds, params }), (r: SimResult) => {
    if (r.violations.length > 0 || !r.live || r.linearizable !== 'ok') {
      failures.push(`seed ${r.seed} (${r.faults}): live=${r.live} lin=${r.linearizable} ${r.violations.join('; ')} — replay: npx byzpax sim --n ${n} --f ${f} --mode ${params.mode ?? 'fast'} --policy ${params.commitPolicy ?? 'deferred'} --seed ${r.seed} --trace`);
    }
  });
  return { summary, failures };
}

describe('simulator sweeps', () => {
  it('classic path, n=4, f=1: 200 schedules are safe and live', () => {
    const { summary, failures } = sweep(4, 1, 1, 200, { mode: 'classic' });
    expect(failures).toEqual([]);
    expect(summary.live).toBe(200);
    // The sweep really exercised faults: crashes, view changes and state transfers happened.
    expect(summary.crashes).toBeGreaterThan(100);
    expect(summary.viewChanges).toBeGreaterThan(50);
    expect(summary.stateTransfers).toBeGreaterThan(10);
    expect(summary.completed).toBe(summary.operations);
  });

  it('classic path, n=7, f=2: 60 schedules are safe and live', () => {
    const { summary, failures } = sweep(7, 2, 1001, 60, { mode: 'classic' });
    expect(failures).toEqual([]);
    expect(summary.live).toBe(60);
    expect(summary.crashes).toBeGreaterThan(20);
  });

  it('classic path, n=5, f=1 (q=4, not 3f+1): 30 schedules are safe and live', () => {
    const { failures } = sweep(5, 1, 2001, 30, { mode: 'classic' });
    expect(failures).toEqual([]);
  });

  // The fast path (mode 'fast'): Qf matching ACCEPTs decide on their own.
  it('fast path, concurrent COMMIT: n=4, 100 schedules are safe and live, and decisions are taken on both paths', () => {
    const { summary, failures } = sweep(4, 1, 5001, 100, { mode: 'fast', commitPolicy: 'concurrent' });
    expect(failures).toEqual([]);
    expect(summary.fastCommits).toBeGreaterThan(1000);
    expect(summary.classicCommits).toBeGreaterThan(100);
  });

  it('fast path, deferred COMMIT: n=4, 100 schedules are safe and live, with fallbacks under loss', () => {
    const { summary, failures } = sweep(4, 1, 6001, 100, { mode: 'fast', commitPolicy: 'deferred' });
    expect(failures).toEqual([]);
    expect(summary.fastCommits).toBeGreaterThan(summary.classicCommits);
    expect(summary.fallbacks).toBeGreaterThan(0);
  });

  it('fast path: n=6, f=1 (Qf=5, tolerates one slow replica), 40 schedules are safe and live', () => {
    const { failures } = sweep(6, 1, 7001, 40, { mode: 'fast', commitPolicy: 'deferred' });
    expect(failures).toEqual([]);
  });
});
