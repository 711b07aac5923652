/** `byzpax keygen`: a new cluster's keys and its shared cluster.json. */
import { generateCluster, GenerateError } from '../cluster/generate.ts';
import { command, flag, int, shared, text, UsageError } from './options.ts';

export const cli = command({
  name: 'keygen',
  summary: 'generate keys and cluster.json for a new cluster',
  options: {
    n: shared.n,
    f: { ...shared.f, defaultText: '⌊(n−1)/3⌋; needs n ≥ 3f+1' },
    clients: int('client keys to create', { arg: 'C', default: 2 }),
    dir: text('where to write', { arg: 'D', default: 'keys/local' }),
    host: text('address replicas listen on', { arg: 'H', default: '127.0.0.1' }),
    'base-port': shared.basePort,
    mode: { ...shared.mode, help: '' },
    policy: shared.policy,
    force: flag('overwrite existing key files'),
  },
});

export function keygenCommand(argv: string[]): number {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  const { n, mode, policy } = values;
  try {
    const g = generateCluster({
      dir: values.dir,
      n,
      ...(values.f !== undefined ? { f: values.f } : {}),
      clients: values.clients,
      host: values.host,
      basePort: values['base-port'],
      mode,
      commitPolicy: policy,
      force: values.force,
    });
    const q = g.quorums;
    process.stdout.write(
      `cluster ${g.cluster.config.clusterId}: n=${q.n} f=${q.f}, mode ${mode}\n` +
        `  quorums: commit ${q.q}, fast ${q.fast}, view change ${q.viewChangeSet}, client replies ${q.reply}\n` +
        `  the fast path tolerates ${q.t} slow or silent replica${q.t === 1 ? '' : 's'}` +
        (q.t === 0 ? ` (any slow replica sends slots to the classic path; n=${3 * q.f + 3} would tolerate one)` : '') +
        `\n  wrote ${g.clusterFile}, ${g.replicaKeys.length} replica keys, ${g.clientKeys.length} client keys (mode 0600)\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof GenerateError) throw new UsageError(e.message);
    throw e;
  }
}
