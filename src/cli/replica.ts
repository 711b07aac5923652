/**
 * `byzpax replica`: runs one replica process until SIGTERM/SIGINT. Logs are pino JSON lines on
 * stdout. Started by `byzpax up` it also reports its status to the parent over IPC.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ClusterFileError, readClusterFile } from '../cluster/cluster-file.ts';
import { KeyFileError, readKeyFile } from '../cluster/key-file.ts';
import type { LinkFaults } from '../net/link-faults.ts';
import { kvStoreFactory } from '../app/kv-store.ts';
import { InMemoryCollusionHub, isStrategyName, startByzantineNode } from '../faults/registry.ts';
import type { ReplicaControl } from '../server/replica-processes.ts';
import { ReplicaServer } from '../server/replica-server.ts';
import { intOption, UsageError } from './args.ts';

export const replicaHelp = `byzpax replica — run one replica

  --cluster FILE   cluster.json (from byzpax keygen)
  --key FILE       this replica's key file (replica-<id>.key)
  --data DIR       where it keeps its state (created if absent; default data/replica-<id>)
  --tick-ms MS     protocol timer resolution (default 10)
  --no-fsync       writes reach the OS page cache, not the disk, before messages leave: survives
                   kill -9 of the replica, not power loss of the machine (benchmarks)
  --delay-ms MS    inject a one-way delay on every link to the other replicas (default 0)
  --jitter-ms MS   plus a uniformly random extra delay up to this (default 0)
  --loss P         drop each outgoing replica message with probability P (default 0)
  --byzantine S    run the Byzantine strategy S instead of the protocol, with this replica's real
                   key (list: byzpax faults). With --byzantine collude, give several --key (and
                   --data) options: the colluders run in this one process and share what they see
  --log-level L    fatal | error | warn | info | debug (default info)
`;

function linkFaults(values: { 'delay-ms'?: string; 'jitter-ms'?: string; loss?: string }): LinkFaults {
  const loss = values.loss === undefined ? 0 : Number(values.loss);
  if (!(loss >= 0 && loss <= 1)) throw new UsageError(`--loss must be a probability between 0 and 1 (got '${values.loss}')`);
  return { delayMs: intOption(values['delay-ms'], 'delay-ms', 0), jitterMs: intOption(values['jitter-ms'], 'jitter-ms', 0), loss };
}

export async function replicaCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cluster: { type: 'string' },
      key: { type: 'string', multiple: true },
      data: { type: 'string', multiple: true },
      'tick-ms': { type: 'string' },
      'no-fsync': { type: 'boolean' },
      'delay-ms': { type: 'string' },
      'jitter-ms': { type: 'string' },
      loss: { type: 'string' },
      byzantine: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(replicaHelp);
    return 0;
  }
  const keyFiles = values.key ?? [];
  if (!values.cluster || keyFiles.length === 0) throw new UsageError('--cluster and --key are required (see byzpax replica --help)');
  const strategy = values.byzantine;
  if (strategy !== undefined && !isStrategyName(strategy)) throw new UsageError(`--byzantine: unknown strategy '${strategy}' (see byzpax faults)`);
  if (keyFiles.length > 1 && strategy !== 'collude') throw new UsageError('several --key options run colluding replicas in one process: they need --byzantine collude');
  if (values.data && values.data.length !== keyFiles.length) throw new UsageError(`give one --data per --key (${keyFiles.length} keys, ${values.data.length} data dirs)`);
  const servers: ReplicaServer[] = [];
  try {
    const cluster = readClusterFile(values.cluster);
    const keys = keyFiles.map((f) => readKeyFile(f, cluster, 'replica'));
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
        tickMs: intOption(values['tick-ms'], 'tick-ms', 10, 1),
        durability: values['no-fsync'] ? 'os-cache' : 'fsync',
        faults: linkFaults(values),
        app: kvStoreFactory,
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
    if (m?.type === 'link-faults') servers.find((s) => s.id === m.replica)?.transport.setLinkFaults(m.peer, m.faults);
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
