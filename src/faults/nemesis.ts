/**
 * The live nemesis (Jepsen's word): a real cluster of `byzpax replica` processes on loopback
 * under a concurrent client workload, while a seeded schedule of faults hits it — one replica
 * runs a Byzantine strategy for the whole run (restarted with a new one every phase), correct
 * replicas are killed with SIGKILL and restarted from disk, and links are cut in the transport
 * (partitions). Afterwards the network heals, every replica is restarted, and the run is judged:
 * the recorded client history must be linearizable, every acknowledged write must read back, and
 * the correct replicas must end in one state.
 *
 * Safety must hold whatever the schedule does: only one replica (≤ f) ever lies, and crashes and
 * partitions never make a correct replica lie. Liveness is only demanded at the end, after the
 * faults stop: while a correct replica is down and the Byzantine one withholds its votes, n = 4
 * has no quorum, and operations time out (recorded as unknown, which the checker allows).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOperations } from '../check/linearizability.ts';
import { kvModel } from '../check/kv-model.ts';
import { freePortRange } from '../cluster/free-ports.ts';
import { clientKeyIn, generateCluster } from '../cluster/generate.ts';
import { readKeyFile } from '../cluster/key-file.ts';
import { Client } from '../client/client.ts';
import { HistoryRecorder } from '../check/history-recorder.ts';
import { ReplicaProcesses } from '../server/replica-processes.ts';
import { strategyNames, type StrategyName } from './types.ts';

export interface NemesisOptions {
  n: number;
  seed: number;
  /** Seconds of faults (the judgement phase comes after). */
  durationSec: number;
  clients: number;
  mode: 'fast' | 'classic';
  /** The replica that runs Byzantine strategies (default: chosen by the seed). */
  byzantine?: number;
  /** Strategies to cycle through (default: every one but crash-recover, which is a crash, not a lie). */
  strategies?: StrategyName[];
  log?: (line: string) => void;
}

export interface NemesisReport {
  verdict: 'PASS' | 'FAIL';
  problems: string[];
  seed: number;
  n: number;
  byzantine: number;
  strategies: StrategyName[];
  kills: number;
  partitions: number;
  operations: number;
  acknowledged: number;
  unknown: number;
  readBack: number;
  linearizable: 'ok' | 'illegal' | 'unknown';
  /** Misbehaviour the correct replicas detected, by culprit. */
  detected: Record<number, number>;
  viewChanges: number;
  seconds: number;
}

