/**
 * `byzpax status`: the cluster as its replicas agree it is — epoch, members, f, the leader of the
 * view the answer came from, a pending change — read through the log; then each member: whether
 * this machine reaches it, and what its latest signed STATUS says (epoch, view, executed slot,
 * stable checkpoint; one replica's word about itself).
 */
import { leaderOf } from '../core/config.ts';
import { command, flag, int, shared, text } from './options.ts';
import { withCluster } from './with-cluster.ts';

export const cli = command({
  name: 'status',
  summary: "print the cluster's epoch, members, f and leader",
  options: {
    cluster: shared.cluster,
    key: text('a client or admin key file', { arg: 'FILE', required: true }),
    json: flag('print one JSON object'),
    timeout: int('give up after this long', { arg: 'MS', default: 30_000, min: 1 }),
  },
});

export async function statusCommand(argv: string[]): Promise<number> {
  const values = cli.parse(argv)?.values;
  if (!values) return 0; // --help was printed
  return withCluster(values.cluster, values.timeout, async (_, connect) => {
    const client = await connect(values.key);
    const a = await client.readMembership();
    const { config } = a.result.current;
    const leader = leaderOf(a.view, config);
    // Give links to members learned just now a moment to come up, then ask each how it is.
    await client.waitForConnections(config.n, 1000);
    const states = await client.memberStates(1500);
    const reachable = new Set(client.connectedReplicas());
    const members = config.replicas.map((r) => ({ id: r.id, url: r.address ?? '', leader: r.id === leader, reachable: reachable.has(r.id), ...(states.has(r.id) ? { state: states.get(r.id)! } : {}) }));
    const next = a.result.next;
    if (values.json) {
      process.stdout.write(
        JSON.stringify({ clusterId: config.clusterId, epoch: config.epoch ?? 0, view: a.view, slot: a.slot, f: config.f, n: config.n, leader, members, ...(next ? { pending: { epoch: next.config.epoch ?? 0, activatesAfter: next.activatedAt, members: next.config.replicas.map((r) => r.id), f: next.config.f } } : {}) }) + '\n',
      );
      return 0;
    }
    const lines = [
      `cluster ${config.clusterId}: epoch ${config.epoch ?? 0}, n=${config.n}, f=${config.f}, view ${a.view} (leader ${leader}), answered at slot ${a.slot}`,
      ...members.map((m) => {
        const st = m.state ? `epoch ${m.state.epoch}, view ${m.state.view}, executed ${m.state.executed}, stable checkpoint ${m.state.stable}` : m.reachable ? 'no status yet' : '';
        return `  replica ${String(m.id).padEnd(4)} ${m.url.padEnd(28)} ${(m.reachable ? 'reachable' : 'UNREACHABLE').padEnd(11)}${m.leader ? ' leader' : '       '}  ${st}`.trimEnd();
      }),
      ...(next ? [`  pending: epoch ${next.config.epoch ?? 0} after slot ${next.activatedAt}: members ${next.config.replicas.map((r) => r.id).join(', ')}, f=${next.config.f}`] : []),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  });
}
