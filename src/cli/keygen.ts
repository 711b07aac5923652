/** `byzpax keygen`: a new cluster's keys and its shared cluster.json. */
import { parseArgs } from 'node:util';
import { generateCluster, GenerateError } from '../cluster/generate.ts';
import { intOption, UsageError } from './args.ts';

export const keygenHelp = `byzpax keygen — generate keys and cluster.json for a new cluster

  --n N            replicas (default 4)
  --f F            Byzantine faults tolerated (default ⌊(n−1)/3⌋; needs n ≥ 3f+1)
  --clients C      client keys to create (default 2)
  --dir D          where to write (default keys/local)
  --host H         address replicas listen on (default 127.0.0.1)
  --base-port P    replica i listens on P+i (default 7400)
  --mode M         fast | classic (default fast)
  --policy P       fast-path COMMIT policy: deferred | concurrent (default deferred)
  --force          overwrite existing key files
`;

export function keygenCommand(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      f: { type: 'string' },
      clients: { type: 'string' },
      dir: { type: 'string' },
      host: { type: 'string' },
      'base-port': { type: 'string' },
      mode: { type: 'string' },
      policy: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(keygenHelp);
    return 0;
  }
  const mode = values.mode ?? 'fast';
  if (mode !== 'fast' && mode !== 'classic') throw new UsageError(`--mode must be fast or classic (got '${mode}')`);
  const policy = values.policy ?? 'deferred';
  if (policy !== 'deferred' && policy !== 'concurrent') throw new UsageError(`--policy must be deferred or concurrent (got '${policy}')`);
  const n = intOption(values.n, 'n', 4, 1);
  try {
    const g = generateCluster({
      dir: values.dir ?? 'keys/local',
      n,
      ...(values.f !== undefined ? { f: intOption(values.f, 'f', 0) } : {}),
      clients: intOption(values.clients, 'clients', 2, 0),
      host: values.host ?? '127.0.0.1',
      basePort: intOption(values['base-port'], 'base-port', 7400, 1),
      mode,
      commitPolicy: policy,
      force: Boolean(values.force),
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
