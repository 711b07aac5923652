/**
 * `byzpax config fetch`: the cluster's current configuration, read through the log (f+1 matching
 * signed replies of an epoch this client verified from its cluster file on), written as a cluster
 * file clients can start from. Replicas keep starting from the genesis file.
 */
import { writeClusterFile } from '../cluster/cluster-file.ts';
import { command, int, shared, text, UsageError } from './options.ts';
import { withCluster } from './with-cluster.ts';

export const cli = command({
  name: 'config',
  summary: 'fetch the current configuration',
  intro: `byzpax config fetch --cluster FILE --key FILE --out FILE
`,
  positionals: true,
  options: {
    cluster: shared.cluster,
    key: text('a client or admin key file', { arg: 'FILE', required: true }),
    out: text('where to write the configuration (a cluster file)', { arg: 'FILE', required: true }),
    timeout: int('give up after this long', { arg: 'MS', default: 30_000, min: 1 }),
  },
});

export async function configCommand(argv: string[]): Promise<number> {
  const parsed = cli.parse(argv);
  if (!parsed) return 0; // --help was printed
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'fetch') throw new UsageError("the only sub-command is 'fetch'");
  return withCluster(values.cluster, values.timeout, async (cluster, connect) => {
    const client = await connect(values.key);
    const m = (await client.readMembership()).result;
    const config = m.current.config;
    writeClusterFile(values.out, { config, urls: config.replicas.map((r) => r.address ?? ''), params: cluster.params });
    const pending = m.next ? `; epoch ${m.next.config.epoch} is scheduled after slot ${m.next.activatedAt}` : '';
    process.stdout.write(`epoch ${config.epoch ?? 0}: members ${config.replicas.map((r) => r.id).join(', ')} (n=${config.n}), f=${config.f}${pending}\n  wrote ${values.out}\n`);
    return 0;
  });
}
