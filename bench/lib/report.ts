/**
 * What the suite concludes: the verify-rate bound, the targets (target, measured, pass/fail), and
 * the Markdown rendering of a results file. Benchmarks report; they never fail the build.
 */
import type { CryptoMicroResult } from '../crypto-micro.ts';
import { describeConfig, type RunResult } from './measure.ts';

export const TARGETS = {
  throughputOpsPerSec: 3400,
  singleClientFastP50Ms: 2,
  cpuMsPerOpPerReplica: 0.12,
  fastOverClassicP50: 0.75,
  floodThroughputFraction: 0.8,
};

/** The CPU split the benchmark reports: the profile's categories, grouped. */
export const CPU_PARTS = ['crypto', 'codec', 'network', 'storage', 'rest'] as const;
export type CpuPart = (typeof CPU_PARTS)[number];

export interface CpuSplit {
  /** Microseconds of CPU per client operation, by part: the mean over replicas, and the leader's. */
  meanUs: Record<CpuPart, number>;
  leaderUs: Record<CpuPart, number>;
  config: string;
}

function partOf(category: string): CpuPart {
  if (category.startsWith('crypto')) return 'crypto';
  if (category.startsWith('codec')) return 'codec';
  if (category.startsWith('network')) return 'network';
  if (category.startsWith('storage')) return 'storage';
  return 'rest';
}

/**
 * CPU per operation per replica split into crypto, codec, network, storage and the rest: each
 * replica's measured CPU per operation (/proc) times the shares of its profile's categories
 * (main-thread samples, `node --cpu-prof`).
 */
export function cpuSplit(run: RunResult): CpuSplit | undefined {
  if (!run.ok || !run.profile?.length || run.ops === 0) return undefined;
  const per: { leader: boolean; us: Record<CpuPart, number> }[] = [];
  for (const p of run.profile) {
    const id = Number(/replica (\d+)/.exec(p.file)?.[1]);
    const fig = run.replicas.find((r) => r.id === id);
    if (!fig) continue;
    const usPerOp = (fig.cpuMs * 1000) / run.ops;
    const us = Object.fromEntries(CPU_PARTS.map((k) => [k, 0])) as Record<CpuPart, number>;
    for (const [cat, share] of Object.entries(p.categories)) us[partOf(cat)] += share * usPerOp;
    per.push({ leader: p.file.includes('leader'), us });
  }
  if (per.length === 0) return undefined;
  const mean = Object.fromEntries(CPU_PARTS.map((k) => [k, Math.round(per.reduce((s, x) => s + x.us[k], 0) / per.length)])) as Record<CpuPart, number>;
  const leader = per.find((x) => x.leader)?.us ?? per[0]!.us;
  return { meanUs: mean, leaderUs: Object.fromEntries(CPU_PARTS.map((k) => [k, Math.round(leader[k])])) as Record<CpuPart, number>, config: describeConfig(run.config).replace(/\s+/g, ' ') };
}

export function formatCpuSplit(s: CpuSplit): string[] {
  const line = (u: Record<CpuPart, number>) => `${CPU_PARTS.map((k) => `${k} ${u[k]}`).join(', ')} = ${CPU_PARTS.reduce((t, k) => t + u[k], 0)} µs`;
  return [`mean over replicas: ${line(s.meanUs)}`, `leader:             ${line(s.leaderUs)}`];
}

export interface VerifyBound {
  formula: string[];
  cores: number;
  verifyPerSec: number;
  n: number;
  mode: string;
  /** Requests per slot seen in the run the bound is computed for. */
  batch: number;
  /** Vote/proposal verifications per replica per slot: the protocol's count, and what was measured. */
  votesPerSlotModel: number;
  votesPerSlotMeasured: number;
  /** Verifications per operation per replica (model at the measured batch). */
  perReplicaPerOp: number;
  /** One core per replica. */
  boundPerReplicaCoreOpsPerSec: number;
  /** All n replicas sharing this machine's cores (clients' reply checks not counted). */
  boundThisMachineOpsPerSec: number;
  /** From the measured verifications of replicas and clients, plus measured signatures. */
  boundMeasuredCryptoOpsPerSec: number;
  achievedOpsPerSec: number;
  achievedFraction: number;
  basis: string;
}

