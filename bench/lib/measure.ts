/**
 * One benchmark configuration, end to end: a fresh cluster, closed-loop clients, warm-up, a fixed
 * measurement window, then the figures from the clients (latency, throughput), the replicas'
 * status counters (signatures, verifications, bytes, slots) and /proc (CPU, peak RSS).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Client } from '../../src/client/client.ts';
import { quorums } from '../../src/core/config.ts';
import type { ReplicaStatus } from '../../src/server/replica-server.ts';
import { BenchCluster, ClusterStartError, UnsupportedArgsError } from './cluster.ts';
import { ClosedLoop, commandOfSize, encodedSize, type LatencySummary } from './load.ts';
import { readCpuTotals, readProc, type CpuTotals, type ProcSample } from './proc.ts';
import { profilesIn, summarizeProfile, type ProfileSummary } from './profile.ts';
import type { Progress } from './progress.ts';

export interface RunConfig {
  mode: 'fast' | 'classic';
  n: number;
  delayMs: number;
  clients: number;
  sizeBytes: number;
  fsync: boolean;
  warmupS: number;
  durationS: number;
  /** Attack runs: this replica gets extra arguments. */
  special?: { id: number; args: string[] };
  /** Run the replicas under node --cpu-prof and summarise where their CPU went. */
  profile?: boolean;
}

export interface ReplicaFigures {
  id: number;
  cpuMs: number;
  signs: number;
  verifies: number;
  bytesOut: number;
  bytesIn: number;
  slots: number;
  fastCommits: number;
  classicCommits: number;
  viewChanges: number;
  fallbacks: number;
  drops: number;
  peakRssBytes: number;
}

export interface RunResult {
  config: RunConfig & { f: number; requestBytes: number };
  ok: boolean;
  error?: string;
  /** The replica build refused the extra arguments (attack strategies not available). */
  unsupported?: boolean;
  ops: number;
  errors: number;
  errorSamples: string[];
  windowS: number;
  throughputOpsPerSec: number;
  latency: LatencySummary;
  /** HDR histogram of the window (µs), compressed base64, for later analysis. */
  hdr: string;
  leader: number | undefined;
  /** Slots the leader executed in the window, and requests per slot. */
  slots: number;
  batch: number;
  /** Share of slots decided on the fast path. */
  fastShare: number;
  cpuSecPer1kOpsPerReplica: number;
  cpuSecPer1kOpsMax: number;
  cpuSecPer1kOpsLeader: number;
  /** Summed over replicas, per client operation. */
  signsPerOp: number;
  verifiesPerOp: number;
  bytesOutPerOp: number;
  peakRssMB: number;
  viewChanges: number;
  fallbacks: number;
  replicas: ReplicaFigures[];
  /** The benchmark process itself: the clients sign requests and check f+1 signed replies. */
  loadgen: { cpuSecPer1kOps: number; verifiesPerOp: number };
  crashes: string[];
  /**
   * Cores kept busy by processes other than this benchmark and its replicas during the window
   * (the machine is shared: other work there makes every figure worse), and cores stolen by the
   * hypervisor.
   */
  otherCoresBusy: number;
  stealCores: number;
  profile?: ProfileSummary[];
  wallS: number;
}

export class Aborted extends Error {}

export interface RunContext {
  progress?: Progress;
  aborted: () => boolean;
}

const round = (x: number, digits = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : 0);

async function sleepFor(ms: number, ctx: RunContext, tick?: (elapsedMs: number) => void): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < ms) {
    if (ctx.aborted()) throw new Aborted('interrupted');
    await new Promise((r) => setTimeout(r, Math.min(200, ms - (performance.now() - start))));
    tick?.(performance.now() - start);
  }
}

interface Snapshot {
  status: (ReplicaStatus | undefined)[];
  proc: (ProcSample | undefined)[];
  loadCpuMs: number;
  loadVerifies: number;
  machine: CpuTotals | undefined;
}

/** Signature checks the clients ran; clients sharing a verifier are counted once. */
function clientVerifies(clients: Client[]): number {
  let sum = 0;
  for (const v of new Set(clients.map((c) => c.verifier))) sum += v.stats.verified;
  return sum;
}

function snapshot(cluster: BenchCluster, clients: Client[]): Snapshot {
  const cpu = process.cpuUsage();
  return {
    status: [...Array(cluster.n).keys()].map((i) => {
      const s = cluster.status(i);
      return s ? { ...s } : undefined;
    }),
    proc: [...Array(cluster.n).keys()].map((i) => readProc(cluster.pid(i))),
    loadCpuMs: (cpu.user + cpu.system) / 1000,
    loadVerifies: clientVerifies(clients),
    machine: readCpuTotals(),
  };
}

export function describeConfig(c: Pick<RunConfig, 'mode' | 'n' | 'delayMs' | 'clients' | 'sizeBytes' | 'special'>): string {
  return `${c.mode.padEnd(7)} n=${c.n} ${String(c.delayMs).padStart(2)}ms c=${String(c.clients).padStart(3)} ${c.sizeBytes >= 1024 && c.sizeBytes % 1024 === 0 ? `${c.sizeBytes / 1024}KiB` : `${c.sizeBytes}B`}${c.special ? ` [R${c.special.id}: ${c.special.args.join(' ')}]` : ''}`;
}

