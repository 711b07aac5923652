/**
 * `npm run bench`: the byzpax benchmark suite. Real `byzpax replica` processes over WebSockets
 * on 127.0.0.1, a fresh cluster (fresh temp dir) per configuration, closed-loop clients in this
 * process. See `npm run bench -- --help`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatCryptoMicro, runCryptoMicro, type CryptoMicroResult } from './crypto-micro.ts';
import { lineChart, PALETTE, writeChart, type Series } from './lib/chart.ts';
import { BenchCluster } from './lib/cluster.ts';
import { Aborted, describeConfig, emptyResult, runConfig, type RunConfig, type RunResult } from './lib/measure.ts';
import { readCpuTotals } from './lib/proc.ts';
import { Progress } from './lib/progress.ts';
import { attackTable, bestThroughput, cpuSplit, CPU_PARTS, formatCpuSplit, findRun, formatTargets, runsTable, targets, TARGETS, verifyBound, type AttackRow, type AttackSection, type SoakVerdict, type TargetRow, type VerifyBound } from './lib/report.ts';
import { runSoak, type SoakResult } from './lib/soak.ts';
import { strategyNames } from '../src/faults/types.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const RESULTS = join(HERE, 'results');
const BIN = join(ROOT, 'bin', 'byzpax');

const HELP = `npm run bench -- [options]

Runs real byzpax replica processes on 127.0.0.1 and measures latency (HDR p50/p90/p99),
throughput, CPU per operation, signatures and verifications per operation, bytes on the wire per
operation and peak RSS, for each mode × n × injected one-way delay × closed-loop clients ×
request size. Each configuration gets a fresh cluster in a fresh temp dir. Results:
bench/results/<out>.json, .md, and a latency-vs-throughput chart as .svg and .png.

  --quick              < 2 min: the figures behind the targets only (n=4); ends with one JSON line
  --modes LIST         classic,fast (default both)
  --n LIST             replica counts (default 4,7)
  --delays LIST        injected one-way replica-to-replica delays, ms (default 0,5)
  --clients LIST       closed-loop client counts (default 1,4,16,64)
  --sizes LIST         request sizes in bytes (default 64,1024); the first is swept over every n,
                       the others at the smallest n only
  --warmup S           seconds of load before measuring (default 2; quick 1)
  --duration S         seconds measured per configuration (default 5; quick 3)
  --fsync              replicas fsync before messages leave (default: --no-fsync, see below)
  --no-crypto          skip the crypto micro-benchmark
  --profile            one extra run under node --cpu-prof: where the replicas' CPU goes
                       (on by default in the full suite; --no-profile to skip)
  --attacks [LIST]     Byzantine strategies (byzpax replica --byzantine NAME), each run on the
                       leader and on a backup, same workload as the fault-free reference;
                       skipped with a message if this replica build has no --byzantine
  --attack-clients K   clients in attack runs (default 16)
  --soak               soak instead: --ops operations (default 1,000,000), RSS sampled over time
  --ops N              soak length in operations
  --soak-clients K     soak clients (default 64)
  --soak-max-min M     stop the soak after M minutes whatever the count (default 240)
  --sample-s S         soak sampling interval (default 5)
  --out NAME           results file names (default latest; quick: quick; soak: soak)
  --wait-idle S        before each configuration wait up to S seconds for other processes to
                       leave the CPU (< 0.3 cores busy); for shared machines (default 0)
  --help

Durability: by default the replicas run with --no-fsync (writes reach the page cache before a
message leaves: survives kill -9, not power loss), so the figures are the protocol's, not the
disk's; --fsync measures with the replica's default durability.`;

// ------------------------------------------------------------------------------------------
// Arguments

interface Options {
  quick: boolean;
  modes: ('fast' | 'classic')[];
  ns: number[];
  delays: number[];
  clients: number[];
  sizes: number[];
  warmupS: number;
  durationS: number;
  fsync: boolean;
  crypto: boolean;
  profile: boolean;
  attacks: string[] | undefined;
  attackClients: number;
  soak: boolean;
  ops: number;
  soakClients: number;
  soakMaxMin: number;
  sampleS: number;
  out: string;
  waitIdleS: number;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options | 'help' {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const name = a.slice(2);
    const next = argv[i + 1];
    const takesValue = !['quick', 'fsync', 'no-crypto', 'profile', 'no-profile', 'soak', 'help', 'attacks'].includes(name) || (name === 'attacks' && next !== undefined && !next.startsWith('--'));
    if (takesValue) {
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      flags.set(name, next);
      i++;
    } else flags.set(name, true);
  }
  const known = new Set(['quick', 'modes', 'n', 'delays', 'clients', 'sizes', 'warmup', 'duration', 'fsync', 'no-crypto', 'profile', 'no-profile', 'attacks', 'attack-clients', 'soak', 'ops', 'soak-clients', 'soak-max-min', 'sample-s', 'out', 'wait-idle', 'help']);
  for (const k of flags.keys()) if (!known.has(k)) throw new UsageError(`unknown option --${k} (see --help)`);
  if (flags.has('help')) return 'help';
  const str = (k: string) => {
    const v = flags.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const nums = (k: string, dflt: number[], min = 0) => {
    const v = str(k);
    if (v === undefined) return dflt;
    const out = v.split(',').map((x) => Number(x.trim()));
    if (out.some((x) => !Number.isFinite(x) || x < min)) throw new UsageError(`--${k} wants numbers ≥ ${min}, comma-separated (got '${v}')`);
    return out;
  };
  const one = (k: string, dflt: number, min = 0) => nums(k, [dflt], min)[0]!;
  const quick = flags.has('quick');
  const soak = flags.has('soak');
  const modes = (str('modes') ?? 'classic,fast').split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'fast' && m !== 'classic') throw new UsageError(`--modes: '${m}' is neither fast nor classic`);
  const attacksFlag = flags.get('attacks');
  return {
    quick,
    modes: modes as ('fast' | 'classic')[],
    ns: nums('n', [4, 7], 1),
    delays: nums('delays', [0, 5]),
    clients: nums('clients', [1, 4, 16, 64], 1),
    sizes: nums('sizes', [64, 1024], 16),
    warmupS: one('warmup', quick ? 1 : 2),
    durationS: one('duration', quick ? 3 : 5, 0.5),
    fsync: flags.has('fsync'),
    crypto: !flags.has('no-crypto'),
    // Quick runs profile too: the CPU split per operation is one of the figures it reports.
    profile: flags.has('profile') || (!soak && !flags.has('no-profile')),
    attacks: attacksFlag === undefined ? undefined : attacksFlag === true ? [] : attacksFlag.split(',').map((s) => s.trim()).filter(Boolean),
    attackClients: one('attack-clients', 16, 1),
    soak,
    ops: one('ops', 1_000_000, 1),
    soakClients: one('soak-clients', 64, 1),
    soakMaxMin: one('soak-max-min', 240, 0.1),
    sampleS: one('sample-s', 5, 0.5),
    out: str('out') ?? (soak ? 'soak' : quick ? 'quick' : 'latest'),
    waitIdleS: one('wait-idle', 0),
  };
}

// ------------------------------------------------------------------------------------------
// Interrupts: stop every replica on Ctrl-C, and as a last resort on exit.

let aborted = false;
let abortedAt = 0;
const ctx = { aborted: () => aborted };
process.on('SIGINT', () => {
  // One Ctrl-C can arrive twice (from the terminal and relayed by npm/tsx): only a later one counts.
  if (aborted) {
    if (performance.now() - abortedAt < 1000) return;
    BenchCluster.killAllNow();
    process.exit(130);
  }
  aborted = true;
  abortedAt = performance.now();
  process.stderr.write('\ninterrupted: stopping the replicas (Ctrl-C again to kill them at once)…\n');
});
process.on('SIGTERM', () => {
  aborted = true;
});
process.on('exit', () => BenchCluster.killAllNow());

// ------------------------------------------------------------------------------------------
// The configurations

function baseConfig(o: Options, c: Pick<RunConfig, 'mode' | 'n' | 'delayMs' | 'clients' | 'sizeBytes'>): RunConfig {
  return { ...c, fsync: o.fsync, warmupS: o.warmupS, durationS: o.durationS };
}

function matrix(o: Options): RunConfig[] {
  if (o.quick) {
    // The targets' figures at n=4: single-client latency at 0 and 5 ms, and the throughput end.
    const top = Math.max(...o.clients);
    const list: Pick<RunConfig, 'mode' | 'n' | 'delayMs' | 'clients' | 'sizeBytes'>[] = [
      { mode: 'fast', n: 4, delayMs: 0, clients: 1, sizeBytes: 64 },
      { mode: 'fast', n: 4, delayMs: 5, clients: 1, sizeBytes: 64 },
      { mode: 'classic', n: 4, delayMs: 5, clients: 1, sizeBytes: 64 },
      { mode: 'fast', n: 4, delayMs: 0, clients: 16, sizeBytes: 64 },
      { mode: 'fast', n: 4, delayMs: 0, clients: top, sizeBytes: 64 },
      { mode: 'classic', n: 4, delayMs: 0, clients: top, sizeBytes: 64 },
      { mode: 'fast', n: 4, delayMs: 5, clients: top, sizeBytes: 64 },
    ];
    return list.map((c) => baseConfig(o, c));
  }
  const out: RunConfig[] = [];
  const [first, ...others] = o.sizes;
  const smallestN = Math.min(...o.ns);
  for (const n of o.ns) for (const mode of o.modes) for (const delayMs of o.delays) for (const clients of o.clients) out.push(baseConfig(o, { mode, n, delayMs, clients, sizeBytes: first ?? 64 }));
  for (const sizeBytes of others) for (const mode of o.modes) for (const delayMs of o.delays) for (const clients of o.clients) out.push(baseConfig(o, { mode, n: smallestN, delayMs, clients, sizeBytes }));
  return out;
}

/** One configuration; anything but an interrupt becomes a failed row, and the suite goes on. */
async function runGuarded(cfg: RunConfig, progress: Progress): Promise<RunResult> {
  try {
    return await runConfig(cfg, { ...ctx, progress });
  } catch (e) {
    if (e instanceof Aborted || aborted) throw e instanceof Aborted ? e : new Aborted('interrupted');
    return emptyResult(cfg, (e as Error).stack ?? String(e));
  }
}

