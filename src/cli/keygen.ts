/** `byzpax keygen`: a new cluster's keys and its shared cluster.json; `--member`: one new member's key. */
import { ClusterFileError, readClusterFile } from '../cluster/cluster-file.ts';
import { generateCluster, generateMember, GenerateError } from '../cluster/generate.ts';
import { toHex } from '../crypto/bytes.ts';
import { command, file, flag, int, shared, text, UsageError } from './options.ts';

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
    member: flag(
      "make one new member's key instead (for byzpax member add/replace, or with the\nid of a current member its next key, for rotate-key): writes replica-<id>.key\n(or replica-<id>.next.key) and its public entry replica-<id>.member.json",
    ),
    cluster: file('with --member: the cluster file (genesis or fetched)'),
    id: int("with --member: the new member's id", { defaultText: 'one above the highest in --cluster' }),
    url: text("with --member: where it will listen", { arg: 'URL', defaultText: "the first replica's host, its port + the id difference" }),
  },
});

function memberKeygen(values: { cluster?: string | undefined; id?: number | undefined; url?: string | undefined; dir: string; force: boolean }): number {
  if (!values.cluster) throw new UsageError('--member needs --cluster (the cluster the member will join)');
  try {
    const cluster = readClusterFile(values.cluster);
    const g = generateMember({ cluster, dir: values.dir, force: values.force, ...(values.id !== undefined ? { id: values.id } : {}), ...(values.url ? { url: values.url } : {}) });
    process.stdout.write(
      `member ${g.entry.id} of cluster ${cluster.config.clusterId}: ${g.entry.url}, public key ${toHex(g.entry.publicKey)}\n` +
        `  wrote ${g.keyFile} (secret, mode 0600; stays on the new machine) and ${g.entryFile} (public)\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof GenerateError || e instanceof ClusterFileError) throw new UsageError(e.message);
    throw e;
  }
}

export function keygenCommand(argv: string[]): number {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  if (values.member) return memberKeygen(values);
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
        `\n  wrote ${g.clusterFile}, ${g.replicaKeys.length} replica keys, ${g.clientKeys.length} client keys and ${g.adminKey} (mode 0600)\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof GenerateError) throw new UsageError(e.message);
    throw e;
  }
}