/** mulberry32: a tiny seeded PRNG, so a schedule replays from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runNemesis(o: NemesisOptions): Promise<NemesisReport> {
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const random = prng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const dir = mkdtempSync(join(tmpdir(), 'byzpax-nemesis-'));
  const keyDir = join(dir, 'keys');
  const { cluster } = generateCluster({ dir: keyDir, n: o.n, clients: o.clients, mode: o.mode, basePort: await freePortRange(o.n) });
  const { n, f } = cluster.config;
  const byz = o.byzantine ?? Math.floor(random() * n);
  const pool = o.strategies ?? strategyNames.filter((s) => s !== 'crash-recover' && s !== 'collude');
  const procs = new ReplicaProcesses({ cluster, keyDir, dataDir: join(dir, 'data'), args: ['--log-level', 'warn'] });
  const problems: string[] = [];
  const used: StrategyName[] = [];
  let kills = 0;
  let partitions = 0;
  const h = new HistoryRecorder();
  const clients: Client[] = [];
  let stop = false;
  try {
    for (let id = 0; id < n; id++) if (id !== byz) procs.start(id);
    const first = pick(pool);
    used.push(first);
    procs.start(byz, ['--byzantine', first]);
    log(`nemesis seed ${o.seed}: n=${n} f=${f}, replica ${byz} is Byzantine (starts as '${first}'); ${o.durationSec} s of faults`);
    if (!(await procs.formed(60_000))) throw new Error('the cluster did not form within 60 s');
    for (let i = 0; i < o.clients; i++) {
      clients.push(await Client.connect({ cluster, key: readKeyFile(clientKeyIn(keyDir, i), cluster, 'client'), retryMs: 300, operationTimeoutMs: 8_000 }));
    }
    const acknowledged = new Map<string, string>();
    const workload = clients.map(async (c) => {
      let shared: string | null = null;
      for (let i = 0; !stop; i++) {
        const own = `c${c.id}-k${i % 4}`;
        if (i % 4 === 3) {
          await h.run(c, { op: 'cas', key: 'shared', expected: shared, value: `c${c.id}-s${i}` });
        } else if (i % 4 === 1) {
          const a = await h.run(c, { op: 'get', key: 'shared' });
          if (a && 'value' in a.result) shared = a.result.value;
        } else {
          const value = `c${c.id}-v${i}`;
          // A write whose answer never came may still take effect later: forget what we knew.
          if (await h.run(c, { op: 'put', key: own, value })) acknowledged.set(own, value);
          else acknowledged.delete(own);
        }
      }
    });

    // The schedule: every phase, one fault among the correct replicas, healed before the next;
    // and a new strategy for the Byzantine one every other phase.
    const correct = [...Array(n).keys()].filter((i) => i !== byz);
    const end = performance.now() + o.durationSec * 1000;
    for (let phase = 0; performance.now() < end; phase++) {
      const action = pick(['kill', 'partition', 'calm'] as const);
      const victim = pick(correct);
      const hold = 1500 + Math.floor(random() * 2500);
      if (phase % 2 === 1) {
        const next = pick(pool);
        used.push(next);
        procs.kill(byz);
        await sleep(200);
        procs.start(byz, ['--byzantine', next]);
        log(`  [${sec(t0)}] replica ${byz} now runs '${next}'`);
      }
      if (action === 'kill') {
        kills++;
        log(`  [${sec(t0)}] kill -9 replica ${victim}${victim === procs.leader() ? ' (the leader)' : ''}; restart in ${hold} ms`);
        procs.kill(victim);
        await sleep(hold);
        procs.start(victim);
      } else if (action === 'partition') {
        partitions++;
        log(`  [${sec(t0)}] partition: replica ${victim} cut off from every other replica for ${hold} ms`);
        isolate(procs, n, victim, true);
        await sleep(hold);
        isolate(procs, n, victim, false);
      } else {
        await sleep(hold);
      }
      await sleep(500);
    }

    // Judgement: heal everything, let the workload stop, then read every acknowledged write back.
    log(`  [${sec(t0)}] faults stop; the Byzantine replica keeps running '${used[used.length - 1]}'`);
    for (let id = 0; id < n; id++) isolate(procs, n, id, false);
    for (const id of correct) if (!procs.isRunning(id)) procs.start(id);
    stop = true;
    await Promise.all(workload);
    let readBack = 0;
    for (const [key, value] of acknowledged) {
      const a = await h.run(clients[0]!, { op: 'get', key });
      if (!a) problems.push(`read-back of ${key} got no answer after the faults stopped (liveness)`);
      else if (!('value' in a.result) || a.result.value !== value) problems.push(`read-back of ${key}: ${JSON.stringify(a.result)}, expected "${value}"`);
      else readBack++;
    }
    const verdict = checkOperations(kvModel, h.operations, { timeoutMs: 120_000 });
    if (verdict.result !== 'ok') problems.push(`the client history is ${verdict.result === 'illegal' ? 'NOT linearizable' : 'not decided (checker budget)'}`);
    const converged = await procs.waitFor(() => {
      const s = correct.map((i) => procs.status[i]);
      return s.every((x) => x !== undefined && x.executed === s[0]!.executed && x.stateDigest === s[0]!.stateDigest);
    }, 30_000);
    if (!converged) problems.push(`the correct replicas did not reach one state: ${correct.map((i) => `R${i} executed ${procs.status[i]?.executed ?? 'down'}`).join(', ')}`);
    const detected: Record<number, number> = {};
    let viewChanges = 0;
    for (const i of correct) {
      const s = procs.status[i];
      if (!s) continue;
      viewChanges = Math.max(viewChanges, s.viewChanges);
      for (const [culprit, count] of Object.entries(s.detected)) detected[Number(culprit)] = (detected[Number(culprit)] ?? 0) + count;
    }
    const ops = h.operations.length;
    return {
      verdict: problems.length === 0 ? 'PASS' : 'FAIL',
      problems,
      seed: o.seed,
      n,
      byzantine: byz,
      strategies: used,
      kills,
      partitions,
      operations: ops,
      acknowledged: h.answered,
      unknown: ops - h.answered,
      readBack,
      linearizable: verdict.result,
      detected,
      viewChanges,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  } finally {
    stop = true;
    await Promise.all(clients.map((c) => c.close()));
    await procs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cuts (or heals) every link between `victim` and the others, in both directions. */
function isolate(procs: ReplicaProcesses, n: number, victim: number, cut: boolean): void {
  const faults = cut ? { blocked: true } : {};
  procs.setLinkFaults(victim, 'all', faults);
  for (let i = 0; i < n; i++) if (i !== victim) procs.setLinkFaults(i, victim, faults);
}

function sec(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}