function resultLine(r: RunResult): string {
  const head = describeConfig(r.config);
  if (!r.ok) return `  ${head}  FAILED: ${(r.error ?? '').split('\n')[0]}${r.otherCoresBusy >= 0.2 ? ` (other processes busy: ${r.otherCoresBusy.toFixed(1)} cores)` : ''}`;
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  return (
    `  ${head}  ${String(Math.round(r.throughputOpsPerSec)).padStart(5)} ops/s  p50 ${f(r.latency.p50Ms).padStart(6)}  p90 ${f(r.latency.p90Ms).padStart(6)}  p99 ${f(r.latency.p99Ms).padStart(6)} ms` +
    `  CPU ${f(r.cpuSecPer1kOpsPerReplica, 2)} s/1k ops/replica  signs ${f(r.signsPerOp, 1)}/op  verifies ${f(r.verifiesPerOp, 1)}/op  ${f(r.bytesOutPerOp / 1024, 1)} KiB/op  batch ${f(r.batch, 1)}  fast ${Math.round(r.fastShare * 100)}%  RSS ${f(r.peakRssMB, 0)} MB` +
    (r.errors ? `  errors ${r.errors}` : '') +
    (r.viewChanges ? `  view changes ${r.viewChanges}` : '') +
    (r.otherCoresBusy >= 0.2 ? `  (other processes busy: ${f(r.otherCoresBusy, 1)} cores)` : '') +
    (r.crashes.length ? `  CRASHES ${r.crashes.join(', ')}` : '')
  );
}

