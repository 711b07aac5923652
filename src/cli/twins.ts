/**
 * `byzpax twins`: run enumerated Twins scenarios (src/sim/twins.ts) — one replica runs as two
 * honest instances sharing its key, the network is partitioned differently every round — and
 * report safety violations. A failing scenario is printed with the command that replays it.
 */
import {
  defaultTwinsOptions,
  enumerateTwinsScenarios,
  runTwins,
  runTwinsScenario,
  spreadStride,
  twinsOptions,
  twinsScenarioCount,
  type TwinsOptions,
} from '../sim/twins.ts';
import { brokenSelectRules } from '../sim/broken-select-rules.ts';
import { choice, command, flag, int, shared, text, UsageError } from './options.ts';

const cliTwinsDefaults: TwinsOptions = defaultTwinsOptions;

export const cli = command({
  name: 'twins',
  summary: 'Twins scenarios: one replica twinned (same id and key), partitions per round',
  options: {
    scenarios: text('number of scenarios to run', {
      arg: 'N',
      defaultText: "1000; 'all' for the whole enumeration",
      check: (v) => (v === 'all' || /^\d+$/.test(v) && Number(v) >= 1 ? undefined : `must be 'all' or an integer ≥ 1 (got '${v}')`),
    }),
    offset: int('first scenario number', { arg: 'K', default: 0 }),
    stride: text("step between scenario numbers, modulo the total (default 1;\n'spread' samples evenly across every round's partitions)", {
      check: (v) => (v === 'spread' || /^\d+$/.test(v) && Number(v) >= 1 ? undefined : `must be 'spread' or an integer ≥ 1 (got '${v}')`),
    }),
    scenario: int('run only scenario #K (with --trace, print its event trace)', { arg: 'K' }),
    rounds: int('partitioned rounds before the network heals', { arg: 'R', default: cliTwinsDefaults.rounds, defaultText: `${cliTwinsDefaults.rounds}; n=4: 4·13^R scenarios`, min: 1 }),
    'round-ticks': int('ticks per round', { arg: 'T', default: cliTwinsDefaults.roundTicks, min: 1 }),
    ops: int('operations per client, 2 clients', { arg: 'K', default: cliTwinsDefaults.opsPerClient, min: 1 }),
    mode: shared.mode,
    policy: shared.policy,
    'broken-rule': choice(Object.keys(brokenSelectRules) as (keyof typeof brokenSelectRules)[], 'give the correct replicas an UNSAFE view-change rule, to watch\nTwins catch it', { arg: 'R' }),
    trace: flag('print the event trace (with --scenario)'),
    json: shared.json,
  },
});

export function twinsCommand(argv: string[]): number {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  const { mode, policy } = values;
  const ruleName = values['broken-rule'];
  const opts = twinsOptions({
    rounds: values.rounds,
    roundTicks: values['round-ticks'],
    opsPerClient: values.ops,
    params: { mode, commitPolicy: policy },
    trace: values.trace,
    ...(ruleName ? { selectRule: brokenSelectRules[ruleName] } : {}),
  });
  const total = twinsScenarioCount(opts);
  const flags = [
    opts.rounds !== cliTwinsDefaults.rounds ? `--rounds ${opts.rounds}` : '',
    opts.roundTicks !== cliTwinsDefaults.roundTicks ? `--round-ticks ${opts.roundTicks}` : '',
    opts.opsPerClient !== cliTwinsDefaults.opsPerClient ? `--ops ${opts.opsPerClient}` : '',
    `--mode ${mode} --policy ${policy}`,
    ruleName ? `--broken-rule ${ruleName}` : '',
  ]
    .filter(Boolean)
    .join(' ');

  if (values.scenario !== undefined) {
    const index = values.scenario;
    if (index >= total) throw new UsageError(`--scenario must be below ${total}`);
    const r = runTwinsScenario(index, opts);
    if (values.trace) process.stdout.write(r.trace.join('\n') + '\n');
    const { trace: _trace, ...rest } = r;
    if (values.json) process.stdout.write(JSON.stringify(rest) + '\n');
    else {
      process.stdout.write(
        `${r.violations.length === 0 ? 'PASSED' : 'FAILED'} ${r.scenario}: violations=${r.violations.length} live=${r.live} linearizable=${r.linearizable} ` +
          `committed=${r.committed} maxView=${r.maxView} conflicting proposals/votes/new-views/view-changes=${r.conflictingProposals}/${r.conflictingVotes}/${r.conflictingNewViews}/${r.conflictingViewChanges}\n`,
      );
      for (const v of r.violations) process.stdout.write(`  ${v}\n`);
    }
    return r.violations.length === 0 ? 0 : 1;
  }

  const count = values.scenarios === 'all' ? total : values.scenarios === undefined ? Math.min(1000, total) : Number(values.scenarios);
  if (count > total) throw new UsageError(`--scenarios must be at most ${total}`);
  const offset = values.offset;
  const stride = values.stride === 'spread' ? spreadStride(total) : values.stride === undefined ? 1 : Number(values.stride);
  const json = values.json;
  const sel = { offset, count, stride };
  try {
    enumerateTwinsScenarios(opts, sel).next(); // validates offset, count and stride up front
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const summary = runTwins(opts, sel, (r) => {
    if (r.violations.length > 0) {
      process.stdout.write(`scenario ${r.scenario}: ${r.violations.length} violation(s)\n`);
      for (const v of r.violations.slice(0, 5)) process.stdout.write(`  ${v}\n`);
      process.stdout.write(`  replay: npx byzpax twins ${flags} --scenario ${r.index} --trace\n`);
    } else if (!json && process.stdout.isTTY && r.index % 50 === 0) {
      process.stdout.write(`\rscenario ${r.index}: ok   `);
    }
  });
  if (!json && process.stdout.isTTY) process.stdout.write('\n');
  if (json) {
    process.stdout.write(JSON.stringify({ ...summary, offset, stride, mode, policy, rounds: opts.rounds }) + '\n');
  } else {
    process.stdout.write(
      `${summary.scenarios} of ${summary.total} Twins scenarios (n=${opts.n} f=${opts.f}, ${opts.rounds} rounds, offset ${offset}, stride ${stride}, ${mode}/${policy}): ` +
        `${summary.violations} violations in ${summary.failing.length} scenarios, ${summary.live}/${summary.scenarios} live, ${summary.linearizable} linearizable; ` +
        `twin equivocated (conflicting PROPOSEs) in ${summary.withConflictingProposals}, double-voted in ${summary.withConflictingVotes}, ` +
        `sent conflicting VIEW-CHANGEs in ${summary.withConflictingViewChanges}, NEW-VIEWs in ${summary.withConflictingNewViews}; ` +
        `view changes in ${summary.withViewChange}; ${summary.committed} slots committed; ${summary.seconds}s (${summary.perSecond} scenarios/s)\n`,
    );
    if (summary.failing.length > 0) process.stdout.write(`failing scenarios: ${summary.failing.map((f) => f.index).join(', ')}\n`);
  }
  return summary.violations > 0 ? 1 : 0;
}
