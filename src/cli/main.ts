/** The `byzpax` command line: one sub-command per job. */
import { UsageError } from './args.ts';
import { demoCommand } from './demo.ts';
import { keygenCommand, keygenHelp } from './keygen.ts';
import { simCommand, simHelp } from './sim.ts';

const help = `byzpax — Byzantine-fault-tolerant Paxos

Usage: byzpax <command> [options]

Commands:
  demo     a simulated 4-replica cluster running a client workload (what \`npm start\` runs)
  keygen   generate keys and cluster.json for a new cluster (see \`byzpax keygen --help\`)
  sim      run the deterministic simulator over many seeds (see \`byzpax sim --help\`)
  help     this text

${simHelp}
${keygenHelp}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'sim':
      return simCommand(rest);
    case 'demo':
      return demoCommand(rest);
    case 'keygen':
      return keygenCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(help);
      return 0;
    default:
      throw new UsageError(`unknown command '${command}' (try 'byzpax help')`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`byzpax: ${(e as Error).message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`byzpax: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