// ------------------------------------------------------------------------------------------
// Attacks

/**
 * The strategies an attack run can start one replica with (src/faults). `collude` needs several
 * replicas in one process and `crash-recover` is a crash, not an attack on throughput.
 */
function probeByzantine(): { supported: boolean; names: string[]; message: string } {
  const names = strategyNames.filter((s) => s !== 'collude' && s !== 'crash-recover');
  return { supported: true, names: [...names], message: `strategies: ${names.join(', ')}` };
}

async function runAttacks(o: Options, names: string[], progress: Progress, baseline: RunConfig): Promise<AttackSection> {
  const n = baseline.n;
  const rows: AttackRow[] = [];
  progress.start(`fault-free reference for attacks: ${describeConfig(baseline)}`);
  const base = await runGuarded(baseline, progress);
  progress.finish(resultLine(base));
  let unsupported: string | undefined;
  for (const strategy of names) {
    for (const [on, id] of [['leader', 0], ['backup', n - 1]] as const) {
      if (unsupported) {
        rows.push({ strategy, on, replica: id, skipped: unsupported });
        progress.finish();
        continue;
      }
      const cfg: RunConfig = { ...baseline, special: { id, args: ['--byzantine', strategy] } };
      progress.start(describeConfig(cfg));
      const r = await runGuarded(cfg, progress);
      if (r.unsupported) {
        const msg = r.error ?? 'usage error';
        // The option itself is unknown: nothing else can run either.
        if (/unknown option|--byzantine'/i.test(msg)) unsupported = `the replica has no --byzantine option (${msg.replace(/^.*?: /, '')})`;
        rows.push({ strategy, on, replica: id, skipped: unsupported ?? msg });
        progress.finish(`  ${describeConfig(cfg)}  skipped: ${unsupported ?? msg}`);
        continue;
      }
      rows.push({
        strategy,
        on,
        replica: id,
        result: r,
        ...(r.ok && base.ok ? { throughputFraction: r.throughputOpsPerSec / base.throughputOpsPerSec, p99Multiple: r.latency.p99Ms / base.latency.p99Ms } : {}),
        ...(r.ok ? {} : { skipped: r.error ?? 'failed' }),
      });
      progress.finish(resultLine(r));
    }
  }
  return {
    baseline: base,
    rows,
    note: `Each strategy runs the fault-free reference's workload with one replica started with \`--byzantine NAME\` (on the leader R0, then on a backup R${n - 1}); throughput and p99 are given as fractions/multiples of the fault-free run, as Aardvark reports them.`,
  };
}

// ------------------------------------------------------------------------------------------
// Charts

function throughputChart(runs: RunResult[], title: string): ReturnType<typeof lineChart> {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    if (!r.ok || r.config.special || r.config.profile) continue;
    const c = r.config;
    const key = `${c.mode} n=${c.n} ${c.delayMs}ms ${c.sizeBytes >= 1024 ? `${c.sizeBytes / 1024}KiB` : `${c.sizeBytes}B`}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const combos = [...new Set([...groups.values()].map((g) => `${g[0]!.config.mode} n=${g[0]!.config.n} ${g[0]!.config.sizeBytes}`))];
  const series: Series[] = [...groups.entries()].map(([name, rs]) => {
    const c = rs[0]!.config;
    const color = PALETTE[combos.indexOf(`${c.mode} n=${c.n} ${c.sizeBytes}`) % PALETTE.length]!;
    return {
      name,
      color,
      ...(c.delayMs > 0 ? { dash: 7 } : {}),
      marker: c.mode === 'fast' ? 'circle' : 'square',
      points: rs.map((r) => ({ x: r.throughputOpsPerSec, y: r.latency.p50Ms, label: String(r.config.clients) })),
    };
  });
  return lineChart({
    title,
    subtitle: 'p50 latency vs throughput; points: closed-loop clients (labels); solid 0 ms, dashed 5 ms one-way delay',
    xLabel: 'throughput (operations/s)',
    yLabel: 'p50 latency (ms, log scale)',
    yLog: true,
    series,
    height: Math.max(680, 140 + series.length * 24),
  });
}

function soakChart(s: SoakResult): ReturnType<typeof lineChart> {
  const n = s.samples[0]?.rssMB.length ?? 0;
  const series: Series[] = [...Array(n).keys()].map((i) => ({
    name: `R${i} RSS${i === 0 ? ' (leader)' : ''}`,
    color: PALETTE[i % PALETTE.length]!,
    points: s.samples.map((x) => ({ x: x.ops / 1000, y: x.rssMB[i] ?? NaN })),
  }));
  return lineChart({
    title: `Soak: replica memory over ${s.completedOps.toLocaleString('en-US')} operations`,
    subtitle: `${s.options.mode} n=${s.options.n}, ${s.options.clients} clients, ${s.options.sizeBytes}-byte requests; ${s.verdict.flat ? 'flat' : 'NOT flat'}: ${s.verdict.growthMB >= 0 ? '+' : ''}${s.verdict.growthMB} MB first to last third`,
    xLabel: 'operations completed (thousands)',
    yLabel: 'resident memory (MB)',
    yFromZero: true,
    series,
  });
}

// ------------------------------------------------------------------------------------------
// Output

interface Machine {
  node: string;
  cpus: number;
  cpuModel: string;
  memGiB: number;
  platform: string;
  commit: string;
}

function machine(): Machine {
  let commit = '';
  try {
    commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  } catch {
    /* not a checkout */
  }
  return { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? '', memGiB: Math.round(totalmem() / 2 ** 30), platform: `${process.platform} ${process.arch}`, commit };
}

function writeResults(name: string, json: unknown, md: string[]): string[] {
  mkdirSync(RESULTS, { recursive: true });
  const j = join(RESULTS, `${name}.json`);
  const m = join(RESULTS, `${name}.md`);
  writeFileSync(j, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(m, md.join('\n') + '\n');
  return [j, m];
}

/** Cores other processes keep busy right now (one second's sample): the machine may be shared. */
async function backgroundLoad(): Promise<number | undefined> {
  const a = readCpuTotals();
  await new Promise((r) => setTimeout(r, 1000));
  const b = readCpuTotals();
  return a && b ? Math.round((b.busyS - a.busyS) * 100) / 100 : undefined;
}

/** Waits (up to `maxS`) until other processes keep fewer than 0.3 cores busy. */
async function waitForIdle(maxS: number, progress: Progress): Promise<void> {
  const until = performance.now() + maxS * 1000;
  while (performance.now() < until && !aborted) {
    const load = await backgroundLoad();
    if (load === undefined || load < 0.3) return;
    progress.phase(`waiting for the machine to go idle (other processes: ${load.toFixed(1)} cores)`);
  }
}

function warnIfBusy(load: number | undefined, cores: number): void {
  if (load !== undefined && load >= 0.25) {
    console.log(`WARNING: other processes are keeping ${load.toFixed(1)} of ${cores} cores busy right now; every figure below will be worse than on an idle machine (see the 'other load' column)`);
  }
}

const rel = (p: string) => relative(process.cwd(), p) || p;

function markdown(args: {
  title: string;
  meta: Machine & { date: string; otherCoresBusyAtStart: number | null };
  o: Options;
  crypto?: CryptoMicroResult;
  bound?: VerifyBound;
  targetRows: TargetRow[];
  runs: RunResult[];
  attacks?: AttackSection;
  profile?: RunResult;
  chart?: string;
}): string[] {
  const { meta, o } = args;
  const md: string[] = [
    `# ${args.title}`,
    '',
    `${meta.date} · node ${meta.node} · ${meta.cpus} cores (${meta.cpuModel}) · ${meta.memGiB} GiB · commit ${meta.commit || '?'} · other processes' load at start: ${meta.otherCoresBusyAtStart ?? '?'} cores`,
    '',
    `Real \`byzpax replica\` processes on 127.0.0.1, a fresh cluster per row; closed-loop clients (one request in flight each) in the benchmark process, every request signed. ` +
      `Replicas ${o.fsync ? 'fsync before messages leave' : 'run with --no-fsync'}; ${o.warmupS} s warm-up, ${o.durationS} s measured per row. ` +
      `Injected delay is one-way on every replica-to-replica link (client links are not delayed). CPU, signatures, verifications and bytes are deltas over the measured window, summed over replicas (CPU: per replica) and divided by completed operations; RSS is the peak (VmHWM) over the replica's life.`,
    '',
    '## Targets',
    '',
    '| target | required | measured | |',
    '|---|---|---|---|',
    ...args.targetRows.map((t) => `| ${t.name} | ${t.target} | ${t.measured}${t.detail ? ` (${t.detail})` : ''} | ${t.pass === null ? 'not run' : t.pass ? 'pass' : 'FAIL'} |`),
    '',
  ];
  if (args.crypto) md.push('## Ed25519 on this machine', '', '```', ...formatCryptoMicro(args.crypto), '```', '');
  if (args.bound) md.push('## The bound the verify rate sets', '', '```', ...args.bound.formula, `achieved: ${args.bound.achievedOpsPerSec} ops/s (${args.bound.basis}) = ${(args.bound.achievedFraction * 100).toFixed(1)}% of the ${args.bound.boundThisMachineOpsPerSec} ops/s this-machine bound`, '```', '');
  md.push('## Runs', '', ...runsTable(args.runs.filter((r) => !r.config.special && !r.config.profile)), '');
  if (args.chart) md.push(`![p50 latency vs throughput](${args.chart})`, '');
  if (args.attacks) md.push('## Under attack', '', ...attackTable(args.attacks), '');
  if (args.profile?.profile?.length) {
    const s = cpuSplit(args.profile);
    if (s) md.push('## CPU per operation per replica', '', `From the profiled run (${s.config}): each replica's CPU per operation (\`/proc\`) split by its profile's categories, µs.`, '', `| | ${CPU_PARTS.join(' | ')} | total |`, `|---|${CPU_PARTS.map(() => '---|').join('')}---|`, ...([['mean over replicas', s.meanUs], ['leader', s.leaderUs]] as const).map(([name, u]) => `| ${name} | ${CPU_PARTS.map((k) => u[k]).join(' | ')} | ${CPU_PARTS.reduce((t, k) => t + u[k], 0)} |`), '');
    md.push('## Where the replicas\' CPU goes', '', `\`node --cpu-prof\` on every replica during a ${args.profile.config.durationS} s window of ${describeConfig(args.profile.config).replace(/\s+/g, ' ')} (${Math.round(args.profile.throughputOpsPerSec)} ops/s under the profiler). Self time; native frames are charged to their JavaScript caller's category. The profiler samples wall time on the thread, so a replica descheduled inside a syscall (${meta.cpus} cores for ${args.profile.config.n} replicas and the clients) shows there too.`, '');
    for (const p of args.profile.profile) {
      md.push(`**${p.file}**: ${p.totalMs} ms busy — ${Object.entries(p.categories).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v * 100).toFixed(0)}%`).join(', ')}`, '');
      md.push('| function | where | self ms | share |', '|---|---|---|---|', ...p.top.slice(0, 10).map((h) => `| \`${h.fn}\` | ${h.where} | ${h.selfMs} | ${(h.share * 100).toFixed(1)}% |`), '');
    }
  }
  return md;
}