export function emptyResult(config: RunConfig, error: string, extra: Partial<RunResult> = {}): RunResult {
  const { f } = quorums(config.n, Math.floor((config.n - 1) / 3));
  return {
    config: { ...config, f, requestBytes: encodedSize(commandOfSize(config.sizeBytes, 0, 0)) },
    ok: false,
    error,
    ops: 0,
    errors: 0,
    errorSamples: [],
    windowS: 0,
    throughputOpsPerSec: 0,
    latency: { count: 0, p50Ms: NaN, p90Ms: NaN, p99Ms: NaN, p999Ms: NaN, maxMs: NaN, meanMs: NaN },
    hdr: '',
    leader: undefined,
    slots: 0,
    batch: 0,
    fastShare: 0,
    cpuSecPer1kOpsPerReplica: NaN,
    cpuSecPer1kOpsMax: NaN,
    cpuSecPer1kOpsLeader: NaN,
    signsPerOp: NaN,
    verifiesPerOp: NaN,
    bytesOutPerOp: NaN,
    peakRssMB: NaN,
    viewChanges: 0,
    fallbacks: 0,
    replicas: [],
    loadgen: { cpuSecPer1kOps: NaN, verifiesPerOp: NaN },
    crashes: [],
    otherCoresBusy: NaN,
    stealCores: NaN,
    wallS: 0,
    ...extra,
  };
}

