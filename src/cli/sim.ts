/**
 * `byzpax sim`: run the deterministic simulator over many seeds and report violations and
 * liveness. With --json the last line printed is one JSON object. A failing seed is printed with
 * the command that replays it exactly.
 */
import { validateQuorums } from '../core/config.ts';
import { isStrategyName, strategyNames, type StrategyName } from '../faults/types.ts';
import { total, type Detections } from '../sim/checker.ts';
import { forcedViewChanges, runSweep, sweepOptions } from '../sim/run.ts';
import { Simulation } from '../sim/simulation.ts';
import { command, flag, int, intList, intOption, shared, text, UsageError } from './options.ts';

export const cli = command({
  name: 'sim',
  summary: 'run the deterministic simulator',
  options: {
    n: shared.n,
    f: shared.f,
    seeds: int('number of schedules', { arg: 'K', min: 1, defaultText: '100' }),
    seed: int('first seed; alone, replays exactly that seed', { arg: 'S', defaultText: '1' }),
    steps: int('ticks of the chaos phase per schedule', { arg: 'T', default: 600 }),
    crash: flag('crash and restart replicas, sometimes the leader', { defaultText: 'on' }),
    'no-crash': flag('no crashes'),
    calm: flag('no network faults (no loss, duplication, long delays, partitions)'),
    silent: intList('these replicas receive but never send (Byzantine, withholding votes);\nthey count against f, so random crashes are limited to f minus their number'),
    byzantine: text('replica R runs Byzantine strategy S with its real key (byzpax faults lists\nthem), e.g. 0:equivocate,3:double-vote; counted against f like --silent', { arg: 'R:S,…' }),
    'allow-more-than-f': flag('accept more than f silent/Byzantine replicas: guarantees are void, and the\nchecker should then find violations (shows it is not vacuous)'),
    'force-view-changes': shared.forceViewChanges,
    clients: shared.clients,
    ops: shared.ops,
    mode: shared.mode,
    policy: shared.policy,
    trace: flag('print the full event trace (use with a single --seed)'),
    reconfig: flag('membership changes during the run, signed by an admin key: grow by three and\nraise f, shrink, replace a member or the leader, rotate a key (drawn per seed)'),
    json: shared.json,
  },
});

