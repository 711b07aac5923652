/**
 * `byzpax up`: a local cluster of real replica processes. Generates keys if there are none,
 * starts one `byzpax replica` child per replica (logs to <data>/replica-<id>.log), waits until
 * they have formed their first view, and shows a status line per replica until Ctrl-C, when it
 * stops them all. With --demo (what `npm start` runs) it then drives a client workload, kills the
 * leader with SIGKILL half-way, restarts it, and prints what was committed and the latency seen.
 */
import { existsSync } from 'node:fs';
import { readClusterFile, type Cluster } from '../cluster/cluster-file.ts';
import { clientKeyIn, clusterFileIn, generateCluster } from '../cluster/generate.ts';
import { readKeyFile } from '../cluster/key-file.ts';
import { Client, type Answer } from '../client/client.ts';
import { isStrategyName, type StrategyName } from '../faults/registry.ts';
import { ReplicaProcesses } from '../server/replica-processes.ts';
import { choice, command, flag, int, logLevels, modes, num, shared, text, UsageError } from './options.ts';

export const cli = command({
  name: 'up',
  summary: 'run a local cluster of replica processes',
  options: {
    n: int('replicas when keys are generated', { arg: 'N', defaultText: '4', min: 1 }),
    mode: choice(modes, 'when keys are generated', { arg: 'M', defaultText: 'fast' }),
    dir: text('keys', { arg: 'D', default: 'keys/local', defaultText: 'keys/local; generated if absent' }),
    data: text('replica state and logs', { arg: 'D', default: 'data' }),
    demo: flag('run a client workload (kill -9 of the leader half-way), print it, and stop'),
    // Checked here, read as text where the demo starts.
    ops: int('operations in the demo', { arg: 'K', default: 40, min: 2 }),
    'base-port': { ...shared.basePort, help: 'replica i listens on 127.0.0.1:P+i, when keys are generated' },
    byzantine: text('id:strategy,… replicas that attack instead of following the protocol, with\ntheir real keys (at most f; strategies: byzpax faults). Colluders share a process', { arg: 'S' }),
    // Passed on to every replica as given (and checked here, so a typo fails once, with one line,
    // instead of in every replica's log).
    'no-fsync': { ...shared.noFsync, help: 'replicas write to the OS page cache, not the disk' },
    'delay-ms': int('a one-way delay on every replica-to-replica link', { arg: 'MS', defaultText: '0', keepText: true }),
    'jitter-ms': int('plus a uniformly random extra delay up to this', { arg: 'MS', defaultText: '0', keepText: true }),
    loss: num('drop each replica-to-replica message with probability P', { arg: 'P', min: 0, max: 1, what: 'a probability', defaultText: '0', keepText: true }),
    'log-level': choice(logLevels, 'the replicas\' log level', { arg: 'L', defaultText: 'info' }),
  },
  notes: '--no-fsync, --delay-ms, --jitter-ms, --loss and --log-level are passed to every replica\n(see byzpax replica --help)',
});

/** One status line per replica: what `byzpax up` shows while the cluster runs. */
function statusLine(procs: ReplicaProcesses, n: number, id: number): string {
  const s = procs.status[id];
  if (!procs.isRunning(id)) return `  R${id}  down`;
  if (!s) return `  R${id}  starting`;
  if (s.byzantine) return `  R${id}  BYZANTINE (${s.byzantine})  claims view ${s.view}, committed ${s.executed}  peers ${s.peers.length}/${n - 1}`;
  const detected = Object.entries(s.detected).map(([culprit, count]) => `R${culprit}×${count}`);
  // After a membership change the epoch's members are whom a replica should reach.
  const others = s.members.includes(id) ? s.members.length - 1 : s.members.length;
  return (
    `  R${id}  epoch ${s.epoch}${s.member ? '' : ' (not a member)'}  view ${s.view} (leader R${s.leader}${s.normal ? '' : ', changing view'})  committed ${s.executed}  fast ${s.fastCommits} / classic ${s.classicCommits}  peers ${s.peers.length}/${s.members.length ? others : n - 1}` +
    `${s.drops ? `  drops ${s.drops}` : ''}${detected.length ? `  detected ${detected.join(' ')}` : ''}`
  );
}

