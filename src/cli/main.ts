/** The `byzpax` command line: one sub-command per job. */
import { usageLine, UsageError } from './options.ts';

/**
 * Each command's module is loaded only when it runs: `byzpax sim` should not pay for loading
 * lmdb and ws, and `byzpax up` not for the simulator.
 */
const commands: Record<string, { about: string; load: () => Promise<{ run: (argv: string[]) => number | Promise<number>; help?: string }> }> = {
  up: { about: 'run a local cluster of replica processes (--demo: plus a client workload; what `npm start` runs)', load: async () => { const m = await import('./up.ts'); return { run: m.upCommand, help: m.cli.help() }; } },
  replica: { about: 'run one replica process', load: async () => { const m = await import('./replica.ts'); return { run: m.replicaCommand, help: m.cli.help() }; } },
  client: { about: 'put / get / cas / delete against a running cluster', load: async () => { const m = await import('./client.ts'); return { run: m.clientCommand, help: m.cli.help() }; } },
  member: { about: 'change the membership: add, remove, replace, rotate-key, set-f (admin key)', load: async () => { const m = await import('./member.ts'); return { run: m.memberCommand, help: m.cli.help() }; } },
  config: { about: 'config fetch: write the current configuration as a cluster file', load: async () => { const m = await import('./config.ts'); return { run: m.configCommand, help: m.cli.help() }; } },
  status: { about: "the cluster's epoch, members, f and leader, read through the log", load: async () => { const m = await import('./status.ts'); return { run: m.statusCommand, help: m.cli.help() }; } },
  keygen: { about: 'generate keys and cluster.json for a new cluster', load: async () => { const m = await import('./keygen.ts'); return { run: m.keygenCommand, help: m.cli.help() }; } },
  sim: { about: 'run the deterministic simulator over many seeds', load: async () => { const m = await import('./sim.ts'); return { run: m.simCommand, help: m.cli.help() }; } },
  twins: { about: 'Twins: enumerated scenarios with one replica twinned (same key) and partitions per round', load: async () => { const m = await import('./twins.ts'); return { run: m.twinsCommand, help: m.cli.help() }; } },
  nemesis: { about: 'a live cluster under kills, partitions and a Byzantine replica, then a verdict (npm run nemesis)', load: async () => { const m = await import('./nemesis.ts'); return { run: m.nemesisCommand, help: m.cli.help() }; } },
  faults: { about: 'the Byzantine strategies a replica can run with its real key; --sweep tests each one', load: async () => { const m = await import('./faults.ts'); return { run: m.faultsCommand, help: m.cli.help() }; } },
  demo: { about: 'the simulator on one scripted schedule: a leader crash and recovery, narrated', load: async () => { const m = await import('./demo.ts'); return { run: m.demoCommand, help: m.cli.help() }; } },
};

async function help(): Promise<string> {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const list = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`).join('\n');
  const details = (await Promise.all(Object.values(commands).map(async (c) => (await c.load()).help))).filter(Boolean).join('\n');
  return `byzpax — Byzantine-fault-tolerant Paxos\n\nUsage: byzpax <command> [options]   (byzpax <command> --help for one command)\n\nCommands:\n${list}\n\n${details}`;
}

/** The command being run, for the `byzpax <command>: <problem>` line of a usage error. */
let current: string | undefined;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(await help());
    return 0;
  }
  const c = commands[command];
  if (!c) throw new UsageError(`unknown command '${command}' (try 'byzpax help')`);
  current = command;
  return (await c.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${usageLine(current, e)}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`byzpax: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