export async function runConfig(config: RunConfig, ctx: RunContext): Promise<RunResult> {
  const t0 = performance.now();
  const p = ctx.progress;
  const profDir = config.profile ? mkdtempSync(join(tmpdir(), 'byzpax-bench-prof-')) : undefined;
  let cluster: BenchCluster | undefined;
  let loop: ClosedLoop | undefined;
  try {
    p?.phase('starting replicas');
    const spawnAt = performance.now();
    const start = () =>
      BenchCluster.start({
        n: config.n,
        mode: config.mode,
        clients: config.clients,
        delayMs: config.delayMs,
        fsync: config.fsync,
        ...(config.special ? { special: config.special } : {}),
        ...(profDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] } : {}),
      });
    try {
      try {
        cluster = await start();
      } catch (e) {
        // Once more on fresh ports: on a shared machine another process may take a port we found free.
        if (!(e instanceof ClusterStartError) || ctx.aborted()) throw e;
        p?.phase('start-up failed; retrying on other ports');
        cluster = await start();
      }
    } catch (e) {
      if (e instanceof UnsupportedArgsError) return emptyResult(config, e.message, { unsupported: true, wallS: round((performance.now() - t0) / 1000, 1) });
      if (e instanceof ClusterStartError && !ctx.aborted()) return emptyResult(config, e.message, { wallS: round((performance.now() - t0) / 1000, 1) });
      throw e;
    }
    if (ctx.aborted()) throw new Aborted('interrupted');
    p?.phase(`connecting ${config.clients} client${config.clients === 1 ? '' : 's'}`);
    const clients = await cluster.connectClients(config.clients);
    loop = new ClosedLoop(clients, config.sizeBytes);
    loop.start();
    const l = loop;
    await sleepFor(config.warmupS * 1000, ctx, (ms) => p?.phase(`warm-up ${(ms / 1000).toFixed(1)}/${config.warmupS}s · ${l.completed} ops`));
    // A cold cluster that has not answered anything yet gets a little longer.
    for (let extra = 0; extra < 50 && l.completed === 0; extra++) await sleepFor(200, ctx);
    const pids = [...Array(config.n).keys()].map((i) => cluster!.pid(i));
    const s0 = snapshot(cluster, clients);
    loop.beginMeasure();
    const measureFrom = performance.now();
    await sleepFor(config.durationS * 1000, ctx, (ms) => p?.phase(`measuring ${(ms / 1000).toFixed(1)}/${config.durationS}s · ${l.measuredOps} ops`));
    const m = loop.endMeasure();
    const measureTo = performance.now();
    const s1 = snapshot(cluster, clients);
    const peak = pids.map((pid) => readProc(pid)?.peakRssBytes ?? NaN);
    p?.phase('stopping');
    await loop.stop(2000);
    const crashes = [...cluster.crashes];
    await cluster.close();
    cluster = undefined;

    const ops = m.ops;
    const replicas: ReplicaFigures[] = [];
    for (let i = 0; i < config.n; i++) {
      const a = s0.status[i];
      const b = s1.status[i];
      const pa = s0.proc[i];
      const pb = s1.proc[i];
      if (!a || !b) continue;
      replicas.push({
        id: i,
        cpuMs: pa && pb ? pb.cpuMs - pa.cpuMs : b.cpuMs - a.cpuMs,
        signs: b.signs - a.signs,
        verifies: b.verifies - a.verifies,
        bytesOut: b.bytesOut - a.bytesOut,
        bytesIn: b.bytesIn - a.bytesIn,
        slots: b.executed - a.executed,
        fastCommits: b.fastCommits - a.fastCommits,
        classicCommits: b.classicCommits - a.classicCommits,
        viewChanges: b.viewChanges - a.viewChanges,
        fallbacks: b.fallbacks - a.fallbacks,
        drops: b.drops - a.drops,
        peakRssBytes: peak[i] ?? NaN,
      });
    }
    const votes = new Map<number, number>();
    for (const s of s1.status) if (s) votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
    const leader = [...votes].sort((x, y) => y[1] - x[1])[0]?.[0];
    const sum = (f: (r: ReplicaFigures) => number) => replicas.reduce((acc, r) => acc + f(r), 0);
    const per1k = (cpuMs: number) => (ops > 0 ? cpuMs / ops : NaN); // ms per op = s per 1,000 ops
    const cpuPer1k = replicas.map((r) => per1k(r.cpuMs));
    const lead = replicas.find((r) => r.id === leader);
    const slots = lead?.slots ?? Math.max(0, ...replicas.map((r) => r.slots));
    const decided = sum((r) => r.fastCommits + r.classicCommits);
    const { f } = quorums(config.n, Math.floor((config.n - 1) / 3));
    let profile: ProfileSummary[] | undefined;
    if (profDir) {
      const files = profilesIn(profDir);
      profile = [];
      // One file per thread; the replica's main thread is the largest file of its pid.
      for (const [id, pid] of pids.entries()) {
        const mine = files.filter((f) => f.includes(`.${pid}.`));
        const main = mine.sort((x, y) => (x.includes(`.${pid}.0.`) ? -1 : y.includes(`.${pid}.0.`) ? 1 : 0))[0];
        if (!main) continue;
        const s = summarizeProfile(main, process.cwd(), 15, { fromMs: measureFrom - spawnAt, toMs: measureTo - spawnAt });
        profile.push({ ...s, file: `replica ${id}${id === leader ? ' (leader)' : ''}` });
      }
      rmSync(profDir, { recursive: true, force: true });
    }
    const peakMB = Math.max(...replicas.map((r) => r.peakRssBytes)) / 1048576;
    const windowS = m.windowMs / 1000;
    const ownCpuS = (sum((r) => r.cpuMs) + (s1.loadCpuMs - s0.loadCpuMs)) / 1000;
    const otherCoresBusy = s0.machine && s1.machine ? Math.max(0, (s1.machine.busyS - s0.machine.busyS - ownCpuS) / windowS) : NaN;
    const stealCores = s0.machine && s1.machine ? (s1.machine.stealS - s0.machine.stealS) / windowS : NaN;
    return {
      config: { ...config, f, requestBytes: encodedSize(commandOfSize(config.sizeBytes, 0, 0)) },
      ok: ops > 0,
      ...(ops > 0 ? {} : { error: `no operation completed in the window${m.errors ? ` (${m.errors} errors: ${loop.errorSamples[0]})` : ''}` }),
      ops,
      errors: m.errors,
      errorSamples: loop.errorSamples,
      windowS: round(m.windowMs / 1000),
      throughputOpsPerSec: round((ops * 1000) / m.windowMs, 1),
      latency: m.latency,
      hdr: encodeIntoCompressedBase64(m.histogram),
      leader,
      slots,
      batch: round(slots > 0 ? ops / slots : NaN, 2),
      fastShare: round(decided > 0 ? sum((r) => r.fastCommits) / decided : 0),
      cpuSecPer1kOpsPerReplica: round(cpuPer1k.reduce((a, b) => a + b, 0) / Math.max(1, cpuPer1k.length)),
      cpuSecPer1kOpsMax: round(Math.max(...cpuPer1k)),
      cpuSecPer1kOpsLeader: round(lead ? per1k(lead.cpuMs) : NaN),
      signsPerOp: round(sum((r) => r.signs) / ops, 2),
      verifiesPerOp: round(sum((r) => r.verifies) / ops, 2),
      bytesOutPerOp: Math.round(sum((r) => r.bytesOut) / ops),
      peakRssMB: round(peakMB, 1),
      viewChanges: Math.max(0, ...replicas.map((r) => r.viewChanges)),
      fallbacks: sum((r) => r.fallbacks),
      replicas,
      loadgen: { cpuSecPer1kOps: round(per1k(s1.loadCpuMs - s0.loadCpuMs)), verifiesPerOp: round((s1.loadVerifies - s0.loadVerifies) / ops, 2) },
      crashes,
      otherCoresBusy: round(otherCoresBusy, 2),
      stealCores: round(stealCores, 2),
      ...(profile ? { profile } : {}),
      wallS: round((performance.now() - t0) / 1000, 1),
    };
  } finally {
    await loop?.stop(1000);
    await cluster?.close();
    if (profDir) rmSync(profDir, { recursive: true, force: true });
  }
}
