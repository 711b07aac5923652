/**
 * Shared helpers for the Byzantine strategy tests: run one schedule or a sweep with Byzantine
 * replicas, and collect every failure with the command that replays it.
 */
import type { StrategyName } from '../../src/faults/types.ts';
import { forcedViewChanges, sweepOptions } from '../../src/sim/run.ts';
import { Simulation, type SimOptions, type SimResult } from '../../src/sim/simulation.ts';

export type Byz = { id: number; strategy: StrategyName }[];

export function simulation(o: Partial<SimOptions> & { seed: number }): Simulation {
  return new Simulation({ ...sweepOptions(o), seed: o.seed });
}

export function run(o: Partial<SimOptions> & { seed: number }): SimResult {
  return simulation(o).run();
}

export function replay(r: SimResult, o: Partial<SimOptions>): string {
  const byz = (o.byzantine ?? []).map((b) => `${b.id}:${b.strategy}`).join(',');
  return `npx byzpax sim --n ${o.n ?? 4} --f ${o.f ?? 1}${byz ? ` --byzantine ${byz}` : ''}${o.allowMoreThanF ? ' --allow-more-than-f' : ''}${o.script === forcedViewChanges ? ' --force-view-changes' : ''} --seed ${r.seed} --trace`;
}

export interface SweepOutcome {
  results: SimResult[];
  /** One line per schedule that had a violation, was not live, or not linearizable. */
  failures: string[];
  maxView: number;
}

/** Runs `seeds` and reports failures (safety, liveness, linearizability) with replay commands. */
export function sweep(o: Partial<SimOptions>, seeds: number[]): SweepOutcome {
  const results: SimResult[] = [];
  const failures: string[] = [];
  for (const seed of seeds) {
    const r = run({ ...o, seed });
    results.push(r);
    // A misbehaviour event naming a correct replica would be a false accusation: a bug too.
    const faulty = new Set([...(o.byzantine ?? []).map((b) => String(b.id)), ...(o.silent ?? []).map(String)]);
    const accused = Object.keys(r.detections.misbehaviourBy).filter((id) => !faulty.has(id));
    if (r.violations.length > 0 || !r.live || r.linearizable !== 'ok' || accused.length > 0) {
      failures.push(`seed ${seed} [${r.faults}]: live=${r.live} lin=${r.linearizable} accused=[${accused}] ${r.violations.slice(0, 3).join('; ')} — replay: ${replay(r, o)}`);
    }
  }
  return { results, failures, maxView: Math.max(0, ...results.map((r) => r.maxView)) };
}

export const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
