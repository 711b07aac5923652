import type { Operation } from './history.ts';
import type { RegisterInput, RegisterOutput } from './register-model.ts';

/**
 * Parser for Jepsen etcd register logs, one event a line:
 *   INFO  jepsen.util - <process>\t<type>\t<f>\t<value>
 * Some logs separate fields with spaces instead of tabs, so any whitespace is
 * accepted. Lines from other loggers are ignored; a jepsen.util line that does
 * not parse is an error, since skipping it would silently change the history.
 */

const EVENT = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;
const CAS_VALUE = /^\[(-?\d+)\s+(-?\d+)\]$/;
const INT_VALUE = /^-?\d+$/;

type Fn = 'read' | 'write' | 'cas';

function parseInt10(text: string, lineNo: number): number {
  if (!INT_VALUE.test(text)) throw new Error(`line ${lineNo}: expected an integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseInput(f: Fn, value: string, lineNo: number): RegisterInput {
  switch (f) {
    case 'read':
      return { f: 'read' };
    case 'write':
      return { f: 'write', value: parseInt10(value, lineNo) };
    case 'cas': {
      const m = CAS_VALUE.exec(value);
      if (!m) throw new Error(`line ${lineNo}: expected [from to], got ${JSON.stringify(value)}`);
      return { f: 'cas', from: Number(m[1]), to: Number(m[2]) };
    }
  }
}

/**
 * Converts a log into operations; call and return are 0-based line indices.
 *
 * Outcomes:
 * - `:ok` completes the operation with its result.
 * - `:fail :cas`: the comparison failed, `{ ok: false }`.
 * - `:fail` of a read (`:timed-out`): no answer; kept with an unknown output.
 *   A read has no effect, so the only constraint it could add is its result.
 * - `:fail` of a write: it definitely did not happen, so it is dropped.
 * - `:info`, a `:timed-out` failure of a write or cas, or an invocation never
 *   completed: no definite outcome; the operation stays pending (return at
 *   +Infinity, unknown output) and may take effect any time after its call.
 */
export function parseJepsenLog(text: string): Operation<RegisterInput, RegisterOutput>[] {
  const ops: Operation<RegisterInput, RegisterOutput>[] = [];
  // A process runs one operation at a time: its outstanding invocation.
  const open = new Map<number, { call: number; f: Fn; input: RegisterInput }>();

  const pend = (process: number, inv: { call: number; input: RegisterInput }): void => {
    ops.push({ clientId: process, input: inv.input, output: undefined, call: inv.call, return: Infinity });
  };

  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (!/^INFO\s+jepsen\.util\s/.test(line)) return;
    const m = EVENT.exec(line);
    if (!m) throw new Error(`line ${lineNo}: unrecognised jepsen event ${JSON.stringify(line)}`);
    const process = Number(m[1]);
    const type = m[2]!;
    const f = m[3] as Fn;
    const value = m[4]!;

    if (type === 'invoke') {
      // A new invocation while one is outstanding means the old one's outcome
      // was never logged: the conservative reading is "unknown".
      const stale = open.get(process);
      if (stale) pend(process, stale);
      open.set(process, { call: index, f, input: parseInput(f, value, lineNo) });
      return;
    }

    const inv = open.get(process);
    if (!inv) throw new Error(`line ${lineNo}: ${type} for process ${process} with no invocation`);
    if (inv.f !== f) throw new Error(`line ${lineNo}: ${type} :${f} completes an invocation of :${inv.f}`);
    open.delete(process);
    const complete = (output: RegisterOutput | undefined): void => {
      ops.push({ clientId: process, input: inv.input, output, call: inv.call, return: index });
    };

    if (type === 'info' || (type === 'fail' && value === ':timed-out' && f !== 'read')) {
      pend(process, inv);
    } else if (type === 'ok') {
      if (f === 'read') complete({ value: value === 'nil' ? null : parseInt10(value, lineNo) });
      else if (f === 'write') complete({});
      else complete({ ok: true });
    } else if (f === 'read') {
      complete(undefined);
    } else if (f === 'cas') {
      complete({ ok: false });
    }
    // else: a failed write had no effect and constrains nothing.
  });

  for (const [process, inv] of open) pend(process, inv);
  return ops;
}