export function simCommand(argv: string[]): number {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  const { n, mode, policy } = values;
  const f = values.f ?? Math.floor((n - 1) / 3);
  try {
    validateQuorums(n, f);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const silent = values.silent ?? [];
  for (const r of silent) if (r >= n) throw new UsageError(`--silent ${r}: there are only replicas 0..${n - 1}`);
  const byzantine = parseByzantine(values.byzantine, n);
  for (const b of byzantine) if (silent.includes(b.id)) throw new UsageError(`replica ${b.id} is both --silent and --byzantine`);
  if (!values.reconfig && byzantine.some((b) => b.strategy === 'removed-member')) {
    throw new UsageError('removed-member attacks once a membership change removes it: add --reconfig (the drawn plan then replaces it)');
  }
  const faulty = new Set(silent).size + byzantine.length;
  const allowMore = values['allow-more-than-f'];
  if (faulty > f && !allowMore) {
    throw new UsageError(`--silent/--byzantine name ${faulty} replicas but f=${f}: more than f faulty replicas void every guarantee (add --allow-more-than-f to watch the checker catch it)`);
  }
  const single = values.seed !== undefined && values.seeds === undefined;
  const opts = sweepOptions({
    n,
    f,
    seed: values.seed ?? 1,
    seeds: single ? 1 : (values.seeds ?? 100),
    steps: values.steps,
    crash: !values['no-crash'],
    networkFaults: !values.calm,
    clients: values.clients,
    opsPerClient: values.ops,
    trace: values.trace,
    silent: [...new Set(silent)],
    byzantine,
    allowMoreThanF: allowMore,
    ...(values.reconfig ? { reconfig: true } : {}),
    ...(values['force-view-changes'] ? { script: forcedViewChanges } : {}),
    params: { mode, commitPolicy: policy },
  });
  const faultFlags = `${silent.length ? ` --silent ${silent.join(',')}` : ''}${byzantine.length ? ` --byzantine ${byzantine.map((b) => `${b.id}:${b.strategy}`).join(',')}` : ''}${allowMore ? ' --allow-more-than-f' : ''}${values['force-view-changes'] ? ' --force-view-changes' : ''}${values.reconfig ? ' --reconfig' : ''}`;

  if (values.trace) {
    const r = new Simulation({ ...opts, seed: opts.seed }).run();
    process.stdout.write(r.trace.join('\n') + '\n');
    process.stdout.write(`${r.violations.length === 0 && r.live ? 'PASSED' : 'FAILED'} seed=${r.seed} violations=${r.violations.length} live=${r.live} maxView=${r.maxView}\n`);
    for (const v of r.violations) process.stdout.write(`  ${v}\n`);
    process.stdout.write(describeDetections(r.detections));
    return r.violations.length === 0 && r.live ? 0 : 1;
  }

  const json = values.json;
  const summary = runSweep(opts, (r) => {
    const failed = r.violations.length > 0 || !r.live;
    if (failed) {
      process.stdout.write(`seed ${r.seed}: ${r.violations.length} violation(s)${r.live ? '' : ', NOT LIVE'} [${r.faults}]\n`);
      for (const v of r.violations.slice(0, 5)) process.stdout.write(`  ${v}\n`);
      process.stdout.write(`  replay: npx byzpax sim --n ${n} --f ${f} --mode ${mode} --policy ${policy}${faultFlags}${values.calm ? ' --calm' : ''}${values['no-crash'] ? ' --no-crash' : ''}${opts.steps !== 600 ? ` --steps ${opts.steps}` : ''}${opts.clients !== 3 ? ` --clients ${opts.clients}` : ''}${opts.opsPerClient !== 8 ? ` --ops ${opts.opsPerClient}` : ''} --seed ${r.seed} --trace\n`);
    } else if (!json && process.stdout.isTTY) {
      process.stdout.write(`\rseed ${r.seed}: ok (${r.committed} slots, ${r.viewChanges} view changes, ${r.crashes} crashes)   `);
    }
  });
  if (!json && process.stdout.isTTY) process.stdout.write('\n');
  if (json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
  } else {
    process.stdout.write(
      `${summary.schedules} schedules, n=${n} f=${f}: ${summary.violations} violations, ${summary.live}/${summary.schedules} live, ` +
        `${summary.committed} slots committed (${summary.fastCommits} fast / ${summary.classicCommits} classic decisions, ${summary.fallbacks} fallbacks), ` +
        `decision delays: fast ${summary.fastDecisionDelays} / classic ${summary.classicDecisionDelays} messages (${summary.fastDecisionTicks} / ${summary.classicDecisionTicks} ticks); ` +
        `per commit: ${summary.signsPerCommit} signatures, ${summary.verifiesPerCommit} verifications, ${summary.messagesPerCommit} messages, ${summary.bytesPerCommit} bytes; ${summary.viewChanges} view changes (highest view ${summary.maxView}), ${summary.crashes} crashes, ${summary.stateTransfers} state transfers, ${summary.seconds}s\n`,
    );
    if (byzantine.length > 0 || silent.length > 0) process.stdout.write(describeDetections(summary.detections));
  }
  return summary.violations > 0 || summary.live < summary.schedules ? 1 : 0;
}

/** `0:equivocate,3:double-vote` → entries, checked against the strategy list and 0..n−1. */
export function parseByzantine(spec: string | undefined, n: number): { id: number; strategy: StrategyName }[] {
  if (spec === undefined || spec.trim() === '') return [];
  const out: { id: number; strategy: StrategyName }[] = [];
  for (const part of spec.split(',')) {
    const [idText, name, extra] = part.trim().split(':');
    if (idText === undefined || name === undefined || extra !== undefined) throw new UsageError(`--byzantine entries are replica:strategy, e.g. 0:equivocate (got '${part}')`);
    const id = intOption(idText.trim(), 'byzantine', 0, 0);
    if (id >= n) throw new UsageError(`--byzantine ${id}: there are only replicas 0..${n - 1}`);
    const strategy = name.trim();
    if (!isStrategyName(strategy)) throw new UsageError(`--byzantine ${id}:${strategy}: unknown strategy (known: ${strategyNames.join(', ')})`);
    if (out.some((b) => b.id === id)) throw new UsageError(`--byzantine names replica ${id} twice`);
    out.push({ id, strategy });
  }
  return out;
}

/** What correct replicas and clients caught, in a few lines. */
export function describeDetections(d: Detections): string {
  const top = (r: Record<string, number>, k = 6) =>
    Object.entries(r)
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([key, v]) => `${v}× ${key}`)
      .join('; ');
  const by = Object.entries(d.misbehaviourBy).map(([id, v]) => `replica ${id}: ${v}`).join(', ');
  const lines = [
    `detected: ${total(d.misbehaviourBy)} misbehaviour proofs${by ? ` (${by})` : ''}${total(d.misbehaviour) ? ` — ${top(d.misbehaviour, 4)}` : ''}`,
    `  drops by correct replicas: ${total(d.drops)}${total(d.drops) ? ` — ${top(d.drops)}` : ''}`,
    `  malformed frames: ${total(d.malformedFrames)}; replies contradicting the accepted result: ${total(d.wrongReplies)}${total(d.wrongReplies) ? ` (${Object.entries(d.wrongReplies).map(([id, v]) => `replica ${id}: ${v}`).join(', ')})` : ''}; replies refused by clients: ${total(d.clientRejections)}`,
  ];
  return lines.join('\n') + '\n';
}