/** `0:equivocate,3:collude` → strategy per replica id, checked against the cluster. */
function parseByzantine(spec: string | undefined, n: number, f: number): Map<number, StrategyName> {
  const out = new Map<number, StrategyName>();
  if (spec === undefined) return out;
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+):([a-z-]+)\s*$/.exec(part);
    if (!m) throw new UsageError(`--byzantine takes id:strategy,… (got '${part}'; strategies: byzpax faults)`);
    const id = Number(m[1]);
    if (id >= n) throw new UsageError(`--byzantine ${id}: there are only replicas 0..${n - 1}`);
    if (!isStrategyName(m[2]!)) throw new UsageError(`--byzantine ${id}: unknown strategy '${m[2]}' (see byzpax faults)`);
    out.set(id, m[2]);
  }
  if (out.size > f) throw new UsageError(`--byzantine names ${out.size} replicas but f=${f}: with more than f faulty replicas no guarantee holds`);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function upCommand(argv: string[]): Promise<number> {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  const { dir, data, mode } = values;
  let cluster: Cluster;
  if (existsSync(clusterFileIn(dir))) {
    cluster = readClusterFile(clusterFileIn(dir));
    const n = values.n;
    if ((n !== undefined && n !== cluster.config.n) || (mode !== undefined && mode !== (cluster.params.mode ?? 'fast'))) {
      throw new UsageError(
        `${dir} holds an n=${cluster.config.n} ${cluster.params.mode ?? 'fast'} cluster; use another --dir (and --data) for n=${n ?? cluster.config.n} ${mode ?? cluster.params.mode ?? 'fast'}, or remove ${dir} and ${data}`,
      );
    }
    process.stdout.write(`using cluster ${cluster.config.clusterId} from ${clusterFileIn(dir)}\n`);
  } else {
    const g = generateCluster({ dir, n: values.n ?? 4, basePort: values['base-port'], ...(mode ? { mode } : {}) });
    cluster = g.cluster;
    process.stdout.write(`generated cluster ${cluster.config.clusterId} in ${dir} (n=${cluster.config.n}, f=${cluster.config.f}, mode ${cluster.params.mode ?? 'fast'})\n`);
  }
  const { n, f } = cluster.config;
  const replicaArgs = [
    ...(values['no-fsync'] ? ['--no-fsync'] : []),
    ...(['delay-ms', 'jitter-ms', 'loss', 'log-level'] as const).flatMap((k) => (values[k] === undefined ? [] : [`--${k}`, values[k]])),
  ];
  const procs = new ReplicaProcesses({
    cluster,
    keyDir: dir,
    dataDir: data,
    args: replicaArgs,
    onUnexpectedExit: (id, how) => process.stdout.write(`  replica ${id} exited (${how}); its log: ${procs.logFile(id)}\n`),
  });
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = performance.now();
  const byzantine = parseByzantine(values.byzantine, n, f);
  const colluders = [...byzantine].filter(([, st]) => st === 'collude').map(([id]) => id);
  for (let id = 0; id < n; id++) {
    const st = byzantine.get(id);
    if (st === undefined) procs.start(id);
    else if (st !== 'collude') procs.start(id, ['--byzantine', st]);
    else if (id === colluders[0]) procs.startGroup(colluders, ['--byzantine', 'collude']);
  }
  if (byzantine.size > 0) process.stdout.write(`Byzantine: ${[...byzantine].map(([id, st]) => `R${id} runs '${st}'`).join(', ')}${colluders.length > 1 ? ` (R${colluders.join(', R')} in one process, sharing what they see)` : ''}\n`);
  process.stdout.write(`starting ${n} replicas (f=${f}, mode ${cluster.params.mode ?? 'fast'}); logs in ${data}/replica-<id>.log\n`);
  try {
    if (!(await procs.formed(30_000))) {
      process.stdout.write(`the replicas did not form a view within 30 s:\n${cluster.urls.map((_, i) => statusLine(procs, n, i)).join('\n')}\n`);
      return 1;
    }
    const view = Math.max(...procs.status.map((x) => x?.view ?? 0));
    const epoch = Math.max(...procs.status.map((x) => x?.epoch ?? 0));
    process.stdout.write(`cluster up in ${Math.round(performance.now() - t0)} ms, epoch ${epoch}, view ${view} led by R${procs.leader() ?? 0}\n`);
    if (values.demo) return await demo(procs, cluster, dir, values.ops, byzantine.size > 0, () => interrupted);

    const tty = process.stdout.isTTY;
    let drawn = 0;
    while (!interrupted) {
      const lines = cluster.urls.map((_, i) => statusLine(procs, n, i));
      if (tty) {
        if (drawn) process.stdout.write(`\x1b[${drawn}A`);
        process.stdout.write(lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
        drawn = lines.length;
      } else {
        process.stdout.write(lines.join('\n') + '\n');
      }
      for (let t = 0; t < (tty ? 5 : 50) && !interrupted; t++) await sleep(100);
    }
    process.stdout.write('stopping…\n');
    return 0;
  } finally {
    await procs.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function demo(procs: ReplicaProcesses, cluster: Cluster, dir: string, ops: number, withByzantine: boolean, interrupted: () => boolean): Promise<number> {
  const key = readKeyFile(clientKeyIn(dir, 0), cluster, 'client');
  const client = await Client.connect({ cluster, key, retryMs: 300 });
  const latencies: number[] = [];
  const expected = new Map<string, string | null>();
  // Keys of this run only: the cluster may hold an earlier run's data (its state survives restarts).
  const run = `run${Date.now().toString(36)}`;
  const killAt = Math.floor(ops / 3);
  const restartAt = Math.floor((2 * ops) / 3);
  let killed: number | undefined;
  const show = (label: string, a: Answer) => {
    latencies.push(a.latencyMs);
    process.stdout.write(`  ${label.padEnd(28)} slot ${String(a.slot).padStart(4)}  view ${a.view}  ${a.latencyMs.toFixed(1).padStart(7)} ms\n`);
  };
  try {
    for (let i = 0; i < ops && !interrupted(); i++) {
      // With Byzantine replicas running, f is spent: no crash on top.
      if (i === killAt && !withByzantine) {
        killed = procs.leader() ?? 0;
        procs.kill(killed);
        process.stdout.write(`  ! kill -9 replica ${killed} (the leader); the others must change view and carry on\n`);
      }
      if (i === restartAt && killed !== undefined) {
        procs.start(killed);
        process.stdout.write(`  ^ restart replica ${killed} from its data directory; it catches up from its peers\n`);
      }
      const k = `${run}-key${i % 5}`;
      if (i % 3 === 2) {
        const a = await client.execute({ op: 'get', key: k });
        const got = 'value' in a.result ? a.result.value : undefined;
        if (got !== (expected.get(k) ?? null)) throw new Error(`read ${k} = ${got}, expected ${expected.get(k) ?? null}`);
        show(`get ${k} → ${got ?? '(absent)'}`, a);
      } else {
        const v = `v${i}`;
        show(`put ${k} = ${v}`, await client.execute({ op: 'put', key: k, value: v }));
        expected.set(k, v);
      }
    }
    // Every acknowledged write reads back.
    for (const [k, v] of expected) {
      const got = await client.get(k);
      if (got !== v) throw new Error(`read-back ${k} = ${got}, expected ${v}`);
    }
    // The restarted replica catches up: every replica reaches the same slot with the same state.
    const caughtUp = await procs.waitFor(() => {
      const s = procs.running().map((i) => procs.status[i]).filter((x) => !x?.byzantine);
      return s.length > 0 && s.every((x) => x?.normal && x.executed === s[0]!.executed && x.stateDigest !== '' && x.stateDigest === s[0]!.stateDigest);
    }, 20_000);
    const honest = procs.status.find((x) => x && !x.byzantine);
    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(1);
    process.stdout.write(
      `\n${latencies.length} operations answered by f+1 = ${cluster.config.f + 1} matching replicas; every acknowledged write read back.\n` +
        `latency: p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${pct(100)} ms (the slow ones waited out the view change)\n` +
        `${cluster.urls.map((_, i) => statusLine(procs, cluster.config.n, i)).join('\n')}\n` +
        (caughtUp
          ? `every ${withByzantine ? 'correct ' : ''}replica executed the same ${honest?.executed ?? 0} slots and holds the same state (digest ${honest?.stateDigest.slice(0, 16)}…)\n`
          : 'note: not every replica had caught up when the demo ended\n'),
    );
    return 0;
  } finally {
    await client.close();
  }
}
