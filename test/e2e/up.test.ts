/**
 * `byzpax up`, as `npm start` runs it (--demo) and as a user leaves it running (stopped by a
 * signal): real replica processes, generated keys, the demo's own verdict, and no replica left
 * behind when it stops.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePortRange } from './local-cluster.ts';

const BIN = fileURLToPath(new URL('../../bin/byzpax', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'byzpax-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of `byzpax replica` processes whose command line names this directory. */
async function replicaPids(): Promise<number[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmd.includes('replica') && cmd.includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('byzpax up', () => {
  it('--demo: generates keys, starts 4 replicas, survives kill -9 of the leader, reads every write back, ends with one state', async () => {
    const base = await freePortRange(4);
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'up', '--demo', '--ops', '12', '--dir', join(dir, 'k1'), '--data', join(dir, 'd1'), '--base-port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
      p.on('exit', (code) => resolve({ code, stdout }));
    });
    expect(out.code, out.stdout).toBe(0);
    expect(out.stdout).toMatch(/generated cluster byzpax-[0-9a-f]+ in .* \(n=4, f=1, mode fast\)/);
    expect(out.stdout).toMatch(/! kill -9 replica \d \(the leader\)/);
    expect(out.stdout).toMatch(/\^ restart replica \d from its data directory/);
    expect(out.stdout).toMatch(/12 operations answered by f\+1 = 2 matching replicas; every acknowledged write read back/);
    expect(out.stdout).toMatch(/every replica executed the same \d+ slots and holds the same state/);
    expect(await replicaPids()).toEqual([]);
  });

  it('without --demo it shows a status line per replica and stops every replica on SIGTERM', async () => {
    const base = await freePortRange(4);
    const p = spawn(process.execPath, [BIN, 'up', '--dir', join(dir, 'k2'), '--data', join(dir, 'd2'), '--base-port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/R3 {2}epoch 0 {2}view \d+ \(leader R\d\)/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(stdout).toMatch(/R0 {2}epoch 0 {2}view 0 \(leader R0\) {2}committed 0 {2}fast 0 \/ classic 0 {2}peers 3\/3/);
    const pids = await replicaPids();
    expect(pids).toHaveLength(4);
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/stopping/);
    expect(pids.filter(alive)).toEqual([]);
  });
});