/**
 * Per operation, every replica verifies the client's request signature once, and per slot its
 * share of votes: the PROPOSE or the other replicas' ACCEPTs (n−1 in all), plus n−1 COMMITs on
 * the classic path. A slot carries `batch` requests.
 */
export function verifyBound(crypto: CryptoMicroResult, run: RunResult, cores: number): VerifyBound {
  const { n } = run.config;
  const V = crypto.node.verifyPerSec;
  const S = crypto.node.signPerSec;
  const b = run.batch > 0 ? run.batch : 1;
  const model = run.config.mode === 'fast' ? n - 1 : 2 * (n - 1);
  const measuredPerReplica = run.verifiesPerOp / Math.max(1, run.replicas.length);
  const perReplica = 1 + model / b;
  const perReplicaCore = V / perReplica;
  const machine = (cores * V) / (n * perReplica);
  const cryptoSecPerOp = (run.verifiesPerOp + run.loadgen.verifiesPerOp) / V + (run.signsPerOp + 1) / S;
  const measuredCrypto = cores / cryptoSecPerOp;
  const r = (x: number) => Math.round(x);
  return {
    formula: [
      `per operation each replica verifies 1 client request signature + v/b vote signatures, v = vote/proposal verifications per replica per slot (fast: n−1 = ${n - 1}; classic: 2(n−1) = ${2 * (n - 1)}), b = requests per slot`,
      `bound, one core per replica:   X = V / (1 + v/b)`,
      `bound, this machine:           X = C·V / (n·(1 + v/b))   (n replicas share C cores; the clients' own reply checks come on top)`,
      `V = ${r(V)} node:crypto verifies/s per core (measured), C = ${cores} cores, n = ${n}, ${run.config.mode}: v = ${model}, b = ${b} (seen in ${run.config.mode} n=${n} c=${run.config.clients})`,
      `  → 1 + v/b = ${perReplica.toFixed(2)} verifies per op per replica (measured: ${measuredPerReplica.toFixed(2)}, which also counts STATUS, checkpoints and fallback COMMITs: v measured ≈ ${((measuredPerReplica - 1) * b).toFixed(1)})`,
      `  → X = ${r(perReplicaCore)} ops/s with a core per replica; ${r(machine)} ops/s for n=${n} on this ${cores}-core machine`,
      `all measured crypto (replicas' ${run.verifiesPerOp} verifies + clients' ${run.loadgen.verifiesPerOp} verifies + ${run.signsPerOp} + 1 signs per op, at S = ${r(S)} signs/s): X = C / (verifies/V + signs/S) = ${r(measuredCrypto)} ops/s`,
    ],
    cores,
    verifyPerSec: V,
    n,
    mode: run.config.mode,
    batch: b,
    votesPerSlotModel: model,
    votesPerSlotMeasured: Math.round((measuredPerReplica - 1) * b * 10) / 10,
    perReplicaPerOp: Math.round(perReplica * 100) / 100,
    boundPerReplicaCoreOpsPerSec: r(perReplicaCore),
    boundThisMachineOpsPerSec: r(machine),
    boundMeasuredCryptoOpsPerSec: r(measuredCrypto),
    achievedOpsPerSec: run.throughputOpsPerSec,
    achievedFraction: Math.round((run.throughputOpsPerSec / machine) * 1000) / 1000,
    basis: `${run.config.mode} n=${n} ${run.config.delayMs}ms c=${run.config.clients} ${run.config.sizeBytes}B`,
  };
}

export interface TargetRow {
  name: string;
  target: string;
  measured: string;
  pass: boolean | null;
  detail?: string;
}

