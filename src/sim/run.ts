/**
 * Runs many simulated schedules and sums them up: the engine behind `byzpax sim` and the
 * simulator tests.
 */
import { defaultSimOptions, Simulation, type ScriptedFault, type SimOptions, type SimResult } from './simulation.ts';
import { defaultParams } from '../core/config.ts';
import { emptyDetections, mergeDetections, type Detections } from './checker.ts';

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
  /** Per committed slot, over the whole cluster (client requests, replies, checkpoints and catch-up included). */
  signsPerCommit: number;
  verifiesPerCommit: number;
  messagesPerCommit: number;
  bytesPerCommit: number;
  /** The same, divided by n: what one replica pays per committed slot on average. */
  signsPerReplicaPerCommit: number;
  verifiesPerReplicaPerCommit: number;
  /**
   * Average over decisions taken on each path: message delays from PROPOSE to the decision (the
   * longest causal chain of messages) and virtual ticks (which also count waiting and slow links).
   */
  fastDecisionDelays: number;
  classicDecisionDelays: number;
  fastDecisionTicks: number;
  classicDecisionTicks: number;
  failedSeeds: number[];
  notLiveSeeds: number[];
  operations: number;
  completed: number;
  viewChanges: number;
  crashes: number;
  stateTransfers: number;
  messages: number;
  /** Highest view a correct replica reached, over all schedules. */
  maxView: number;
  /** What correct replicas and clients caught, summed over all schedules. */
  detections: Detections;
  /** One line per schedule: what happened and what was caught in it. */
  runs: RunLine[];
  seconds: number;
}

export interface RunLine {
  seed: number;
  violations: number;
  live: boolean;
  maxView: number;
  viewChanges: number;
  /** What this schedule's correct replicas and clients caught (see `Detections`; without the verbatim events). */
  detections: Omit<Detections, 'first'>;
}

/** Two leader isolations in the chaos phase: every schedule goes through view changes (leader Byzantine or not). */
export const forcedViewChanges: ScriptedFault[] = [
  { at: 120, action: 'isolate-leader', ticks: 90 },
  { at: 330, action: 'isolate-leader', ticks: 90 },
];

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
    bytesPerCommit: 0,
    signsPerReplicaPerCommit: 0,
    verifiesPerReplicaPerCommit: 0,
    fastDecisionDelays: 0,
    classicDecisionDelays: 0,
    fastDecisionTicks: 0,
    classicDecisionTicks: 0,
    failedSeeds: [],
    notLiveSeeds: [],
    operations: 0,
    completed: 0,
    viewChanges: 0,
    crashes: 0,
    stateTransfers: 0,
    messages: 0,
    maxView: 0,
    detections: emptyDetections(),
    runs: [],
    seconds: 0,
  };
  let signs = 0;
  let verifies = 0;
  let bytes = 0;
  const paths = { fast: { count: 0, hops: 0, ticks: 0 }, classic: { count: 0, hops: 0, ticks: 0 } };
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
    summary.maxView = Math.max(summary.maxView, r.maxView);
    mergeDetections(summary.detections, r.detections);
    summary.runs.push({
      seed,
      violations: r.violations.length,
      live: r.live,
      maxView: r.maxView,
      viewChanges: r.viewChanges,
      detections: (({ first: _first, ...rest }) => rest)(r.detections),
    });
    signs += r.signs;
    verifies += r.verifies;
    bytes += r.bytes;
    for (const k of ['fast', 'classic'] as const) {
      paths[k].count += r.decisions[k].count;
      paths[k].hops += r.decisions[k].hops;
      paths[k].ticks += r.decisions[k].ticks;
    }
    onResult?.(r);
  }
  const per = (x: number) => (summary.committed > 0 ? Math.round((x / summary.committed) * 10) / 10 : 0);
  summary.signsPerCommit = per(signs);
  summary.verifiesPerCommit = per(verifies);
  summary.messagesPerCommit = per(summary.messages);
  summary.bytesPerCommit = Math.round(summary.committed > 0 ? bytes / summary.committed : 0);
  summary.signsPerReplicaPerCommit = per(signs / opts.n);
  summary.verifiesPerReplicaPerCommit = per(verifies / opts.n);
  const avg = (x: number, count: number) => (count > 0 ? Math.round((x / count) * 100) / 100 : 0);
  summary.fastDecisionDelays = avg(paths.fast.hops, paths.fast.count);
  summary.classicDecisionDelays = avg(paths.classic.hops, paths.classic.count);
  summary.fastDecisionTicks = avg(paths.fast.ticks, paths.fast.count);
  summary.classicDecisionTicks = avg(paths.classic.ticks, paths.classic.count);
  summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  return summary;
}
