/**
 * `byzpax replica`: runs one replica process until SIGTERM/SIGINT. Logs are pino JSON lines on
 * stdout. Started by `byzpax up` it also reports its status to the parent over IPC.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ClusterFileError, readClusterFile } from '../cluster/cluster-file.ts';
import { KeyFileError, readKeyFile } from '../cluster/key-file.ts';
import type { LinkFaults } from '../net/link-faults.ts';
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
      key: { type: 'string' },
      data: { type: 'string' },
      'tick-ms': { type: 'string' },
      'no-fsync': { type: 'boolean' },
      'delay-ms': { type: 'string' },
      'jitter-ms': { type: 'string' },
      loss: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(replicaHelp);
    return 0;
  }
  if (!values.cluster || !values.key) throw new UsageError('--cluster and --key are required (see byzpax replica --help)');
  let server: ReplicaServer | undefined;
  try {
    const cluster = readClusterFile(values.cluster);
    const key = readKeyFile(values.key, cluster, 'replica');
    // Every line carries the replica's current view and last executed slot (a line about a
    // particular slot or view names its own, which wins over these).
    const logger = pino({
      level: values['log-level'] ?? 'info',
      base: { pid: process.pid },
      mixin: () => (server ? { view: server.replica.view, slot: server.replica.executed } : {}),
    });
    server = await ReplicaServer.start({
      cluster,
      id: key.id,
      seed: key.seed,
      dataDir: values.data ?? `data/replica-${key.id}`,
      logger,
      tickMs: intOption(values['tick-ms'], 'tick-ms', 10, 1),
      durability: values['no-fsync'] ? 'os-cache' : 'fsync',
      faults: linkFaults(values),
    });
  } catch (e) {
    if (e instanceof ClusterFileError || e instanceof KeyFileError) throw new UsageError(e.message);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`cannot listen: ${(e as Error).message} (is another replica running?)`);
    throw e;
  }
  const report = process.send ? setInterval(() => process.send?.({ type: 'status', status: server.status() }), 250) : undefined;
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    server.onFatal = stop; // it already logged why
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.once('disconnect', stop); // the `up` parent went away
  });
  if (report) clearInterval(report);
  await server.close();
  // The IPC channel to `byzpax up` would keep the process alive after a clean shutdown.
  if (process.connected) process.disconnect();
  return 0;
}
