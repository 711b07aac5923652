/**
 * The live nemesis (Jepsen's word): a real cluster of `byzpax replica` processes on loopback
 * under a concurrent client workload, while a seeded schedule of faults hits it — one replica
 * runs a Byzantine strategy for the whole run (restarted with a new one every phase), correct
 * replicas are killed with SIGKILL and restarted from disk, links are cut in the transport
 * (partitions), and correct replicas are replaced: the admin swaps one for a new replica (new key,
 * new port) that joins from the genesis file, and once the new epoch has begun the old one is
 * killed and its data directory deleted — the machine is gone for good. Afterwards the network heals, every replica is restarted, and the run is judged:
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
import type { Cluster } from '../cluster/cluster-file.ts';
import { adminKeyIn, clientKeyIn, generateCluster, generateMember } from '../cluster/generate.ts';
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
  /** Strategies to cycle through (default: every one but crash-recover, which is a crash, not a lie, collude and removed-member). */
  strategies?: StrategyName[];
  /** Fault kinds to draw from (default: all of them). */
  faults?: NemesisFault[];
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
  /** Members replaced by new replicas (membership changes that took effect). */
  replacements: number;
  /** The members at the end (ids never reused: replacements have ids ≥ n). */
  members: number[];
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

export const nemesisFaults = ['kill', 'partition', 'replace', 'calm'] as const;
export type NemesisFault = (typeof nemesisFaults)[number];

/**
 * A membership change takes effect a window after it is ordered (first checkpoint ≥ s + W); a
 * small window keeps a replacement within one phase of the schedule.
 */
const NEMESIS_PARAMS = { checkpointInterval: 32, window: 64 };

export async function runNemesis(o: NemesisOptions): Promise<NemesisReport> {
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const random = prng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const dir = mkdtempSync(join(tmpdir(), 'byzpax-nemesis-'));
  const keyDir = join(dir, 'keys');
  const { cluster } = generateCluster({ dir: keyDir, n: o.n, clients: o.clients, mode: o.mode, basePort: await freePortRange(o.n), params: NEMESIS_PARAMS });
  const { n, f } = cluster.config;
  const byz = o.byzantine ?? Math.floor(random() * n);
  // removed-member attacks only once removed, and the nemesis replaces correct replicas only.
  const pool = o.strategies ?? strategyNames.filter((s) => s !== 'crash-recover' && s !== 'collude' && s !== 'removed-member');
  const procs = new ReplicaProcesses({ cluster, keyDir, dataDir: join(dir, 'data'), args: ['--log-level', process.env.BYZPAX_NEMESIS_LOG ?? 'warn'] });
  const problems: string[] = [];
  const used: StrategyName[] = [];
  let kills = 0;
  let partitions = 0;
  let replacements = 0;
  const h = new HistoryRecorder();
  const clients: Client[] = [];
  let admin: Client | undefined;
  let stop = false;
  // Members that joined after genesis start with --join (their keys are in no cluster file).
  const start = (id: number) => procs.start(id, id >= n ? ['--join'] : []);
  try {
    for (let id = 0; id < n; id++) if (id !== byz) start(id);
    const first = pick(pool);
    used.push(first);
    procs.start(byz, ['--byzantine', first]);
    log(`nemesis seed ${o.seed}: n=${n} f=${f}, replica ${byz} is Byzantine (starts as '${first}'); ${o.durationSec} s of faults`);
    if (!(await procs.formed(60_000))) throw new Error('the cluster did not form within 60 s');
    for (let i = 0; i < o.clients; i++) {
      clients.push(await Client.connect({ cluster, key: readKeyFile(clientKeyIn(keyDir, i), cluster, 'client'), retryMs: 300, operationTimeoutMs: 8_000 }));
    }
    admin = await Client.connect({ cluster, key: readKeyFile(adminKeyIn(keyDir), cluster, 'admin'), retryMs: 300, operationTimeoutMs: 8_000 });
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
    let correct = [...Array(n).keys()].filter((i) => i !== byz);
    const members = () => [...correct, byz].sort((a, b) => a - b);
    let nextId = n;
    const kinds = o.faults ?? nemesisFaults;
    const end = performance.now() + o.durationSec * 1000;
    for (let phase = 0; performance.now() < end; phase++) {
      const action = pick(kinds);
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
        start(victim);
      } else if (action === 'partition') {
        partitions++;
        log(`  [${sec(t0)}] partition: replica ${victim} cut off from every other replica for ${hold} ms`);
        isolate(procs, members(), victim, true);
        await sleep(hold);
        isolate(procs, members(), victim, false);
      } else if (action === 'replace') {
        const id = nextId++;
        const replaced = await replaceMember({ procs, admin, cluster, keyDir, victim, id, log: (l) => log(`  [${sec(t0)}] ${l}`) });
        if (replaced) {
          replacements++;
          correct = correct.filter((i) => i !== victim).concat(id);
          rmSync(join(dir, 'data', `replica-${victim}`), { recursive: true, force: true });
        }
      } else {
        await sleep(hold);
      }
      await sleep(500);
    }

    // Judgement: heal everything, let the workload stop, then read every acknowledged write back.
    log(`  [${sec(t0)}] faults stop; the Byzantine replica keeps running '${used[used.length - 1]}'`);
    for (const id of members()) isolate(procs, members(), id, false);
    for (const id of correct) if (!procs.isRunning(id)) start(id);
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
      replacements,
      members: members(),
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
    await Promise.all([...clients, ...(admin ? [admin] : [])].map((c) => c.close()));
    await procs.stop();
    if (process.env.BYZPAX_KEEP) log(`kept ${dir}`); else rmSync(dir, { recursive: true, force: true });
  }
}

