/** `byzpax nemesis` (npm run nemesis): a live cluster under faults and a Byzantine replica, then a verdict. */
import { parseArgs } from 'node:util';
import { runNemesis } from '../faults/nemesis.ts';
import { isStrategyName, type StrategyName } from '../faults/types.ts';
import { intOption, UsageError } from './args.ts';

export const nemesisHelp = `byzpax nemesis — a real cluster under a client workload while replicas are killed,
restarted, partitioned and one of them turns Byzantine; then a verdict (linearizable history, every
acknowledged write read back, one state on the correct replicas). Loopback only, bounded in time.

  --n N            replicas (default 4)
  --seed S         the fault schedule's seed (default: the clock; printed so a run can be repeated)
  --duration SEC   seconds of faults (default 40)
  --clients C      concurrent clients (default 3)
  --mode M         fast | classic (default fast)
  --byzantine R    the replica that lies (default: chosen by the seed)
  --strategies L   comma-separated strategies to cycle through (default: all but crash-recover, collude)
  --json           print the report as one JSON line at the end
`;

export async function nemesisCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      clients: { type: 'string' },
      mode: { type: 'string' },
      byzantine: { type: 'string' },
      strategies: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(nemesisHelp);
    return 0;
  }
  const n = intOption(values.n, 'n', 4, 4);
  const mode = values.mode ?? 'fast';
  if (mode !== 'fast' && mode !== 'classic') throw new UsageError(`--mode must be fast or classic (got '${mode}')`);
  const strategies = values.strategies?.split(',').map((s) => s.trim());
  for (const s of strategies ?? []) if (!isStrategyName(s)) throw new UsageError(`--strategies: unknown strategy '${s}' (see byzpax faults)`);
  const byzantine = values.byzantine === undefined ? undefined : intOption(values.byzantine, 'byzantine', 0, 0);
  if (byzantine !== undefined && byzantine >= n) throw new UsageError(`--byzantine ${byzantine}: there are only replicas 0..${n - 1}`);
  const r = await runNemesis({
    n,
    seed: intOption(values.seed, 'seed', Date.now() % 1_000_000),
    durationSec: intOption(values.duration, 'duration', 40, 1),
    clients: intOption(values.clients, 'clients', 3, 1),
    mode,
    ...(byzantine !== undefined ? { byzantine } : {}),
    ...(strategies ? { strategies: strategies as StrategyName[] } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const detected = Object.entries(r.detected).map(([c, k]) => `R${c}×${k}`).join(' ') || 'none';
  process.stdout.write(
    `\n${r.operations} operations: ${r.acknowledged} answered, ${r.unknown} unknown (timed out during faults); ` +
      `${r.kills} kills, ${r.partitions} partitions, strategies ${[...new Set(r.strategies)].join(', ')}\n` +
      `history ${r.linearizable === 'ok' ? 'linearizable' : r.linearizable}; ${r.readBack} acknowledged writes read back; misbehaviour detected: ${detected}; up to ${r.viewChanges} view changes per replica\n` +
      r.problems.map((p) => `  problem: ${p}\n`).join('') +
      `VERDICT: ${r.verdict} (seed ${r.seed}, ${r.seconds} s; the same schedule again: npx byzpax nemesis --n ${r.n} --seed ${r.seed}${values.duration ? ` --duration ${values.duration}` : ''})\n`,
  );
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  return r.verdict === 'PASS' ? 0 : 1;
}
