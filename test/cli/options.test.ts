/**
 * src/cli/options.ts: the one parser and checker of every command's options. The commands'
 * declarations are tested through their own `cli` objects; one real process checks the line and
 * exit code a user sees.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { choice, command, file, flag, int, intList, num, shared, text, textList, usageLine, UsageError } from '../../src/cli/options.ts';
import { cli as clientCli } from '../../src/cli/client.ts';
import { cli as demoCli } from '../../src/cli/demo.ts';
import { cli as faultsCli } from '../../src/cli/faults.ts';
import { cli as keygenCli, keygenCommand } from '../../src/cli/keygen.ts';
import { cli as nemesisCli } from '../../src/cli/nemesis.ts';
import { cli as replicaCli } from '../../src/cli/replica.ts';
import { cli as simCli, simCommand } from '../../src/cli/sim.ts';
import { cli as twinsCli, twinsCommand } from '../../src/cli/twins.ts';
import { cli as upCli } from '../../src/cli/up.ts';

const BIN = fileURLToPath(new URL('../../bin/byzpax', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'byzpax-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The UsageError message `f` throws (fails the test if it throws nothing or something else). */
function problem(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

const commands = { keygen: keygenCli, client: clientCli, replica: replicaCli, up: upCli, sim: simCli, twins: twinsCli, faults: faultsCli, nemesis: nemesisCli, demo: demoCli };

describe('the shared options of the real commands', () => {
  it('a bad --mode or --policy gets the same line from every command that takes it', () => {
    for (const [name, c] of Object.entries(commands)) {
      if (!('mode' in c.spec.options)) continue;
      const e = new UsageError(problem(() => c.parse(['--mode', 'turbo'])));
      expect(usageLine(name, e)).toBe(`byzpax ${name}: --mode must be fast or classic (got 'turbo')`);
    }
    expect(problem(() => simCommand(['--policy', 'eager']))).toBe("--policy must be deferred or concurrent (got 'eager')");
    expect(problem(() => twinsCommand(['--policy', 'eager']))).toBe("--policy must be deferred or concurrent (got 'eager')");
  });

  it('integer options refuse words, fractions and values out of range', () => {
    expect(problem(() => keygenCommand(['--n', 'abc']))).toBe("--n must be an integer ≥ 1 (got 'abc')");
    expect(problem(() => keygenCommand(['--n', '0']))).toBe("--n must be an integer ≥ 1 (got '0')");
    expect(problem(() => keygenCommand(['--n', '2.5']))).toBe("--n must be an integer ≥ 1 (got '2.5')");
    expect(problem(() => keygenCommand(['--base-port', '70000']))).toBe("--base-port must be an integer from 1 to 65535 (got '70000')");
    expect(problem(() => simCommand(['--seeds=-3']))).toBe("--seeds must be an integer ≥ 1 (got '-3')");
    expect(problem(() => simCommand(['--seeds', '-3']))).toBe("--seeds -3: a value starting with '-' goes as --seeds=-3 (see byzpax sim --help)");
    expect(problem(() => nemesisCli.parse(['--n', '3']))).toBe("--n must be an integer ≥ 4 (got '3')");
    expect(problem(() => simCommand(['--silent', '1,x']))).toBe("--silent must be an integer ≥ 0 (got 'x')");
  });

  it('unknown options, missing values, values given to flags and stray words are refused', () => {
    expect(problem(() => simCommand(['--bogus']))).toBe("unknown option '--bogus' (see byzpax sim --help)");
    expect(problem(() => simCommand(['-x']))).toBe("unknown option '-x' (see byzpax sim --help)");
    expect(problem(() => simCommand(['--n']))).toBe('--n needs a value (see byzpax sim --help)');
    expect(problem(() => simCommand(['--n', '--calm']))).toBe('--n needs a value (see byzpax sim --help)');
    expect(problem(() => simCommand(['--json=yes']))).toBe('--json takes no value (see byzpax sim --help)');
    expect(problem(() => simCommand(['seven']))).toBe("unexpected argument 'seven' (see byzpax sim --help)");
  });

  it('--cluster and --key must be given and name files that exist', () => {
    expect(problem(() => clientCli.parse(['get', 'k']))).toBe('--cluster and --key are required (see byzpax client --help)');
    expect(problem(() => replicaCli.parse(['--cluster', join(dir, 'nope.json')]))).toBe('--key is required (see byzpax replica --help)');
    expect(problem(() => clientCli.parse(['--cluster', join(dir, 'nope.json'), '--key', BIN, 'get', 'k']))).toBe(`--cluster: no such file '${join(dir, 'nope.json')}'`);
    expect(problem(() => clientCli.parse(['--cluster', BIN, '--key', dir, 'get', 'k']))).toBe(`--key: '${dir}' is not a file`);
    const parsed = clientCli.parse(['--cluster', BIN, '--key', BIN, '--timeout', '50', 'get', 'k']);
    expect(parsed).toEqual({ values: { cluster: BIN, key: BIN, json: false, timeout: 50 }, positionals: ['get', 'k'] });
  });

  it('--help lists every declared option (and --help itself) for every command, and prints that text', () => {
    for (const [name, c] of Object.entries(commands)) {
      const help = c.help();
      expect(help.startsWith(`byzpax ${name} — `)).toBe(true);
      for (const [option, o] of Object.entries(c.spec.options)) {
        expect(help, `${name} --${option}`).toMatch(new RegExp(`^  --${option}${o.type === 'string' ? ' \\S+' : ''} +\\S`, 'm'));
      }
      expect(help).toMatch(/^ {2}-h, --help +print this help$/m);
      let out = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out += String(chunk);
        return true;
      });
      try {
        expect(c.parse(['--help'])).toBeUndefined();
        expect(c.parse(['-h'])).toBeUndefined();
      } finally {
        spy.mockRestore();
      }
      expect(out).toBe(help + help);
    }
    expect(simCli.help()).toMatch(/^ {2}--mode M +commit path: fast \| classic \(default fast\)$/m);
    expect(keygenCli.help()).toMatch(/^ {2}--policy P +fast-path COMMIT policy: deferred \| concurrent \(default deferred\)$/m);
  });
});