// ------------------------------------------------------------------------------------------

async function suite(o: Options): Promise<number> {
  const configs = matrix(o);
  const cores = availableParallelism();
  console.log(`byzpax bench${o.quick ? ' --quick' : ''}: ${configs.length} configurations on 127.0.0.1 (${cores} cores, node ${process.version}; replicas ${o.fsync ? 'with fsync' : '--no-fsync'}; ${o.warmupS} s warm-up + ${o.durationS} s measured each)`);
  const loadBefore = await backgroundLoad();
  warnIfBusy(loadBefore, cores);
  const meta = { date: new Date().toISOString(), ...machine(), args: process.argv.slice(2), otherCoresBusyAtStart: loadBefore ?? null };

  let crypto: CryptoMicroResult | undefined;
  if (o.crypto) {
    crypto = await runCryptoMicro(o.quick ? 300 : 1000);
    for (const l of formatCryptoMicro(crypto)) console.log(l);
  }

  let attackNames: string[] | undefined;
  let attackSkip: string | undefined;
  if (o.attacks) {
    const probe = probeByzantine();
    if (!probe.supported) attackSkip = probe.message;
    else {
      attackNames = o.attacks.length ? o.attacks : probe.names;
      if (!attackNames.length) attackSkip = probe.message;
    }
    console.log(`attacks: ${attackSkip ? `skipped — ${attackSkip}` : `${attackNames!.join(', ')} (each on the leader and on a backup)`}`);
  }

  const profileCfg: RunConfig | undefined = o.profile ? { ...baseConfig(o, { mode: 'fast', n: 4, delayMs: 0, clients: Math.max(...o.clients), sizeBytes: 64 }), profile: true } : undefined;
  const attackRuns = attackNames ? 1 + attackNames.length * 2 : 0;
  const progress = new Progress(configs.length + (profileCfg ? 1 : 0) + attackRuns, process.stderr, (o.warmupS + o.durationS + 5) * 1000);
  const runs: RunResult[] = [];
  let attacks: AttackSection | undefined;
  let profiled: RunResult | undefined;
  let interrupted = false;
  try {
    for (const cfg of configs) {
      progress.start(describeConfig(cfg));
      if (o.waitIdleS > 0) await waitForIdle(o.waitIdleS, progress);
      const r = await runGuarded(cfg, progress);
      runs.push(r);
      progress.finish(resultLine(r));
    }
    if (profileCfg) {
      progress.start(`profile: ${describeConfig(profileCfg)} under --cpu-prof`);
      profiled = await runGuarded(profileCfg, progress);
      progress.finish(resultLine(profiled).replace(/^ {2}/, '  [profiled] '));
    }
    if (attackNames) {
      const baseline = baseConfig(o, { mode: 'fast', n: 4, delayMs: 0, clients: o.attackClients, sizeBytes: 64 });
      attacks = await runAttacks(o, attackNames, progress, baseline);
    } else if (o.attacks) {
      attacks = { rows: [], note: `Attacks skipped: ${attackSkip}. Once \`byzpax replica --byzantine NAME\` exists, \`npm run bench -- --attacks [NAME,…]\` runs each strategy on the leader and on a backup with the fault-free reference's workload and reports throughput and p99 as fractions of the fault-free run (Aardvark's way).` };
    }
  } catch (e) {
    // On Ctrl-C the terminal signals the replicas too, so a start-up may fail before we notice.
    if (!(e instanceof Aborted) && !aborted) throw e;
    interrupted = true;
  } finally {
    progress.close();
    await BenchCluster.closeAll();
  }
  if (interrupted) console.log(`interrupted after ${runs.length} of ${configs.length} configurations; writing what was measured`);

  const best = bestThroughput(runs);
  const bound = crypto && best ? verifyBound(crypto, best, cores) : undefined;
  const targetRows = targets(runs, undefined, attacks);
  const split = profiled ? cpuSplit(profiled) : undefined;
  const title = `byzpax benchmark${o.quick ? ' (quick)' : ''}`;
  mkdirSync(RESULTS, { recursive: true });
  const chartFiles = runs.some((r) => r.ok) ? writeChart(throughputChart(runs, `${title}: latency vs throughput`), join(RESULTS, o.out)) : undefined;
  const json = { meta: { ...meta, interrupted, fsync: o.fsync, warmupS: o.warmupS, durationS: o.durationS }, crypto, verifyBound: bound, targets: targetRows, runs, profile: profiled, attacks };
  const files = writeResults(o.out, json, markdown({ title, meta, o, ...(crypto ? { crypto } : {}), ...(bound ? { bound } : {}), targetRows, runs, ...(attacks ? { attacks } : {}), ...(profiled ? { profile: profiled } : {}), ...(chartFiles ? { chart: `${o.out}.png` } : {}) }));

  console.log('');
  if (bound) {
    console.log('Verify-rate bound:');
    for (const l of bound.formula) console.log(`  ${l}`);
    console.log(`  achieved ${bound.achievedOpsPerSec} ops/s (${bound.basis}) = ${(bound.achievedFraction * 100).toFixed(1)}% of the ${bound.boundThisMachineOpsPerSec} ops/s bound for n=${bound.n} on this machine`);
    console.log('');
  }
  if (profiled?.profile?.length) {
    console.log(`Where the replicas' CPU goes (${describeConfig(profiled.config).replace(/\s+/g, ' ')}, node --cpu-prof, measured window):`);
    for (const p of profiled.profile) {
      console.log(`  ${p.file}: ${Object.entries(p.categories).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${(v * 100).toFixed(0)}%`).join(', ')}`);
      console.log(`    top: ${p.top.slice(0, 5).map((h) => `${h.fn} ${(h.share * 100).toFixed(0)}%`).join(', ')}`);
    }
    console.log('');
  }
  if (split) {
    console.log(`CPU per operation per replica, µs (${split.config}; /proc CPU split by the profile's categories):`);
    for (const l of formatCpuSplit(split)) console.log(`  ${l}`);
    console.log('');
  }
  if (attacks) {
    console.log('Attacks:');
    for (const l of attackTable(attacks)) if (l) console.log(`  ${l}`);
    console.log('');
  }
  console.log('Targets (benchmarks report; they do not fail the build):');
  for (const l of formatTargets(targetRows)) console.log(`  ${l}`);
  console.log('');
  console.log(`Results: ${[...files, ...(chartFiles ? [chartFiles.svg, chartFiles.png] : [])].map(rel).join(', ')}`);

  if (o.quick) {
    const fast5 = findRun(runs, { mode: 'fast', n: 4, delayMs: 5, clients: 1, sizeBytes: 64 });
    const classic5 = findRun(runs, { mode: 'classic', n: 4, delayMs: 5, clients: 1, sizeBytes: 64 });
    const single0 = findRun(runs, { mode: 'fast', n: 4, delayMs: 0, clients: 1, sizeBytes: 64 });
    const best5 = runs.filter((r) => r.ok && r.config.n === 4 && r.config.delayMs === 5 && r.config.sizeBytes === 64).sort((a, b) => b.throughputOpsPerSec - a.throughputOpsPerSec)[0];
    const v = (x: number | undefined, d = 3) => (x !== undefined && Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
    const ratio = fast5 && classic5 ? fast5.latency.p50Ms / classic5.latency.p50Ms : undefined;
    const summary = {
      quick: true,
      n: 4,
      delayMs: 5,
      fastP50Ms: v(fast5?.latency.p50Ms),
      classicP50Ms: v(classic5?.latency.p50Ms),
      fastOverClassicP50: v(ratio),
      fastOverClassicTarget: TARGETS.fastOverClassicP50,
      fastOverClassicPass: ratio === undefined ? null : ratio <= TARGETS.fastOverClassicP50,
      throughputOpsPerSec: v(best?.throughputOpsPerSec, 1),
      throughputConfig: best ? `${best.config.mode} n=4 ${best.config.delayMs}ms c=${best.config.clients} 64B` : null,
      throughputAt5msOpsPerSec: v(best5?.throughputOpsPerSec, 1),
      throughputTargetOpsPerSec: TARGETS.throughputOpsPerSec,
      throughputPass: best ? best.throughputOpsPerSec >= TARGETS.throughputOpsPerSec : null,
      singleClientFastP50Ms0ms: v(single0?.latency.p50Ms),
      singleClientP50TargetMs: TARGETS.singleClientFastP50Ms,
      singleClientPass: single0 ? single0.latency.p50Ms <= TARGETS.singleClientFastP50Ms : null,
      verifyBoundOpsPerSec: bound?.boundThisMachineOpsPerSec ?? null,
      verifyBoundFraction: bound?.achievedFraction ?? null,
      nodeVerifyPerSec: crypto?.node.verifyPerSec ?? null,
      cpuSecPer1kOpsPerReplica: v(best?.cpuSecPer1kOpsPerReplica),
      cpuMsPerOpPerReplica64Clients: v(findRun(runs, { mode: 'fast', n: 4, delayMs: 0, clients: 64, sizeBytes: 64 })?.cpuSecPer1kOpsPerReplica),
      cpuMsPerOpTarget: TARGETS.cpuMsPerOpPerReplica,
      cpuSplitUsPerOp: split?.meanUs ?? null,
      signsPerOp: v(best?.signsPerOp, 2),
      verifiesPerOp: v(best?.verifiesPerOp, 2),
      bytesOutPerOp: best?.bytesOutPerOp ?? null,
      peakRssMB: v(best?.peakRssMB, 1),
    };
    console.log(JSON.stringify(summary));
  }
  return interrupted ? 130 : 0;
}

async function soak(o: Options): Promise<number> {
  const loadBefore = await backgroundLoad();
  warnIfBusy(loadBefore, availableParallelism());
  const meta = { date: new Date().toISOString(), ...machine(), args: process.argv.slice(2), otherCoresBusyAtStart: loadBefore ?? null };
  const n = o.ns.includes(4) ? 4 : o.ns[0]!;
  const mode = o.modes.includes('fast') ? 'fast' : o.modes[0]!;
  const so = { n, mode, clients: o.soakClients, sizeBytes: o.sizes[0] ?? 64, delayMs: o.delays.includes(0) ? 0 : o.delays[0]!, fsync: o.fsync, ops: o.ops, maxMinutes: o.soakMaxMin, sampleS: o.sampleS } as const;
  console.log(`byzpax bench --soak: ${so.ops.toLocaleString('en-US')} operations, ${so.mode} n=${so.n}, ${so.clients} closed-loop clients, ${so.sizeBytes}-byte requests, ${so.delayMs} ms delay, replicas ${so.fsync ? 'with fsync' : '--no-fsync'}; RSS sampled every ${so.sampleS} s (stops after ${so.maxMinutes} min at most)`);
  const progress = new Progress(1, process.stderr);
  progress.start('soak');
  let s: SoakResult;
  try {
    s = await runSoak({ ...so }, ctx, (l) => progress.print(l), (t) => progress.phase(t));
  } catch (e) {
    progress.close();
    await BenchCluster.closeAll();
    if (e instanceof Aborted || aborted) {
      console.log('interrupted');
      return 130;
    }
    throw e;
  }
  progress.finish();
  progress.close();
  const verdict: SoakVerdict = s.verdict;
  const targetRows = targets([], verdict).filter((t) => t.name.startsWith('memory'));
  mkdirSync(RESULTS, { recursive: true });
  const chart = writeChart(soakChart(s), join(RESULTS, o.out));
  const md = [
    '# byzpax soak',
    '',
    `${meta.date} · node ${meta.node} · ${meta.cpus} cores · commit ${meta.commit || '?'}`,
    '',
    `${s.completedOps.toLocaleString('en-US')} operations in ${Math.round(s.wallS)} s (${s.throughputOpsPerSec} ops/s), ${so.mode} n=${so.n}, ${so.clients} clients, ${so.sizeBytes}-byte requests, errors ${s.errors}, stopped by ${s.stoppedBy}${s.crashes.length ? `, CRASHES ${s.crashes.join(', ')}` : ''}. Latency after the first 5 s: p50 ${s.latency.p50Ms} ms, p99 ${s.latency.p99Ms} ms.`,
    '',
    ...formatTargets(targetRows).map((l) => `- ${l}`),
    '',
    `![replica RSS over the soak](${o.out}.png)`,
    '',
    `Samples (at most 60 shown; all ${s.samples.length} in ${o.out}.json):`,
    '',
    '| time s | ops | ops/s | slot | ' + [...Array(so.n).keys()].map((i) => `R${i} RSS MB (peak)`).join(' | ') + ' |',
    '|---|---|---|---|' + '---|'.repeat(so.n),
    ...s.samples.filter((_, i) => i % Math.max(1, Math.ceil(s.samples.length / 60)) === 0 || i === s.samples.length - 1).map((x) => `| ${x.tS} | ${x.ops} | ${x.opsPerSec} | ${x.executed} | ${x.rssMB.map((m, i) => `${m} (${x.peakRssMB[i]})`).join(' | ')} |`),
  ];
  const files = writeResults(o.out, { meta, soak: s, targets: targetRows }, md);
  console.log('');
  console.log(`${s.completedOps.toLocaleString('en-US')} operations in ${Math.round(s.wallS)} s (${s.throughputOpsPerSec} ops/s), errors ${s.errors}; p50 ${s.latency.p50Ms} ms, p99 ${s.latency.p99Ms} ms`);
  for (const l of formatTargets(targetRows)) console.log(`  ${l}`);
  console.log(`Results: ${[...files, chart.svg, chart.png].map(rel).join(', ')}`);
  console.log(JSON.stringify({ soak: true, ops: s.completedOps, wallS: s.wallS, throughputOpsPerSec: s.throughputOpsPerSec, memoryFlat: verdict.flat, rssGrowthMB: verdict.growthMB, rssSlopeMBPer100kOps: verdict.slopeMBPer100kOps, peakRssMB: Math.max(...s.samples.flatMap((x) => x.peakRssMB)) }));
  return 0;
}

async function main(): Promise<number> {
  let o: Options | 'help';
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (o === 'help') {
    console.log(HELP);
    return 0;
  }
  return o.soak ? soak(o) : suite(o);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    await BenchCluster.closeAll();
    process.exitCode = 1;
  },
);
