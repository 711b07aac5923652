/**
 * Soak: one cluster, many closed-loop clients, a million operations (or --ops), with the replicas'
 * resident memory sampled from /proc as it goes. Checkpoints every 128 slots let a replica drop
 * its log below the stable checkpoint, so memory should level off after warm-up and stay flat.
 */
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { BenchCluster } from './cluster.ts';
import { ClosedLoop, type LatencySummary } from './load.ts';
import { Aborted, type RunContext } from './measure.ts';
import { readProc } from './proc.ts';
import type { SoakVerdict } from './report.ts';

export interface SoakOptions {
  n: number;
  mode: 'fast' | 'classic';
  clients: number;
  sizeBytes: number;
  delayMs: number;
  fsync: boolean;
  ops: number;
  maxMinutes: number;
  sampleS: number;
}

export interface SoakSample {
  tS: number;
  ops: number;
  opsPerSec: number;
  /** Highest slot executed by any replica. */
  executed: number;
  rssMB: number[];
  peakRssMB: number[];
  /** Each replica's V8 heap in use and external (Buffer) memory, from its status: RSS that grows while these stay flat is the allocator's, not a leak. */
  heapMB: number[];
  externalMB: number[];
}

export interface SoakResult {
  options: SoakOptions;
  completedOps: number;
  errors: number;
  errorSamples: string[];
  wallS: number;
  throughputOpsPerSec: number;
  latency: LatencySummary;
  hdr: string;
  samples: SoakSample[];
  verdict: SoakVerdict;
  stoppedBy: 'ops' | 'time' | 'interrupt';
  crashes: string[];
}

const r1 = (x: number) => Math.round(x * 10) / 10;

export function soakVerdict(samples: SoakSample[], ops: number): SoakVerdict {
  // Leave out warm-up (first 10% of samples, at least one); compare the first and last thirds of the rest.
  const rest = samples.slice(Math.max(1, Math.floor(samples.length / 10)));
  const use = rest.length >= 3 ? rest : samples;
  const third = Math.max(1, Math.floor(use.length / 3));
  const first = use.slice(0, third);
  const last = use.slice(-third);
  const replicas = use[0]?.rssMB.length ?? 0;
  let growthMB = -Infinity;
  let base = 0;
  for (let i = 0; i < replicas; i++) {
    const a = Math.max(...first.map((s) => s.rssMB[i] ?? 0));
    const b = Math.max(...last.map((s) => s.rssMB[i] ?? 0));
    if (b - a > growthMB) {
      growthMB = b - a;
      base = a;
    }
  }
  if (!Number.isFinite(growthMB)) growthMB = 0;
  // Least-squares slope of the mean RSS against operations.
  const xs = use.map((s) => s.ops);
  const ys = use.map((s) => s.rssMB.reduce((a, b) => a + b, 0) / Math.max(1, s.rssMB.length));
  const mx = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const my = ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const slope = den > 0 ? (num / den) * 100_000 : 0;
  const growthFraction = base > 0 ? growthMB / base : 0;
  return { flat: growthMB <= Math.max(0.1 * base, 16), growthMB: r1(growthMB), growthFraction: Math.round(growthFraction * 1000) / 1000, slopeMBPer100kOps: Math.round(slope * 100) / 100, ops };
}

