/**
 * The options of every `byzpax` command, declared once each: name, type, default, help text and
 * check. `Command.parse` runs node:util parseArgs (strict), checks every value and turns each
 * mistake into one UsageError line, which main.ts prints as `byzpax <command>: <problem>` with
 * exit code 2; `Command.help` writes the --help text from the same declarations.
 *
 * Options several commands share (--mode, --policy, --n, the replica link faults, …) are declared
 * once below and reused, with a command's own help text where it says something different.
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** A mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** One declared option; T is what the command gets after parsing and checking. */
export interface Option<T> {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's placeholder in --help (`--n N`). */
  readonly arg?: string;
  readonly help: string;
  /** Shown as `(default …)` after the help text. */
  readonly defaultText?: string;
  readonly required?: boolean;
  /** The words a choice accepts, listed in --help after the help text. */
  readonly choices?: readonly string[];
  /** Raw parseArgs value (undefined when absent) → checked value; throws UsageError. */
  read(raw: string | boolean | string[] | undefined, flag: string): T;
}

type Raw = string | boolean | string[] | undefined;
const asString = (raw: Raw) => (typeof raw === 'string' ? raw : undefined);

function oneOf(choices: readonly string[]): string {
  return choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(', ')}`;
}

/** Checks an integer given as text: digits only (with an optional sign), within [min, max]. */
export function checkInt(text: string, flag: string, min = 0, max?: number): number {
  const n = Number(text);
  if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    throw new UsageError(`${flag} must be an integer ${max === undefined ? `≥ ${min}` : `from ${min} to ${max}`} (got '${text}')`);
  }
  return n;
}

/** An integer option's text, or `fallback` when absent (for values read after parsing). */
export function intOption(value: string | undefined, name: string, fallback: number, min = 0, max?: number): number {
  return value === undefined ? fallback : checkInt(value, `--${name}`, min, max);
}

interface Common {
  help: string;
  arg?: string;
  defaultText?: string;
  short?: string;
}

/** --name: present or not. */
export function flag(help: string, o: { short?: string; defaultText?: string } = {}): Option<boolean> {
  return { type: 'boolean', help, ...o, read: (raw) => raw === true };
}

/** A value's problem, or undefined: `must be …` reads as `--name must be …`, anything else as `--name: …`. */
type Check = (value: string) => string | undefined;

function checked(check: Check | undefined, value: string, flag: string): void {
  const problem = check?.(value);
  if (problem) throw new UsageError(problem.startsWith('must ') ? `${flag} ${problem}` : `${flag}: ${problem}`);
}

interface Valued<D> extends Omit<Common, 'help'> {
  default?: D;
  required?: boolean;
  /** Give the command the checked text, not the converted value (or undefined when absent). */
  keepText?: boolean;
}

/**
 * An option that takes one value: `convert` checks the text and turns it into the value; when
 * the option is absent the command gets the default (or undefined). Every builder below is one.
 */
function valued<T>(help: string, arg: string, o: Valued<unknown>, convert: (text: string, flag: string) => T): Option<never> {
  const { default: dflt, keepText, ...rest } = o;
  return {
    type: 'string',
    help,
    arg,
    ...(dflt !== undefined ? { defaultText: String(dflt) } : {}),
    ...rest,
    read: (raw, flag) => {
      const v = asString(raw);
      if (v === undefined) return (keepText ? undefined : dflt) as never;
      const x = convert(v, flag);
      return (keepText ? v : x) as never;
    },
  };
}

/** Free text, with an optional check. */
export function text<D extends string | undefined = undefined, R extends boolean = false>(
  help: string,
  o: Valued<D> & { required?: R; check?: Check } = {},
): Option<D extends string ? string : R extends true ? string : string | undefined> {
  const { check, ...rest } = o;
  return valued(help, 'S', rest, (v, flag) => (checked(check, v, flag), v));
}

function checkFile(path: string, flag: string): string {
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new UsageError(`${flag}: no such file '${path}'`);
  }
  if (!isFile) throw new UsageError(`${flag}: '${path}' is not a file`);
  return path;
}

/** A path to a file that must exist. */
export function file<R extends boolean = false>(help: string, o: Valued<undefined> & { required?: R } = {}): Option<R extends true ? string : string | undefined> {
  return valued(help, 'FILE', o, checkFile);
}

/** Text given once or more (`--data A --data B`); with `file`, files that must exist. */
export function texts(help: string, o: Omit<Common, 'help'> & { required?: boolean; file?: boolean } = {}): Option<string[] | undefined> {
  const { file: isFile, ...rest } = o;
  return {
    type: 'string',
    multiple: true,
    help,
    arg: isFile ? 'FILE' : 'S',
    ...rest,
    read: (raw, flag) => (Array.isArray(raw) && raw.length > 0 ? raw.map((v) => (isFile ? checkFile(v, flag) : v)) : undefined),
  };
}

/** An integer in [min, max] (min 0 unless given). */
export function int<D extends number | undefined = undefined, K extends boolean = false>(
  help: string,
  o: Valued<D> & { min?: number; max?: number; keepText?: K } = {},
): Option<K extends true ? string | undefined : D extends number ? number : number | undefined> {
  const { min = 0, max, ...rest } = o;
  return valued(help, 'N', rest, (v, flag) => checkInt(v, flag, min, max));
}

/** A number in [min, max] (`--loss 0.05`); `what` names it in the error. */
export function num<D extends number | undefined = undefined, K extends boolean = false>(
  help: string,
  o: Valued<D> & { min: number; max: number; what?: string; keepText?: K },
): Option<K extends true ? string | undefined : D extends number ? number : number | undefined> {
  const { min, max, what = 'a number', ...rest } = o;
  return valued(help, 'X', rest, (v, flag) => {
    const x = v.trim() === '' ? NaN : Number(v);
    if (!(x >= min && x <= max)) throw new UsageError(`${flag} must be ${what} between ${min} and ${max} (got '${v}')`);
    return x;
  });
}

/** Comma-separated integers, each ≥ min (`--silent 1,3`). */
export function intList(help: string, o: Valued<undefined> & { min?: number } = {}): Option<number[] | undefined> {
  const { min = 0, ...rest } = o;
  return valued(help, 'R,…', rest, (v, flag) => v.split(',').map((x) => checkInt(x.trim(), flag, min)));
}

/** Comma-separated words, each checked (`--strategies a,b`). */
export function textList(help: string, o: Valued<undefined> & { check?: Check } = {}): Option<string[] | undefined> {
  const { check, ...rest } = o;
  return valued(help, 'S,…', rest, (v, flag) => v.split(',').map((x) => (checked(check, x.trim(), flag), x.trim())));
}

/** One of a fixed set of words (listed in --help). */
export function choice<const C extends readonly string[], D extends C[number] | undefined = undefined>(
  choices: C,
  help: string,
  o: Valued<D> = {},
): Option<D extends string ? C[number] : C[number] | undefined> {
  return {
    ...valued(help, 'S', o, (v, flag) => {
      if (!choices.includes(v)) throw new UsageError(`${flag} must be ${oneOf(choices)} (got '${v}')`);
      return v;
    }),
    choices,
  };
}

// ------------------------------------------------------------------------------------------
// Options several commands share.

export const modes = ['fast', 'classic'] as const;
export const policies = ['deferred', 'concurrent'] as const;
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const shared = {
  n: int('replicas', { arg: 'N', default: 4, min: 1 }),
  f: int('Byzantine faults tolerated', { arg: 'F', defaultText: '⌊(n−1)/3⌋' }),
  mode: choice(modes, 'commit path', { arg: 'M', default: 'fast' }),
  policy: choice(policies, 'fast-path COMMIT policy', { arg: 'P', default: 'deferred' }),
  clients: int('closed-loop clients', { arg: 'C', default: 3, min: 1 }),
  ops: int('operations per client', { arg: 'K', default: 8, min: 1 }),
  json: flag('print one JSON summary object as the last line'),
  basePort: int('replica i listens on P+i', { arg: 'P', default: 7400, min: 1, max: 65535 }),
  forceViewChanges: flag('also cut off the current leader twice (ticks 120 and 330, 90 ticks each)'),
  cluster: file('cluster.json (from byzpax keygen)', { required: true }),
  /** What every replica process takes about its links and logs (`byzpax replica`, passed on by `byzpax up`). */
  noFsync: flag(
    'writes reach the OS page cache, not the disk, before messages leave: survives\nkill -9 of the replica, not power loss of the machine (benchmarks)',
  ),
  delayMs: int('inject a one-way delay on every link to the other replicas', { arg: 'MS', default: 0 }),
  jitterMs: int('plus a uniformly random extra delay up to this', { arg: 'MS', default: 0 }),
  loss: num('drop each outgoing replica message with probability P', { arg: 'P', default: 0, min: 0, max: 1, what: 'a probability' }),
  logLevel: choice(logLevels, '', { arg: 'L', default: 'info' }),
};

// ------------------------------------------------------------------------------------------
// Commands.

export interface CommandSpec<O extends Record<string, Option<unknown>>> {
  /** `keygen`: what follows `byzpax`. */
  name: string;
  /** One line: what the command does. */
  summary: string;
  /** Free text between the title and the options (usage lines, a longer description). */
  intro?: string;
  /** Free text after the options. */
  notes?: string;
  /** Whether words that are not options are allowed (they come back as `positionals`). */
  positionals?: boolean;
  options: O;
}

export type Values<O extends Record<string, Option<unknown>>> = { [K in keyof O]: O[K] extends Option<infer T> ? T : never };

const HELP = flag('print this help', { short: 'h' });

export class Command<O extends Record<string, Option<unknown>>> {
  constructor(readonly spec: CommandSpec<O>) {
    if ('help' in spec.options) throw new Error('--help is every command’s own: do not declare it');
  }

  private get all(): [string, Option<unknown>][] {
    return [...Object.entries(this.spec.options), ['help', HELP]];
  }

  /** The --help text: title, intro, one entry per option (with its default), notes. */
  help(): string {
    const lines = [`byzpax ${this.spec.name} — ${this.spec.summary}`, ''];
    if (this.spec.intro) lines.push(...this.spec.intro.replace(/\n$/, '').split('\n').map((l) => (l ? `  ${l}` : l)), '');
    for (const [name, o] of this.all) {
      const left = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' && o.arg ? ` ${o.arg}` : ''}`;
      const what = o.choices ? (o.help ? `${o.help}: ${o.choices.join(' | ')}` : o.choices.join(' | ')) : o.help;
      const body = `${what}${o.required ? ' (required)' : o.defaultText !== undefined ? ` (default ${o.defaultText})` : ''}`;
      const [first, ...more] = body.split('\n');
      lines.push(left.length <= 15 ? `  ${left.padEnd(17)}${first}` : `  ${left}  ${first}`);
      for (const m of more) lines.push(`${' '.repeat(19)}${m}`);
    }
    if (this.spec.notes) lines.push('', ...this.spec.notes.replace(/\n$/, '').split('\n').map((l) => (l ? `  ${l}` : l)));
    return lines.join('\n') + '\n';
  }

  /**
   * Parses and checks argv. Returns undefined after printing the help for --help/-h (the
   * command then exits 0); throws UsageError for anything wrong.
   */
  parse(argv: string[]): { values: Values<O>; positionals: string[] } | undefined {
    const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
    for (const [name, o] of this.all) options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
    const config = { args: argv, options, allowPositionals: Boolean(this.spec.positionals) };
    let parsed: { values: Record<string, Raw>; positionals: string[] };
    try {
      parsed = parseArgs({ ...config, strict: true }) as typeof parsed;
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(`${this.explain(config) ?? (e as Error).message} (see byzpax ${this.spec.name} --help)`);
      throw e;
    }
    if (parsed.values.help) {
      process.stdout.write(this.help());
      return undefined;
    }
    const missing = Object.entries(this.spec.options).filter(([name, o]) => o.required && parsed.values[name] === undefined).map(([name]) => `--${name}`);
    if (missing.length) throw new UsageError(`${missing.length === 1 ? `${missing[0]} is` : `${missing.slice(0, -1).join(', ')} and ${missing[missing.length - 1]} are`} required (see byzpax ${this.spec.name} --help)`);
    const values: Record<string, unknown> = {};
    for (const [name, o] of Object.entries(this.spec.options)) values[name] = o.read(parsed.values[name], `--${name}`);
    return { values: values as Values<O>, positionals: parsed.positionals };
  }

  /** What strict parsing refused, in our words: found again by a lenient pass over the tokens. */
  private explain(config: { args: string[]; options: Record<string, { type: 'string' | 'boolean' }>; allowPositionals: boolean }): string | undefined {
    const { tokens } = parseArgs({ ...config, allowPositionals: true, strict: false, tokens: true });
    for (const t of tokens) {
      if (t.kind === 'option') {
        const o = config.options[t.name];
        if (!o) return `unknown option '${t.rawName}'`;
        if (o.type === 'boolean' && t.value !== undefined) return `${t.rawName} takes no value`;
        if (o.type === 'string' && t.value === undefined) return `${t.rawName} needs a value`;
        if (o.type === 'string' && t.inlineValue === false && t.value.startsWith('-')) {
          return /^-[\d.]/.test(t.value) ? `${t.rawName} ${t.value}: a value starting with '-' goes as ${t.rawName}=${t.value}` : `${t.rawName} needs a value`;
        }
      } else if (t.kind === 'positional' && !config.allowPositionals) {
        return `unexpected argument '${t.value}'`;
      }
    }
    return undefined;
  }
}

export function command<O extends Record<string, Option<unknown>>>(spec: CommandSpec<O>): Command<O> {
  return new Command(spec);
}

/** The line main.ts prints for a usage error: `byzpax <command>: <problem>`. */
export function usageLine(commandName: string | undefined, e: Error): string {
  return `byzpax${commandName ? ` ${commandName}` : ''}: ${e.message}`;
}
