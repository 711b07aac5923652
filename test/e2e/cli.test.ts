/**
 * The commands a new user types, as the README gives them: `byzpax keygen`, one `byzpax replica`
 * per replica, `byzpax client put/get/cas/delete` — each run as its own process, checked by its
 * output and exit code, including the errors a user can hit.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterFile } from '../../src/cluster/cluster-file.ts';
import { ReplicaProcesses } from '../../src/server/replica-processes.ts';
import { byzpax, freePortRange } from './local-cluster.ts';

describe('byzpax keygen + replica + client, as separate processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'byzpax-cli-'));
  const keys = join(dir, 'keys');
  let procs: ReplicaProcesses | undefined;
  let basePort = 0;

  beforeAll(async () => {
    basePort = await freePortRange(4);
  });
  afterAll(async () => {
    await procs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (...args: string[]) => byzpax(['client', '--cluster', join(keys, 'cluster.json'), '--key', join(keys, 'client-0.key'), ...args]);

  it('keygen writes cluster.json and 0600 key files, and refuses to overwrite them', async () => {
    const r = await byzpax(['keygen', '--n', '4', '--dir', keys, '--base-port', String(basePort)]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(join(keys, 'replica-0.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(keys, 'client-1.key')).mode & 0o777).toBe(0o600);
    expect(readClusterFile(join(keys, 'cluster.json')).urls[3]).toBe(`ws://127.0.0.1:${basePort + 3}`);
    const again = await byzpax(['keygen', '--n', '4', '--dir', keys, '--base-port', String(basePort)]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exist/);
  });

  it('a client against a cluster that is not running fails with one clear line', async () => {
    const r = await client('--timeout', '1500', 'get', 'k');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cluster unreachable/);
  });

  it('four replica processes; put, get, cas, delete answer with the agreed values', async () => {
    procs = new ReplicaProcesses({ cluster: readClusterFile(join(keys, 'cluster.json')), keyDir: keys, dataDir: join(dir, 'data') });
    procs.startAll();
    expect(await procs.formed(60_000)).toBe(true);

    expect(await client('put', 'greeting', 'hello')).toMatchObject({ code: 0, stdout: 'ok (was (absent))\n' });
    expect(await client('get', 'greeting')).toMatchObject({ code: 0, stdout: 'hello\n' });
    expect(await client('cas', 'greeting', 'nope', 'x')).toMatchObject({ code: 0, stdout: 'not swapped: greeting is hello\n' });
    expect(await client('cas', 'greeting', 'hello', 'bye')).toMatchObject({ code: 0, stdout: 'ok (was hello)\n' });
    const json = await client('--json', 'get', 'greeting');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { result: unknown; slot: number; view: number };
    expect(parsed.result).toEqual({ value: 'bye' });
    expect(parsed.slot).toBeGreaterThanOrEqual(4);
    expect(await client('delete', 'greeting')).toMatchObject({ code: 0, stdout: 'ok (was bye)\n' });
    expect(await client('get', 'greeting')).toMatchObject({ code: 0, stdout: '(absent)\n' });
  });

  it('replica logs are pino JSON lines naming the replica, its view and a slot on every protocol line', () => {
    const lines = readFileSync(procs!.logFile(2), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      const j = JSON.parse(line) as Record<string, unknown>;
      expect(typeof j.msg).toBe('string');
      expect(j.replica, line).toBe(2);
      if (j.component === 'net' || j.msg === 'replica started') continue;
      expect(typeof j.view, line).toBe('number');
      expect(typeof j.slot, line).toBe('number');
    }
  });

  it("the README's library example works against the same cluster, imported as 'byzpax'", async () => {
    const { Client, readClusterFile: readCluster, readKeyFile } = await import('byzpax');
    const cluster = readCluster(join(keys, 'cluster.json'));
    const c = await Client.connect({ cluster, key: readKeyFile(join(keys, 'client-1.key'), cluster, 'client') });
    try {
      expect(await c.put('k', 'v')).toBeNull();
      expect(await c.get('k')).toBe('v');
      expect(await c.cas('k', 'v', 'w')).toEqual({ ok: true, value: 'v' });
      expect(await c.cas('k', 'v', 'x')).toEqual({ ok: false, value: 'w' });
      expect(await c.delete('k')).toBe('w');
      expect(await c.get('k')).toBeNull();
    } finally {
      await c.close();
    }
  });

  it('a key file that is not a key, or a client key the cluster does not list, is refused with one line', async () => {
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'not a key\n', { mode: 0o600 });
    const r1 = await byzpax(['client', '--cluster', join(keys, 'cluster.json'), '--key', bad, 'get', 'k']);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr.trim().split('\n')).toHaveLength(1);

    // A client key from another cluster: valid format, unknown to this one.
    const other = join(dir, 'other');
    expect((await byzpax(['keygen', '--n', '4', '--dir', other, '--base-port', String(basePort)])).code).toBe(0);
    const r2 = await byzpax(['client', '--cluster', join(keys, 'cluster.json'), '--key', join(other, 'client-0.key'), 'get', 'k']);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr.trim().split('\n')).toHaveLength(1);
    expect(r2.stderr).toMatch(/client|key/);

    // A replica's key where a client key belongs.
    const r3 = await byzpax(['client', '--cluster', join(keys, 'cluster.json'), '--key', join(keys, 'replica-0.key'), 'get', 'k']);
    expect(r3.code).not.toBe(0);
    expect(r3.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('usage errors: an unknown command or a missing argument exits 2 with one line', async () => {
    const r = await client('frobnicate', 'k');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
    const r2 = await client('put', 'k');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/put takes 2 arguments/);
  });
});