const fmtMs = (x: number) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 2 : 1)} ms` : 'n/a');

export function findRun(runs: RunResult[], q: Partial<{ mode: string; n: number; delayMs: number; clients: number; sizeBytes: number }>): RunResult | undefined {
  return runs.find(
    (r) =>
      r.ok &&
      !r.config.special &&
      (q.mode === undefined || r.config.mode === q.mode) &&
      (q.n === undefined || r.config.n === q.n) &&
      (q.delayMs === undefined || r.config.delayMs === q.delayMs) &&
      (q.clients === undefined || r.config.clients === q.clients) &&
      (q.sizeBytes === undefined || r.config.sizeBytes === q.sizeBytes),
  );
}

export function bestThroughput(runs: RunResult[], n = 4, sizeBytes = 64): RunResult | undefined {
  return runs.filter((r) => r.ok && !r.config.special && r.config.n === n && r.config.sizeBytes === sizeBytes).sort((a, b) => b.throughputOpsPerSec - a.throughputOpsPerSec)[0];
}

export interface SoakVerdict {
  flat: boolean;
  growthMB: number;
  growthFraction: number;
  slopeMBPer100kOps: number;
  ops: number;
}

export function targets(runs: RunResult[], soak?: SoakVerdict, attacks?: AttackSection): TargetRow[] {
  const rows: TargetRow[] = [];
  const best = bestThroughput(runs);
  rows.push({
    name: 'throughput, n=4, 64-byte requests, every request signed',
    target: `≥ ${TARGETS.throughputOpsPerSec.toLocaleString('en-US')} ops/s`,
    measured: best ? `${Math.round(best.throughputOpsPerSec).toLocaleString('en-US')} ops/s` : 'not run',
    pass: best ? best.throughputOpsPerSec >= TARGETS.throughputOpsPerSec : null,
    ...(best ? { detail: `best closed-loop run: ${best.config.mode}, ${best.config.delayMs} ms delay, ${best.config.clients} client${best.config.clients === 1 ? "" : "s"}` } : {}),
  });
  const single = findRun(runs, { mode: 'fast', n: 4, delayMs: 0, clients: 1, sizeBytes: 64 });
  rows.push({
    name: 'single-client p50, fast path, n=4, 0 ms injected delay',
    target: `≤ ${TARGETS.singleClientFastP50Ms} ms`,
    measured: single ? fmtMs(single.latency.p50Ms) : 'not run',
    pass: single ? single.latency.p50Ms <= TARGETS.singleClientFastP50Ms : null,
  });
  const loaded = findRun(runs, { mode: 'fast', n: 4, delayMs: 0, clients: 64, sizeBytes: 64 });
  rows.push({
    name: 'CPU per operation per replica, fast, n=4, 64 clients',
    target: `≤ ${TARGETS.cpuMsPerOpPerReplica} ms`,
    measured: loaded ? `${loaded.cpuSecPer1kOpsPerReplica.toFixed(3)} ms (leader ${loaded.cpuSecPer1kOpsLeader.toFixed(3)} ms)` : 'not run',
    pass: loaded ? loaded.cpuSecPer1kOpsPerReplica <= TARGETS.cpuMsPerOpPerReplica : null,
  });
  const fast = findRun(runs, { mode: 'fast', n: 4, delayMs: 5, clients: 1, sizeBytes: 64 });
  const classic = findRun(runs, { mode: 'classic', n: 4, delayMs: 5, clients: 1, sizeBytes: 64 });
  const ratio = fast && classic ? fast.latency.p50Ms / classic.latency.p50Ms : NaN;
  rows.push({
    name: 'fast p50 / classic p50, n=4, 5 ms one-way delay, 1 client',
    target: `≤ ${TARGETS.fastOverClassicP50}`,
    measured: Number.isFinite(ratio) ? `${ratio.toFixed(2)} (${fmtMs(fast!.latency.p50Ms)} / ${fmtMs(classic!.latency.p50Ms)})` : 'not run',
    pass: Number.isFinite(ratio) ? ratio <= TARGETS.fastOverClassicP50 : null,
  });
  const flood = attacks?.rows.filter((r) => r.strategy === 'flood' && r.throughputFraction !== undefined) ?? [];
  const worstFlood = flood.length ? Math.min(...flood.map((r) => r.throughputFraction!)) : NaN;
  rows.push({
    name: 'throughput under the flood strategy, fraction of fault-free',
    target: `≥ ${TARGETS.floodThroughputFraction}`,
    measured: Number.isFinite(worstFlood) ? `${worstFlood.toFixed(2)} (worst of ${flood.map((r) => `${r.on} ${r.throughputFraction!.toFixed(2)}`).join(', ')})` : 'not run here (npm run bench -- --attacks flood)',
    pass: Number.isFinite(worstFlood) ? worstFlood >= TARGETS.floodThroughputFraction : null,
  });
  rows.push({
    name: 'memory flat in soak (checkpoints truncate the log)',
    target: 'peak RSS growth ≤ max(10%, 16 MB) from the first to the last third',
    measured: soak ? `${soak.growthMB >= 0 ? '+' : ''}${soak.growthMB.toFixed(1)} MB (${(soak.growthFraction * 100).toFixed(1)}%), slope ${soak.slopeMBPer100kOps.toFixed(2)} MB per 100k ops over ${soak.ops.toLocaleString('en-US')} ops` : 'not run here (npm run bench -- --soak)',
    pass: soak ? soak.flat : null,
  });
  return rows;
}

export function formatTargets(rows: TargetRow[]): string[] {
  return rows.map((r) => `${r.pass === null ? 'SKIP' : r.pass ? 'PASS' : 'FAIL'}  ${r.name}: target ${r.target}, measured ${r.measured}${r.detail ? ` (${r.detail})` : ''}`);
}

// ------------------------------------------------------------------------------------------
// Markdown

const num = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const sizeLabel = (b: number) => (b >= 1024 && b % 1024 === 0 ? `${b / 1024} KiB` : `${b} B`);

export function runsTable(runs: RunResult[]): string[] {
  const head = '| mode | n | delay | clients | request | ops/s | p50 ms | p90 ms | p99 ms | CPU s / 1k ops / replica (leader) | signs / op | verifies / op | bytes out / op | batch | fast slots | peak RSS MB | errors | view changes | other load (cores) |';
  const sep = '|' + '---|'.repeat(19);
  const rows = runs.map((r) => {
    const c = r.config;
    if (!r.ok) return `| ${c.mode} | ${c.n} | ${c.delayMs} ms | ${c.clients} | ${sizeLabel(c.sizeBytes)} | failed: ${(r.error ?? '').split('\n')[0]!.replace(/\|/g, '/')} ||||||||||||| ${num(r.otherCoresBusy, 1)} |`;
    return `| ${c.mode} | ${c.n} | ${c.delayMs} ms | ${c.clients} | ${sizeLabel(c.sizeBytes)} | ${Math.round(r.throughputOpsPerSec)} | ${num(r.latency.p50Ms)} | ${num(r.latency.p90Ms)} | ${num(r.latency.p99Ms)} | ${num(r.cpuSecPer1kOpsPerReplica, 2)} (${num(r.cpuSecPer1kOpsLeader, 2)}) | ${num(r.signsPerOp, 2)} | ${num(r.verifiesPerOp, 2)} | ${Math.round(r.bytesOutPerOp)} | ${num(r.batch, 1)} | ${Math.round(r.fastShare * 100)}% | ${num(r.peakRssMB, 0)} | ${r.errors} | ${r.viewChanges} | ${num(r.otherCoresBusy, 1)} |`;
  });
  return [head, sep, ...rows];
}

export interface AttackRow {
  strategy: string;
  on: string;
  replica: number;
  result?: RunResult;
  skipped?: string;
  throughputFraction?: number;
  p99Multiple?: number;
}

export interface AttackSection {
  baseline?: RunResult;
  rows: AttackRow[];
  note: string;
}

export function attackTable(a: AttackSection): string[] {
  const out = [a.note, ''];
  if (a.baseline) out.push(`Fault-free reference: ${describeShort(a.baseline)}: ${Math.round(a.baseline.throughputOpsPerSec)} ops/s, p99 ${num(a.baseline.latency.p99Ms)} ms.`, '');
  if (!a.rows.length) return out;
  out.push('| strategy | Byzantine replica | ops/s | × fault-free throughput | p99 ms | × fault-free p99 | view changes | errors |', '|---|---|---|---|---|---|---|---|');
  for (const r of a.rows) {
    if (r.skipped || !r.result) out.push(`| ${r.strategy} | R${r.replica} (${r.on}) | skipped: ${r.skipped ?? 'no result'} |||||||`);
    else out.push(`| ${r.strategy} | R${r.replica} (${r.on}) | ${Math.round(r.result.throughputOpsPerSec)} | ${num(r.throughputFraction ?? NaN, 2)} | ${num(r.result.latency.p99Ms)} | ${num(r.p99Multiple ?? NaN, 2)} | ${r.result.viewChanges} | ${r.result.errors} |`);
  }
  return out;
}

export function describeShort(r: RunResult): string {
  const c = r.config;
  return `${c.mode} n=${c.n}, ${c.delayMs} ms delay, ${c.clients} clients, ${sizeLabel(c.sizeBytes)} requests`;
}
