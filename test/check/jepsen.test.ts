import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOperations, parseJepsenLog, registerModel } from '../../src/check/index.ts';

const dir = fileURLToPath(new URL('../fixtures/jepsen-etcd/', import.meta.url));
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, boolean>;
const logs = readdirSync(dir)
  .filter((f) => f.endsWith('.log'))
  .sort();

const line = (process: number, type: string, f: string, value: string): string =>
  `INFO  jepsen.util - ${process}\t:${type}\t:${f}\t${value}`;

describe('parseJepsenLog', () => {
  it('parses reads, writes, cas and their outcomes', () => {
    const text = [
      line(0, 'invoke', 'read', 'nil'),
      line(1, 'invoke', 'write', '3'),
      line(0, 'ok', 'read', 'nil'),
      line(1, 'ok', 'write', '3'),
      line(2, 'invoke', 'cas', '[3 4]'),
      line(3, 'invoke', 'cas', '[0 1]'),
      line(2, 'ok', 'cas', '[3 4]'),
      line(3, 'fail', 'cas', '[0 1]'),
      line(0, 'invoke', 'read', 'nil'),
      line(0, 'ok', 'read', '4'),
      '',
    ].join('\n');
    expect(parseJepsenLog(text)).toEqual([
      { clientId: 0, input: { f: 'read' }, output: { value: null }, call: 0, return: 2 },
      { clientId: 1, input: { f: 'write', value: 3 }, output: {}, call: 1, return: 3 },
      { clientId: 2, input: { f: 'cas', from: 3, to: 4 }, output: { ok: true }, call: 4, return: 6 },
      { clientId: 3, input: { f: 'cas', from: 0, to: 1 }, output: { ok: false }, call: 5, return: 7 },
      { clientId: 0, input: { f: 'read' }, output: { value: 4 }, call: 8, return: 9 },
    ]);
  });

  it('keeps timed-out operations pending, even when the process is reused', () => {
    const text = [
      line(1, 'invoke', 'write', '3'),
      line(2, 'invoke', 'cas', '[3 4]'),
      line(4, 'invoke', 'read', 'nil'),
      line(1, 'info', 'write', ':timed-out'),
      line(2, 'info', 'cas', ':timed-out'),
      line(4, 'fail', 'read', ':timed-out'),
      line(1, 'invoke', 'write', '5'),
      line(1, 'ok', 'write', '5'),
      line(2, 'invoke', 'write', '6'), // never completed
    ].join('\r\n');
    expect(parseJepsenLog(text)).toEqual([
      { clientId: 1, input: { f: 'write', value: 3 }, output: undefined, call: 0, return: Infinity },
      { clientId: 2, input: { f: 'cas', from: 3, to: 4 }, output: undefined, call: 1, return: Infinity },
      { clientId: 4, input: { f: 'read' }, output: undefined, call: 2, return: 5 },
      { clientId: 1, input: { f: 'write', value: 5 }, output: {}, call: 6, return: 7 },
      { clientId: 2, input: { f: 'write', value: 6 }, output: undefined, call: 8, return: Infinity },
    ]);
  });

  it('accepts space-separated fields and ignores other loggers', () => {
    const text = [
      'INFO  jepsen.core - Running test',
      'INFO  jepsen.util - 12  :invoke :cas    [1 2]',
      'INFO  jepsen.util - 12  :fail   :cas    [1 2]',
    ].join('\n');
    expect(parseJepsenLog(text)).toEqual([
      { clientId: 12, input: { f: 'cas', from: 1, to: 2 }, output: { ok: false }, call: 1, return: 2 },
    ]);
  });

  it('treats an invocation superseded without completion as pending', () => {
    const text = [line(0, 'invoke', 'write', '1'), line(0, 'invoke', 'read', 'nil'), line(0, 'ok', 'read', '1')].join('\n');
    expect(parseJepsenLog(text)).toEqual([
      { clientId: 0, input: { f: 'write', value: 1 }, output: undefined, call: 0, return: Infinity },
      { clientId: 0, input: { f: 'read' }, output: { value: 1 }, call: 1, return: 2 },
    ]);
  });

  it('drops a write that definitely failed', () => {
    const text = [line(0, 'invoke', 'write', '1'), line(0, 'fail', 'write', '1')].join('\n');
    expect(parseJepsenLog(text)).toEqual([]);
  });

  it('rejects malformed events', () => {
    expect(() => parseJepsenLog(line(0, 'ok', 'read', '1'))).toThrow(/no invocation/);
    expect(() => parseJepsenLog(line(0, 'invoke', 'cas', '[1]'))).toThrow(/\[from to\]/);
    expect(() => parseJepsenLog(line(0, 'invoke', 'write', 'x'))).toThrow(/integer/);
    expect(() => parseJepsenLog(line(0, 'invoke', 'frob', '1'))).toThrow(/unrecognised/);
    expect(() => parseJepsenLog([line(0, 'invoke', 'write', '1'), line(0, 'ok', 'read', '1')].join('\n'))).toThrow(
      /completes an invocation/,
    );
  });

  it('parses every fixture, one operation per invocation', () => {
    for (const file of logs) {
      const text = readFileSync(join(dir, file), 'utf8');
      const invocations = text.split('\n').filter((l) => /\s:invoke\s/.test(l)).length;
      const failedWrites = text.split('\n').filter((l) => /\s:fail\s+:write\s/.test(l)).length;
      expect(parseJepsenLog(text).length, file).toBe(invocations - failedWrites);
    }
  });
});

describe('Jepsen etcd histories', () => {
  let totalMs = 0;
  afterAll(() => {
    console.log(`checked ${logs.length} Jepsen etcd histories in ${totalMs.toFixed(0)} ms`);
  });

  it('has the 102 fixtures the README describes', () => {
    expect(logs).toHaveLength(102);
    expect(Object.keys(expected).sort()).toEqual(logs);
    expect(Object.values(expected).filter(Boolean)).toHaveLength(23);
  });

  it.each(logs)('%s', (file) => {
    const ops = parseJepsenLog(readFileSync(join(dir, file), 'utf8'));
    const started = performance.now();
    const { result } = checkOperations(registerModel, ops, { timeoutMs: 20_000 });
    totalMs += performance.now() - started;
    expect(result).toBe(expected[file] ? 'ok' : 'illegal');
  });
});
