/**
 * `byzpax sim`: run the deterministic simulator over many seeds and report violations and
 * liveness. With --json the last line printed is one JSON object. A failing seed is printed with
 * the command that replays it exactly.
 */
import { parseArgs } from 'node:util';
import { validateQuorums } from '../core/config.ts';
import { runSweep, sweepOptions } from '../sim/run.ts';
import { Simulation } from '../sim/simulation.ts';
import { intOption, UsageError } from './args.ts';

export const simHelp = `byzpax sim — run the deterministic simulator

  --n N            replicas (default 4)
  --f F            Byzantine faults tolerated (default ⌊(n−1)/3⌋)
  --seeds K        number of schedules (default 100)
  --seed S         first seed (default 1); alone, replays exactly that seed
  --steps T        ticks of the chaos phase per schedule (default 600)
  --crash          crash and restart replicas, sometimes the leader (default on)
  --no-crash       no crashes
  --calm           no network faults (no loss, duplication, long delays, partitions)
  --silent R,…     these replicas receive but never send (Byzantine, withholding votes);
                   they count against f, so random crashes are limited to f minus their number
  --clients C      closed-loop clients (default 3)
  --ops K          operations per client (default 8)
  --mode M         commit path: classic | fast (default fast)
  --policy P       fast-path COMMIT policy: concurrent | deferred (default deferred)
  --trace          print the full event trace (use with a single --seed)
  --json           print one JSON summary object as the last line
`;

export function simCommand(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      f: { type: 'string' },
      seeds: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      crash: { type: 'boolean' },
      'no-crash': { type: 'boolean' },
      calm: { type: 'boolean' },
      silent: { type: 'string' },
      clients: { type: 'string' },
      ops: { type: 'string' },
      mode: { type: 'string' },
      policy: { type: 'string' },
      trace: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(simHelp);
    return 0;
  }
  const n = intOption(values.n, 'n', 4, 1);
  const f = intOption(values.f, 'f', Math.floor((n - 1) / 3));
  try {
    validateQuorums(n, f);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const mode = values.mode ?? 'fast';
  if (mode !== 'classic' && mode !== 'fast') throw new UsageError(`--mode must be classic or fast (got '${mode}')`);
  const policy = values.policy ?? 'deferred';
  if (policy !== 'concurrent' && policy !== 'deferred') throw new UsageError(`--policy must be concurrent or deferred (got '${policy}')`);
  const silent = values.silent === undefined ? [] : values.silent.split(',').map((x) => intOption(x.trim(), 'silent', 0, 0));
  for (const r of silent) if (r >= n) throw new UsageError(`--silent ${r}: there are only replicas 0..${n - 1}`);
  if (new Set(silent).size > f) throw new UsageError(`--silent names ${new Set(silent).size} replicas but f=${f}: more than f faulty replicas void every guarantee`);
  const single = values.seed !== undefined && values.seeds === undefined;
  const opts = sweepOptions({
    n,
    f,
    seed: intOption(values.seed, 'seed', 1),
    seeds: single ? 1 : intOption(values.seeds, 'seeds', 100, 1),
    steps: intOption(values.steps, 'steps', 600),
    crash: !values['no-crash'],
    networkFaults: !values.calm,
    clients: intOption(values.clients, 'clients', 3, 1),
    opsPerClient: intOption(values.ops, 'ops', 8, 1),
    trace: Boolean(values.trace),
    silent: [...new Set(silent)],
    params: { mode, commitPolicy: policy },
  });

  if (values.trace) {
    const r = new Simulation({ ...opts, seed: opts.seed }).run();
    process.stdout.write(r.trace.join('\n') + '\n');
    process.stdout.write(`${r.violations.length === 0 && r.live ? 'PASSED' : 'FAILED'} seed=${r.seed} violations=${r.violations.length} live=${r.live}\n`);
    for (const v of r.violations) process.stdout.write(`  ${v}\n`);
    return r.violations.length === 0 && r.live ? 0 : 1;
  }

  const json = Boolean(values.json);
  const summary = runSweep(opts, (r) => {
    const failed = r.violations.length > 0 || !r.live;
    if (failed) {
      process.stdout.write(`seed ${r.seed}: ${r.violations.length} violation(s)${r.live ? '' : ', NOT LIVE'} [${r.faults}]\n`);
      for (const v of r.violations.slice(0, 5)) process.stdout.write(`  ${v}\n`);
      process.stdout.write(`  replay: npx byzpax sim --n ${n} --f ${f} --mode ${mode} --policy ${policy}${silent.length ? ` --silent ${silent.join(',')}` : ''}${values.calm ? ' --calm' : ''}${values['no-crash'] ? ' --no-crash' : ''} --seed ${r.seed} --trace\n`);
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
        `per commit: ${summary.signsPerCommit} signatures, ${summary.verifiesPerCommit} verifications, ${summary.messagesPerCommit} messages, ${summary.bytesPerCommit} bytes; ${summary.viewChanges} view changes, ${summary.crashes} crashes, ${summary.stateTransfers} state transfers, ${summary.seconds}s\n`,
    );
  }
  return summary.violations > 0 || summary.live < summary.schedules ? 1 : 0;
}