/** Cuts (or heals) every link between `victim` and the other `members`, in both directions. */
function isolate(procs: ReplicaProcesses, members: number[], victim: number, cut: boolean): void {
  const faults = cut ? { blocked: true } : {};
  procs.setLinkFaults(victim, 'all', faults);
  for (const i of members) if (i !== victim) procs.setLinkFaults(i, victim, faults);
}

/**
 * Replaces `victim` by a new replica `id` (new key, new port): the admin orders the change, the
 * new replica joins from the genesis file, and once the new epoch has begun the victim is killed
 * for good. The change is ordered while the victim still runs, so the Byzantine replica plus one
 * dead machine never leave n = 4 without a quorum. An answer lost to the faults is settled by
 * reading the membership; a change refused (another one pending) is skipped. True if it took effect.
 */
async function replaceMember(o: { procs: ReplicaProcesses; admin: Client; cluster: Cluster; keyDir: string; victim: number; id: number; log: (line: string) => void }): Promise<boolean> {
  const { procs, admin, victim, id } = o;
  const url = `ws://127.0.0.1:${await freePortRange(1)}`;
  const { entry } = generateMember({ cluster: o.cluster, dir: o.keyDir, id, url });
  o.log(`replace replica ${victim} by a new replica ${id} at ${url}`);
  let epoch: number | undefined;
  try {
    const a = await admin.changeMembership({ kind: 'replace', id: victim, member: { id, publicKey: entry.publicKey, address: url } });
    if (!a.result.ok) {
      o.log(`  refused: ${a.result.error}`);
      return false;
    }
    epoch = a.result.epoch;
  } catch {
    // No agreed answer during the faults: whether it was ordered, the membership will say.
  }
  procs.start(id, ['--join']);
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    try {
      const m = (await admin.readMembership()).result;
      const listed = [m.current, m.next].some((e) => e?.config.replicas.some((r) => r.id === id));
      if (!listed) break; // the change was never ordered
      if (m.current.config.replicas.some((r) => r.id === id)) {
        epoch = m.current.config.epoch ?? 0;
        procs.kill(victim);
        o.log(`  epoch ${epoch} began: replica ${id} is a member; replica ${victim} killed and its data deleted`);
        return true;
      }
    } catch {
      // the read timed out under a fault; try again
    }
    await sleep(200);
  }
  o.log(`  the replacement did not take effect${epoch === undefined ? '' : ` (epoch ${epoch} ordered)`}; replica ${id} stopped`);
  procs.kill(id);
  return false;
}

function sec(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}
