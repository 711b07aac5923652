/**
 * `byzpax faults`: the Byzantine strategy library (src/faults). Without options it lists the
 * strategies; `--sweep` runs every strategy (or `--strategies a,b`) on replica 0 (the view-0
 * leader) and replica 1 (a backup, and the next leader) over a range of seeds, and prints one
 * line per (strategy, replica): violations, liveness, views reached and what was detected — the
 * opt-in, larger version of test/faults.
 */
import { validateQuorums } from '../core/config.ts';
import { strategies } from '../faults/registry.ts';
import { isStrategyName, strategyNames, type StrategyName } from '../faults/types.ts';
import { total } from '../sim/checker.ts';
import { forcedViewChanges, runSweep, sweepOptions, type SweepSummary } from '../sim/run.ts';
import { command, flag, int, intList, shared, textList, UsageError } from './options.ts';

export const cli = command({
  name: 'faults',
  summary: 'the Byzantine strategies a replica can run (with its real key)',
  intro: '(no options)     list the strategies with one-line summaries',
  notes: 'One strategy on chosen replicas, or several together:  byzpax sim --byzantine 0:equivocate,3:double-vote',
  options: {
    sweep: flag('run each strategy on replica 0 (view-0 leader) and replica 1 (backup) for\n--seeds schedules each, with crashes and network faults, and report safety,\nliveness, views reached and detections per strategy'),
    strategies: textList('only these strategies', {
      defaultText: 'all',
      check: (x) => (isStrategyName(x) ? undefined : `unknown strategy '${x}' (known: ${strategyNames.join(', ')})`),
    }),
    replicas: intList('which replica runs the strategy', { defaultText: '0,1' }),
    seeds: int('schedules per (strategy, replica)', { arg: 'K', default: 20, min: 1 }),
    seed: int('first seed', { arg: 'S', default: 1 }),
    n: { ...shared.n, help: 'cluster size' },
    f: shared.f,
    'force-view-changes': { ...shared.forceViewChanges, help: 'also cut off the current leader twice per schedule (more view changes)' },
    mode: shared.mode,
    policy: shared.policy,
    json: flag('one JSON object per line, then a summary line'),
  },
});

export function faultsCommand(argv: string[]): number {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  if (!values.sweep) {
    const width = Math.max(...strategies.map((s) => s.name.length));
    if (values.json) process.stdout.write(JSON.stringify(strategies) + '\n');
    else process.stdout.write(`Byzantine strategies (byzpax sim --byzantine R:STRATEGY,…):\n${strategies.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`).join('\n')}\n`);
    return 0;
  }

  const { n, mode, policy, seeds, seed } = values;
  const f = values.f ?? Math.floor((n - 1) / 3);
  try {
    validateQuorums(n, f);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (f < 1) throw new UsageError('a Byzantine replica needs f ≥ 1');
  const chosen = (values.strategies ?? [...strategyNames]) as StrategyName[];
  const replicas = values.replicas ?? [0, 1];
  for (const r of replicas) if (r >= n) throw new UsageError(`--replicas ${r}: there are only replicas 0..${n - 1}`);

  let failed = 0;
  const rows: (Omit<SweepSummary, 'runs' | 'detections'> & { strategy: StrategyName; replica: number; misbehaviour: number; drops: number; malformed: number; wrongReplies: number })[] = [];
  if (!values.json) process.stdout.write(`${'strategy'.padEnd(15)} replica  violations  live     max view  view changes  misbehaviour  drops   malformed  lying replies  seconds\n`);
  for (const strategy of chosen) {
    for (const replica of replicas) {
      const accused = new Set<number>();
      const summary = runSweep(sweepOptions({ n, f, seed, seeds, byzantine: [{ id: replica, strategy }], params: { mode, commitPolicy: policy }, ...(values['force-view-changes'] ? { script: forcedViewChanges } : {}) }), (r) => {
        // Misbehaviour pinned on a correct replica is a false accusation: a bug as much as a violation.
        for (const id of Object.keys(r.detections.misbehaviourBy)) if (Number(id) !== replica) accused.add(r.seed);
      });
      const { runs: _runs, detections: d, ...rest } = summary;
      const row = { strategy, replica, ...rest, misbehaviour: total(d.misbehaviourBy), drops: total(d.drops), malformed: total(d.malformedFrames), wrongReplies: total(d.wrongReplies) };
      rows.push(row);
      if (summary.violations > 0 || summary.live < summary.schedules || accused.size > 0) failed++;
      if (values.json) process.stdout.write(JSON.stringify({ ...row, falselyAccusedSeeds: [...accused], detections: d }) + '\n');
      else {
        process.stdout.write(
          `${strategy.padEnd(15)} ${String(replica).padEnd(8)} ${String(summary.violations).padEnd(11)} ${`${summary.live}/${summary.schedules}`.padEnd(8)} ${String(summary.maxView).padEnd(9)} ${String(summary.viewChanges).padEnd(13)} ${String(row.misbehaviour).padEnd(13)} ${String(row.drops).padEnd(7)} ${String(row.malformed).padEnd(10)} ${String(row.wrongReplies).padEnd(14)} ${summary.seconds}\n`,
        );
        if (accused.size > 0) process.stdout.write(`  a correct replica was accused of misbehaviour in seeds ${[...accused].join(', ')}\n`);
        for (const s of new Set([...summary.failedSeeds, ...summary.notLiveSeeds, ...accused])) {
          process.stdout.write(`  replay: npx byzpax sim --n ${n} --f ${f} --mode ${mode} --policy ${policy} --byzantine ${replica}:${strategy}${values['force-view-changes'] ? ' --force-view-changes' : ''} --seed ${s} --trace\n`);
        }
      }
    }
  }
  if (values.json) process.stdout.write(JSON.stringify({ strategies: chosen.length, replicas, seeds, failed }) + '\n');
  else process.stdout.write(`${rows.length} (strategy, replica) sweeps of ${seeds} schedules, n=${n} f=${f}: ${failed} with a violation, a run that was not live, or a correct replica accused\n`);
  return failed > 0 ? 1 : 0;
}
