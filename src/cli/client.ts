/** `byzpax client`: one key-value command against a running cluster, answered by f+1 matching replicas. */
import type { KvCommand, KvResult } from '../app/kv-command.ts';
import { command, file, flag, int, shared, UsageError } from './options.ts';
import { withCluster } from './with-cluster.ts';

export const cli = command({
  name: 'client',
  summary: 'run one command against a cluster',
  intro: `byzpax client --cluster FILE --key FILE <command>
  put KEY VALUE      set KEY; prints the previous value
  get KEY            prints the value (null if absent)
  cas KEY OLD NEW    set KEY to NEW iff it holds OLD (write - for "absent")
  delete KEY         remove KEY; prints the previous value
`,
  positionals: true,
  options: {
    cluster: shared.cluster,
    key: file('a client key file (client-<id>.key)', { required: true }),
    json: flag('print {"result":…,"slot":…,"view":…,"latencyMs":…}'),
    timeout: int('give up after this long', { arg: 'MS', default: 30_000, min: 1 }),
  },
});

function parseCommand(words: string[]): KvCommand {
  const [op, ...args] = words;
  const need = (k: number) => {
    if (args.length !== k) throw new UsageError(`${op} takes ${k} argument${k === 1 ? '' : 's'} (got ${args.length})`);
  };
  switch (op) {
    case 'put':
      need(2);
      return { op: 'put', key: args[0]!, value: args[1]! };
    case 'get':
      need(1);
      return { op: 'get', key: args[0]! };
    case 'delete':
      need(1);
      return { op: 'delete', key: args[0]! };
    case 'cas':
      need(3);
      return { op: 'cas', key: args[0]!, expected: args[1] === '-' ? null : args[1]!, value: args[2]! };
    case undefined:
      throw new UsageError('no command given (put, get, cas or delete)');
    default:
      throw new UsageError(`unknown command '${op}' (put, get, cas or delete)`);
  }
}

/** What a person wants to see: the value itself for get, what changed for the others. */
function format(c: KvCommand, r: KvResult): string {
  const show = (v: string | null) => (v === null ? '(absent)' : v);
  if ('error' in r) return `error: ${r.error}`;
  if ('ok' in r) return r.ok ? `ok (was ${show(r.value)})` : `not swapped: ${c.key} is ${show(r.value)}`;
  return c.op === 'get' ? show(r.value) : `ok (was ${show(r.value)})`;
}

export async function clientCommand(argv: string[]): Promise<number> {
  const parsed = cli.parse(argv);
  if (!parsed) return 0; // --help was printed
  const { values, positionals } = parsed;
  const command = parseCommand(positionals);
  return withCluster(values.cluster, values.timeout, async (_, connect) => {
    const client = await connect(values.key, 'client');
    const a = await client.execute(command);
    if (values.json) process.stdout.write(JSON.stringify({ result: a.result, slot: a.slot, view: a.view, latencyMs: Math.round(a.latencyMs * 100) / 100 }) + '\n');
    else process.stdout.write(`${format(command, a.result)}\n`);
    return 'error' in a.result ? 1 : 0;
  });
}