export async function runSoak(o: SoakOptions, ctx: RunContext, print: (line: string) => void, phase: (text: string) => void): Promise<SoakResult> {
  phase('starting replicas');
  const cluster = await BenchCluster.start({ n: o.n, mode: o.mode, clients: o.clients, delayMs: o.delayMs, fsync: o.fsync });
  let loop: ClosedLoop | undefined;
  try {
    phase(`connecting ${o.clients} clients`);
    const clients = await cluster.connectClients(o.clients);
    loop = new ClosedLoop(clients, o.sizeBytes, o.ops);
    const l = loop;
    loop.start();
    const samples: SoakSample[] = [];
    const started = performance.now();
    const deadline = started + o.maxMinutes * 60_000;
    let measuring = false;
    let lastOps = 0;
    let lastT = started;
    let printEvery = 1;
    let stoppedBy: SoakResult['stoppedBy'] = 'ops';
    const finished = loop.done().then(() => true);
    let done = false;
    void finished.then(() => (done = true));
    print(`  ${'time'.padStart(7)} ${'ops'.padStart(11)} ${'ops/s'.padStart(7)} ${'slot'.padStart(9)}   RSS MB per replica (peak so far), V8 heap in use MB`);
    while (!done) {
      const next = performance.now() + o.sampleS * 1000;
      while (!done && performance.now() < next) {
        if (ctx.aborted()) {
          stoppedBy = 'interrupt';
          throw new Aborted('interrupted');
        }
        await new Promise((r) => setTimeout(r, 200));
        const el = (performance.now() - started) / 1000;
        phase(`${l.completed.toLocaleString('en-US')}/${o.ops.toLocaleString('en-US')} ops · ${Math.round(el)}s`);
      }
      if (!measuring && performance.now() - started > 5000) {
        loop.beginMeasure();
        measuring = true;
      }
      const now = performance.now();
      const procs = [...Array(o.n).keys()].map((i) => readProc(cluster.pid(i)));
      const statuses = [...Array(o.n).keys()].map((i) => cluster.status(i));
      const executed = Math.max(-1, ...statuses.map((st) => st?.executed ?? -1));
      const s: SoakSample = {
        tS: r1((now - started) / 1000),
        ops: loop.completed,
        opsPerSec: r1(((loop.completed - lastOps) * 1000) / (now - lastT)),
        executed,
        rssMB: procs.map((p) => r1((p?.rssBytes ?? NaN) / 1048576)),
        peakRssMB: procs.map((p) => r1((p?.peakRssBytes ?? NaN) / 1048576)),
        heapMB: statuses.map((st) => r1((st?.heapUsedBytes ?? NaN) / 1048576)),
        externalMB: statuses.map((st) => r1((st?.externalBytes ?? NaN) / 1048576)),
      };
      samples.push(s);
      lastOps = loop.completed;
      lastT = now;
      if (samples.length === 2) {
        // Aim for about 30 printed rows over the whole run.
        const rate = s.ops / Math.max(1, s.tS);
        const expectedS = Math.min(o.maxMinutes * 60, o.ops / Math.max(1, rate));
        printEvery = Math.max(1, Math.round(expectedS / o.sampleS / 30));
        print(`  (about ${Math.round(rate)} ops/s: ${o.ops.toLocaleString('en-US')} operations take ~${Math.round(expectedS / 60)} min; a row every ${printEvery * o.sampleS} s, every sample in the results file)`);
      }
      if (samples.length % printEvery === 0 || samples.length <= 2 || done) {
        print(`  ${`${Math.round(s.tS)}s`.padStart(7)} ${s.ops.toLocaleString('en-US').padStart(11)} ${String(Math.round(s.opsPerSec)).padStart(7)} ${s.executed.toLocaleString('en-US').padStart(9)}   ${s.rssMB.map((m, i) => `R${i} ${m.toFixed(0)} (${(s.peakRssMB[i] ?? NaN).toFixed(0)}) heap ${(s.heapMB[i] ?? NaN).toFixed(0)}`).join('  ')}`);
      }
      if (now > deadline && !done) {
        stoppedBy = 'time';
        print(`  stopping: --soak-max-min ${o.maxMinutes} reached before ${o.ops.toLocaleString('en-US')} operations`);
        break;
      }
    }
    const m = measuring ? loop.endMeasure() : undefined;
    await loop.stop(3000);
    const wallS = (performance.now() - started) / 1000;
    const completed = loop.completed;
    const result: SoakResult = {
      options: o,
      completedOps: completed,
      errors: loop.errors,
      errorSamples: loop.errorSamples,
      wallS: r1(wallS),
      throughputOpsPerSec: r1(completed / wallS),
      latency: m?.latency ?? { count: 0, p50Ms: NaN, p90Ms: NaN, p99Ms: NaN, p999Ms: NaN, maxMs: NaN, meanMs: NaN },
      hdr: m ? encodeIntoCompressedBase64(m.histogram) : '',
      samples,
      verdict: soakVerdict(samples, completed),
      stoppedBy,
      crashes: [...cluster.crashes],
    };
    return result;
  } finally {
    await loop?.stop(1000);
    await cluster.close();
  }
}
