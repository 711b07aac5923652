/**
 * `byzpax member add|remove|replace|rotate-key|set-f`: one membership change, signed with the
 * admin key, ordered through the log like any command. Prints the epoch the change starts, the slot
 * after which it does, and the members and f it will have; `--wait` returns once it has begun.
 */
import { readMemberEntry, type MemberEntry } from '../cluster/generate.ts';
import { ClientError } from '../client/client.ts';
import type { ClusterConfig } from '../core/config.ts';
import type { MembershipChange } from '../core/membership.ts';
import { command, file, flag, int, shared, UsageError } from './options.ts';
import { withCluster } from './with-cluster.ts';

export const cli = command({
  name: 'member',
  summary: 'change the membership (signed with the admin key)',
  intro: `byzpax member --cluster FILE --admin-key FILE <change>
  add --member ENTRY          add the member of ENTRY (from byzpax keygen --member)
  remove ID                   remove replica ID
  replace ID --member ENTRY   remove replica ID and add ENTRY's member in one step
  rotate-key ID --member ENTRY  give replica ID the key of ENTRY (made with --id ID)
  set-f F                     tolerate F Byzantine replicas (needs n ≥ 3F+1)
`,
  positionals: true,
  options: {
    cluster: shared.cluster,
    'admin-key': file('the admin key file (admin.key from byzpax keygen)', { required: true }),
    member: file("a member's public entry (replica-<id>.member.json from byzpax keygen --member)"),
    wait: flag('return only once the new epoch has begun'),
    json: flag('print {"epoch":…,"activatesAfter":…,"members":[…],"f":…}'),
    timeout: int('give up after this long', { arg: 'MS', default: 60_000, min: 1 }),
  },
});

function parseChange(words: string[], entry: () => MemberEntry): MembershipChange {
  const [op, ...args] = words;
  const need = (k: number) => {
    if (args.length !== k) throw new UsageError(`${op} takes ${k} argument${k === 1 ? '' : 's'} (got ${args.length})`);
  };
  const id = (s: string) => {
    if (!/^\d+$/.test(s)) throw new UsageError(`'${s}' is not a replica id`);
    return Number(s);
  };
  const member = () => {
    const e = entry();
    return { id: e.id, publicKey: e.publicKey, address: e.url };
  };
  switch (op) {
    case 'add':
      need(0);
      return { kind: 'add', member: member() };
    case 'remove':
      need(1);
      return { kind: 'remove', id: id(args[0]!) };
    case 'replace':
      need(1);
      return { kind: 'replace', id: id(args[0]!), member: member() };
    case 'rotate-key': {
      need(1);
      const e = entry();
      if (e.id !== id(args[0]!)) throw new UsageError(`the entry is for replica ${e.id}, not ${args[0]} (make it with keygen --member --id ${args[0]})`);
      return { kind: 'rotate-key', id: e.id, publicKey: e.publicKey };
    }
    case 'set-f':
      need(1);
      return { kind: 'set-f', f: id(args[0]!) };
    case undefined:
      throw new UsageError('no change given (add, remove, replace, rotate-key or set-f)');
    default:
      throw new UsageError(`unknown change '${op}' (add, remove, replace, rotate-key or set-f)`);
  }
}

const describe = (c: ClusterConfig) => `members ${c.replicas.map((r) => r.id).join(', ')} (n=${c.n}), f=${c.f}`;

export async function memberCommand(argv: string[]): Promise<number> {
  const parsed = cli.parse(argv);
  if (!parsed) return 0; // --help was printed
  const { values, positionals } = parsed;
  const timeout = values.timeout;
  return withCluster(values.cluster, timeout, async (cluster, connect) => {
    const change = parseChange(positionals, () => {
      if (!values.member) throw new UsageError(`${positionals[0]} needs --member ENTRY (from byzpax keygen --member)`);
      const e = readMemberEntry(values.member);
      if (e.clusterId !== cluster.config.clusterId) throw new UsageError(`${values.member} is for cluster ${e.clusterId}, not ${cluster.config.clusterId}`);
      return e;
    });
    const client = await connect(values['admin-key'], 'admin');
    const a = await client.changeMembership(change);
    if (!a.result.ok) {
      process.stdout.write(values.json ? JSON.stringify({ error: a.result.error }) + '\n' : `refused: ${a.result.error} (nothing changed)\n`);
      return 1;
    }
    const { epoch, activatesAfter } = a.result;
    // What the change makes: the pending configuration, read through the log.
    const m = (await client.readMembership()).result;
    const next = [m.next, m.current].find((e) => e && (e.config.epoch ?? 0) === epoch)?.config;
    if (values.wait) {
      const deadline = Date.now() + timeout;
      while ((await client.readMembership()).result.current.config.epoch !== epoch) {
        if (Date.now() > deadline) throw new ClientError(`epoch ${epoch} had not begun after ${timeout} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    if (values.json) {
      process.stdout.write(JSON.stringify({ epoch, activatesAfter, ...(next ? { members: next.replicas.map((r) => ({ id: r.id, url: r.address })), f: next.f } : {}) }) + '\n');
    } else {
      process.stdout.write(`epoch ${epoch} ${values.wait ? 'began' : 'begins'} after slot ${activatesAfter}${next ? `: ${describe(next)}` : ''}\n`);
    }
    return 0;
  });
}