describe('option kinds', () => {
  const file0 = join(dir, 'a.txt');
  writeFileSync(file0, 'x');
  const cli = command({
    name: 'test',
    summary: 'every kind of option',
    options: {
      count: int('a count', { default: 3, min: 1, max: 9 }),
      maybe: int('no default'),
      raw: int('kept as text', { keepText: true }),
      ratio: num('a ratio', { default: 0.5, min: 0, max: 1 }),
      name: text('a name', { check: (v) => (v.length > 3 ? 'too long' : undefined) }),
      colour: choice(['red', 'green', 'blue'], 'a colour', { default: 'red' }),
      ids: intList('ids'),
      words: textList('words', { check: (w) => (w === 'bad' ? `must not be '${w}'` : undefined) }),
      input: file('an input file'),
      loud: flag('louder'),
      mode: shared.mode,
    },
  });

  it('gives defaults, converted values, and the checked text where asked', () => {
    expect(cli.parse([])!.values).toEqual({ count: 3, maybe: undefined, raw: undefined, ratio: 0.5, name: undefined, colour: 'red', ids: undefined, words: undefined, input: undefined, loud: false, mode: 'fast' });
    expect(cli.parse(['--count', '9', '--maybe', '0', '--raw', '+7', '--ratio', '1', '--name', 'ab', '--colour=blue', '--ids', '1, 2', '--words', 'a,b', '--input', file0, '--loud', '--mode', 'classic'])!.values).toEqual({
      count: 9,
      maybe: 0,
      raw: '+7',
      ratio: 1,
      name: 'ab',
      colour: 'blue',
      ids: [1, 2],
      words: ['a', 'b'],
      input: file0,
      loud: true,
      mode: 'classic',
    });
  });

  it('refuses each bad value with one line naming the option', () => {
    expect(problem(() => cli.parse(['--count', '10']))).toBe("--count must be an integer from 1 to 9 (got '10')");
    expect(problem(() => cli.parse(['--count', '']))).toBe("--count must be an integer from 1 to 9 (got '')");
    expect(problem(() => cli.parse(['--raw', '1e3']))).toBe("--raw must be an integer ≥ 0 (got '1e3')");
    expect(problem(() => cli.parse(['--ratio', '1.5']))).toBe("--ratio must be a number between 0 and 1 (got '1.5')");
    expect(problem(() => cli.parse(['--ratio', 'half']))).toBe("--ratio must be a number between 0 and 1 (got 'half')");
    expect(problem(() => cli.parse(['--name', 'abcd']))).toBe('--name: too long');
    expect(problem(() => cli.parse(['--colour', 'pink']))).toBe("--colour must be one of red, green, blue (got 'pink')");
    expect(problem(() => cli.parse(['--words', 'a,bad']))).toBe("--words must not be 'bad'");
    expect(problem(() => cli.parse(['--input', join(dir, 'missing')]))).toBe(`--input: no such file '${join(dir, 'missing')}'`);
  });

  it('writes the help from the declarations', () => {
    expect(cli.help()).toBe(
      [
        'byzpax test — every kind of option',
        '',
        '  --count N        a count (default 3)',
        '  --maybe N        no default',
        '  --raw N          kept as text',
        '  --ratio X        a ratio (default 0.5)',
        '  --name S         a name',
        '  --colour S       a colour: red | green | blue (default red)',
        '  --ids R,…        ids',
        '  --words S,…      words',
        '  --input FILE     an input file',
        '  --loud           louder',
        '  --mode M         commit path: fast | classic (default fast)',
        '  -h, --help       print this help',
        '',
      ].join('\n'),
    );
  });
});

describe('the line a user sees', () => {
  it('byzpax sim --mode turbo: exactly one line on stderr, exit code 2', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'sim', '--mode', 'turbo'], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    expect(r).toEqual({ code: 2, stdout: '', stderr: "byzpax sim: --mode must be fast or classic (got 'turbo')\n" });
  });
});
