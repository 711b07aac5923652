/**
 * `byzpax replica`: runs one replica process until SIGTERM/SIGINT. Logs are pino JSON lines on
 * stdout. Started by `byzpax up` it also reports its status to the parent over IPC.
 */
import { pino } from 'pino';
import { ClusterFileError, readClusterFile } from '../cluster/cluster-file.ts';
import { KeyFileError, readKeyFile } from '../cluster/key-file.ts';
import type { LinkFaults } from '../net/link-faults.ts';
import { kvStoreFactory } from '../app/kv-store.ts';
import { InMemoryCollusionHub, isStrategyName, startByzantineNode, type StrategyName } from '../faults/registry.ts';
import type { ReplicaControl } from '../server/replica-processes.ts';
import { ReplicaServer } from '../server/replica-server.ts';
import { command, file, flag, int, shared, text, texts, UsageError } from './options.ts';

export const cli = command({
  name: 'replica',
  summary: 'run one replica',
  options: {
    cluster: shared.cluster,
    key: texts("this replica's key file (replica-<id>.key)", { file: true, required: true }),
    data: texts('where it keeps its state (created if absent; default data/replica-<id>)', { arg: 'DIR' }),
    'tick-ms': int('protocol timer resolution', { arg: 'MS', default: 10, min: 1 }),
    'no-fsync': shared.noFsync,
    'delay-ms': shared.delayMs,
    'jitter-ms': shared.jitterMs,
    loss: shared.loss,
    byzantine: text(
      'run the Byzantine strategy S instead of the protocol, with this replica\'s real\nkey (list: byzpax faults). With --byzantine collude, give several --key (and\n--data) options: the colluders run in this one process and share what they see',
      { check: (s) => (isStrategyName(s) ? undefined : `unknown strategy '${s}' (see byzpax faults)`) },
    ),
    'log-level': shared.logLevel,
    'metrics-port': int('serve Prometheus metrics on http://127.0.0.1:P/metrics (off by default;\ncolluders in one process take P, P+1, …)', { arg: 'P', max: 65535 }),
    'metrics-host': text('the address metrics listen on', { arg: 'HOST', default: '127.0.0.1' }),
    join: flag(
      'join after a membership change: the key (from byzpax keygen --member) is in no\ncluster file; the replica learns and verifies the configurations since genesis\nfrom the members, catches up by a verified snapshot and votes once its epoch begins',
    ),
    listen: text('where to listen', { arg: 'URL', defaultText: "the key's url (--join), else the cluster file's" }),
    peers: file('a later configuration (byzpax config fetch) to find the members by, when\nthe genesis members are gone (trusted for addresses only)'),
    'next-key': file('the key this replica will hold after a rotate-key (keygen --member --id ID)'),
  },
});

function linkFaults(values: { 'delay-ms': number; 'jitter-ms': number; loss: number }): LinkFaults {
  return { delayMs: values['delay-ms'], jitterMs: values['jitter-ms'], loss: values.loss };
}

export async function replicaCommand(argv: string[]): Promise<number> {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  const keyFiles = values.key ?? [];
  const strategy = values.byzantine as StrategyName | undefined; // checked by the option
  if (keyFiles.length > 1 && strategy !== 'collude') throw new UsageError('several --key options run colluding replicas in one process: they need --byzantine collude');
  if (values.data && values.data.length !== keyFiles.length) throw new UsageError(`give one --data per --key (${keyFiles.length} keys, ${values.data.length} data dirs)`);
  const servers: ReplicaServer[] = [];
  try {
    const cluster = readClusterFile(values.cluster);
    if ((cluster.config.epoch ?? 0) > 0) throw new UsageError(`${values.cluster} is the configuration of epoch ${cluster.config.epoch}; a replica starts from the genesis cluster file (pass this one as --peers)`);
    const keys = keyFiles.map((f) => readKeyFile(f, cluster, 'replica', values.join));
    const nextSeeds = values['next-key'] ? [readKeyFile(values['next-key'], cluster, 'replica', true)] : [];
    if (nextSeeds.some((k) => k.id !== keys[0]?.id)) throw new UsageError(`--next-key is for replica ${nextSeeds[0]!.id}, not ${keys[0]?.id}`);
    if (keyFiles.length > 1 && (values.join || values['next-key'])) throw new UsageError('--join and --next-key take one --key');
    const peerHints = values.peers ? readClusterFile(values.peers).config : undefined;
    if (peerHints && peerHints.clusterId !== cluster.config.clusterId) throw new UsageError(`${values.peers} is for cluster ${peerHints.clusterId}, not ${cluster.config.clusterId}`);
    const hub = strategy === 'collude' ? new InMemoryCollusionHub(keys.map((k) => k.id)) : undefined;
    for (const [i, key] of keys.entries()) {
      // Every line carries this replica's current view and last executed slot (a line about a
      // particular slot or view names its own, which wins over these).
      let server: ReplicaServer | undefined;
      const logger = pino({
        level: values['log-level'] ?? 'info',
        base: { pid: process.pid },
        mixin: () => (server ? { view: server.view, slot: server.executed } : {}),
      });
      server = await ReplicaServer.start({
        cluster,
        id: key.id,
        seed: key.seed,
        dataDir: values.data?.[i] ?? `data/replica-${key.id}`,
        logger,
        tickMs: values['tick-ms'],
        durability: values['no-fsync'] ? 'os-cache' : 'fsync',
        faults: linkFaults(values),
        ...(values['metrics-port'] !== undefined ? { metricsPort: values['metrics-port'] === 0 ? 0 : values['metrics-port'] + i, metricsHost: values['metrics-host'] } : {}),
        app: kvStoreFactory,
        ...(values.listen ?? key.url ? { listenUrl: (values.listen ?? key.url)! } : {}),
        ...(peerHints ? { peerHints } : {}),
        ...(nextSeeds.length > 0 ? { nextSeeds: nextSeeds.map((k) => k.seed) } : {}),
        // A Byzantine strategy, with this replica's real key; colluders of one attack share `hub`.
        ...(strategy ? { node: { label: strategy, start: (ctx) => startByzantineNode(strategy, { ...ctx, random: { next: Math.random }, hub }) } } : {}),
      });
      servers.push(server);
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.close()));
    if (e instanceof ClusterFileError || e instanceof KeyFileError) throw new UsageError(e.message);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`cannot listen: ${(e as Error).message} (is another replica running?)`);
    throw e;
  }
  const report = process.send ? setInterval(() => { for (const s of servers) process.send?.({ type: 'status', status: s.status() }); }, 250) : undefined;
  const onControl = (m: ReplicaControl) => {
    try {
      if (m?.type === 'link-faults') servers.find((s) => s.id === m.replica)?.transport.setLinkFaults(m.peer, m.faults);
    } catch (e) {
      // A control message from the parent must never take the replica down.
      process.stderr.write(`byzpax replica: ignored a control message: ${(e as Error).message}\n`);
    }
  };
  process.on('message', onControl);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    for (const s of servers) s.onFatal = stop; // it already logged why
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.once('disconnect', stop); // the `up` parent went away
  });
  if (report) clearInterval(report);
  process.off('message', onControl);
  await Promise.all(servers.map((s) => s.close()));
  // The IPC channel to `byzpax up` would keep the process alive after a clean shutdown.
  if (process.connected) process.disconnect();
  return 0;
}
