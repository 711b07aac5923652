/** `byzpax nemesis` (npm run nemesis): a live cluster under faults and a Byzantine replica, then a verdict. */
import { nemesisFaults, runNemesis, type NemesisFault } from '../faults/nemesis.ts';
import { isStrategyName, type StrategyName } from '../faults/types.ts';
import { command, flag, int, shared, textList, UsageError } from './options.ts';

export const cli = command({
  name: 'nemesis',
  summary: `a real cluster under a client workload while replicas are killed,
restarted, partitioned, replaced by new ones, and one of them turns Byzantine; then a verdict (linearizable history, every
acknowledged write read back, one state on the correct replicas). Loopback only, bounded in time.`,
  options: {
    n: int('replicas', { arg: 'N', default: 4, min: 4 }),
    // --seed, --duration and --clients are checked here and read as text where runNemesis is called.
    seed: int("the fault schedule's seed", { arg: 'S', defaultText: 'the clock; printed so a run can be repeated' }),
    duration: int('seconds of faults', { arg: 'SEC', default: 40, min: 1 }),
    clients: int('concurrent clients', { arg: 'C', default: 3, min: 1 }),
    mode: { ...shared.mode, help: '' },
    byzantine: int('the replica that lies', { arg: 'R', defaultText: 'chosen by the seed' }),
    strategies: textList('comma-separated strategies to cycle through', {
      arg: 'L',
      defaultText: 'all but crash-recover, collude, removed-member',
      check: (s) => (isStrategyName(s) ? undefined : `unknown strategy '${s}' (see byzpax faults)`),
    }),
    faults: textList('comma-separated fault kinds to draw from', {
      arg: 'L',
      defaultText: nemesisFaults.join(','),
      check: (s) => ((nemesisFaults as readonly string[]).includes(s) ? undefined : `unknown fault '${s}' (${nemesisFaults.join(', ')})`),
    }),
    json: flag('print the report as one JSON line at the end'),
  },
});

export async function nemesisCommand(argv: string[]): Promise<number> {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  const { n, mode, byzantine } = values;
  const strategies = values.strategies;
  if (byzantine !== undefined && byzantine >= n) throw new UsageError(`--byzantine ${byzantine}: there are only replicas 0..${n - 1}`);
  const r = await runNemesis({
    n,
    seed: values.seed ?? Date.now() % 1_000_000,
    durationSec: values.duration,
    clients: values.clients,
    mode,
    ...(byzantine !== undefined ? { byzantine } : {}),
    ...(strategies ? { strategies: strategies as StrategyName[] } : {}),
    ...(values.faults ? { faults: values.faults as NemesisFault[] } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const detected = Object.entries(r.detected).map(([c, k]) => `R${c}×${k}`).join(' ') || 'none';
  process.stdout.write(
    `\n${r.operations} operations: ${r.acknowledged} answered, ${r.unknown} unknown (timed out during faults); ` +
      `${r.kills} kills, ${r.partitions} partitions, ${r.replacements} replacements (members now ${r.members.join(', ')}), strategies ${[...new Set(r.strategies)].join(', ')}\n` +
      `history ${r.linearizable === 'ok' ? 'linearizable' : r.linearizable}; ${r.readBack} acknowledged writes read back; misbehaviour detected: ${detected}; up to ${r.viewChanges} view changes per replica\n` +
      r.problems.map((p) => `  problem: ${p}\n`).join('') +
      `VERDICT: ${r.verdict} (seed ${r.seed}, ${r.seconds} s; the same schedule again: npx byzpax nemesis --n ${r.n} --seed ${r.seed}${values.duration ? ` --duration ${values.duration}` : ''})\n`,
  );
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  return r.verdict === 'PASS' ? 0 : 1;
}
