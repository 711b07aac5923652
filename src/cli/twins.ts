/**
 * `byzpax twins`: run enumerated Twins scenarios (src/sim/twins.ts) — one replica runs as two
 * honest instances sharing its key, the network is partitioned differently every round — and
 * report safety violations. A failing scenario is printed with the command that replays it.
 */
import { parseArgs } from 'node:util';
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
import { intOption, UsageError } from './args.ts';

export const twinsHelp = `byzpax twins — Twins scenarios: one replica twinned (same id and key), partitions per round

  --scenarios N    number of scenarios to run (default 1000; 'all' for the whole enumeration)
  --offset K       first scenario number (default 0)
  --stride S       step between scenario numbers, modulo the total (default 1;
                   'spread' samples evenly across every round's partitions)
  --scenario K     run only scenario #K (with --trace, print its event trace)
  --rounds R       partitioned rounds before the network heals (default 3; n=4: 4·13^R scenarios)
  --round-ticks T  ticks per round (default 30)
  --ops K          operations per client, 2 clients (default 4)
  --mode M         commit path: classic | fast (default fast)
  --policy P       fast-path COMMIT policy: concurrent | deferred (default deferred)
  --broken-rule R  give the correct replicas an UNSAFE view-change rule (forgetful | pc-first |
                   per-view), to watch Twins catch it
  --trace          print the event trace (with --scenario)
  --json           print one JSON summary object as the last line
`;

const cliTwinsDefaults: TwinsOptions = defaultTwinsOptions;

export function twinsCommand(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenarios: { type: 'string' },
      offset: { type: 'string' },
      stride: { type: 'string' },
      scenario: { type: 'string' },
      rounds: { type: 'string' },
      'round-ticks': { type: 'string' },
      ops: { type: 'string' },
      mode: { type: 'string' },
      policy: { type: 'string' },
      'broken-rule': { type: 'string' },
      trace: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(twinsHelp);
    return 0;
  }
  const mode = values.mode ?? 'fast';
  if (mode !== 'classic' && mode !== 'fast') throw new UsageError(`--mode must be classic or fast (got '${mode}')`);
  const policy = values.policy ?? 'deferred';
  if (policy !== 'concurrent' && policy !== 'deferred') throw new UsageError(`--policy must be concurrent or deferred (got '${policy}')`);
  const ruleName = values['broken-rule'];
  if (ruleName !== undefined && !(ruleName in brokenSelectRules)) throw new UsageError(`--broken-rule must be one of ${Object.keys(brokenSelectRules).join(', ')} (got '${ruleName}')`);
  const opts = twinsOptions({
    rounds: intOption(values.rounds, 'rounds', cliTwinsDefaults.rounds, 1),
    roundTicks: intOption(values['round-ticks'], 'round-ticks', cliTwinsDefaults.roundTicks, 1),
    opsPerClient: intOption(values.ops, 'ops', cliTwinsDefaults.opsPerClient, 1),
    params: { mode, commitPolicy: policy },
    trace: Boolean(values.trace),
    ...(ruleName ? { selectRule: brokenSelectRules[ruleName as keyof typeof brokenSelectRules] } : {}),
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
    const index = intOption(values.scenario, 'scenario', 0);
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

  const count = values.scenarios === 'all' ? total : intOption(values.scenarios, 'scenarios', Math.min(1000, total), 1);
  if (count > total) throw new UsageError(`--scenarios must be at most ${total}`);
  const offset = intOption(values.offset, 'offset', 0);
  const stride = values.stride === 'spread' ? spreadStride(total) : intOption(values.stride, 'stride', 1, 1);
  const json = Boolean(values.json);
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
