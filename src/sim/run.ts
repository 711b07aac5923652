/**
 * Runs many simulated schedules and sums them up: the engine behind `byzpax sim` and the
 * simulator tests.
 */
import { defaultSimOptions, Simulation, type SimOptions, type SimResult } from './simulation.ts';
import { defaultParams } from '../core/config.ts';

export interface SweepOptions extends Omit<SimOptions, 'seed'> {
  /** First seed. */
  seed: number;
  /** Number of schedules (seeds seed, seed+1, …). */
  seeds: number;
}

export interface SweepSummary {
  schedules: number;
  violations: number;
  live: number;
  committed: number;
  n: number;
  f: number;
  mode: 'classic' | 'fast';
  policy: 'concurrent' | 'deferred';
  /** Decisions by correct replicas on a fast certificate / on a commit certificate. */
  fastCommits: number;
  classicCommits: number;
  fallbacks: number;
  /** Per committed slot, over the whole cluster. */
  signsPerCommit: number;
  verifiesPerCommit: number;
  messagesPerCommit: number;
  failedSeeds: number[];
  notLiveSeeds: number[];
  operations: number;
  completed: number;
  viewChanges: number;
  crashes: number;
  stateTransfers: number;
  messages: number;
  seconds: number;
}

export function sweepOptions(partial: Partial<SweepOptions> = {}): SweepOptions {
  return { ...defaultSimOptions, seed: 1, seeds: 1, ...partial, params: { ...defaultSimOptions.params, ...partial.params } };
}

export function runSweep(opts: SweepOptions, onResult?: (r: SimResult) => void): SweepSummary {
  const started = performance.now();
  const summary: SweepSummary = {
    schedules: 0,
    violations: 0,
    live: 0,
    committed: 0,
    n: opts.n,
    f: opts.f,
    mode: opts.params.mode ?? defaultParams.mode,
    policy: opts.params.commitPolicy ?? defaultParams.commitPolicy,
    fastCommits: 0,
    classicCommits: 0,
    fallbacks: 0,
    signsPerCommit: 0,
    verifiesPerCommit: 0,
    messagesPerCommit: 0,
    failedSeeds: [],
    notLiveSeeds: [],
    operations: 0,
    completed: 0,
    viewChanges: 0,
    crashes: 0,
    stateTransfers: 0,
    messages: 0,
    seconds: 0,
  };
  let signs = 0;
  let verifies = 0;
  for (let seed = opts.seed; seed < opts.seed + opts.seeds; seed++) {
    const r = new Simulation({ ...opts, seed }).run();
    summary.schedules++;
    summary.violations += r.violations.length;
    if (r.violations.length > 0) summary.failedSeeds.push(seed);
    if (r.live) summary.live++;
    else summary.notLiveSeeds.push(seed);
    summary.committed += r.committed;
    summary.operations += r.operations;
    summary.completed += r.completed;
    summary.viewChanges += r.viewChanges;
    summary.crashes += r.crashes;
    summary.stateTransfers += r.stateTransfers;
    summary.messages += r.messages;
    summary.fastCommits += r.fastCommits;
    summary.classicCommits += r.classicCommits;
    summary.fallbacks += r.fallbacks;
    signs += r.signs;
    verifies += r.verifies;
    onResult?.(r);
  }
  const per = (x: number) => (summary.committed > 0 ? Math.round((x / summary.committed) * 10) / 10 : 0);
  summary.signsPerCommit = per(signs);
  summary.verifiesPerCommit = per(verifies);
  summary.messagesPerCommit = per(summary.messages);
  summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  return summary;
}
