/**
 * Byzantine replicas in a live cluster of real processes: a lying leader is detected and replaced
 * while clients keep getting agreed answers, and a short nemesis run (kills, partitions, a replica
 * cycling through attack strategies) ends with a linearizable history and every acknowledged
 * write read back.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runNemesis } from '../../src/faults/nemesis.ts';
import { freePortRange } from './local-cluster.ts';

const BIN = fileURLToPath(new URL('../../bin/byzpax', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'byzpax-byz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

describe('Byzantine replicas in a live cluster', () => {
  it('byzpax up --byzantine 0:equivocate: the equivocating leader is caught and replaced; every answer agreed and read back', async () => {
    const base = await freePortRange(4);
    const r = await run(['up', '--demo', '--ops', '15', '--byzantine', '0:equivocate', '--dir', join(dir, 'k1'), '--data', join(dir, 'd1'), '--base-port', String(base)]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/Byzantine: R0 runs 'equivocate'/);
    expect(r.out).toMatch(/15 operations answered by f\+1 = 2 matching replicas; every acknowledged write read back/);
    expect(r.out).toMatch(/R0 {2}BYZANTINE \(equivocate\)/);
    // The correct replicas moved past view 0 (whose leader lied) and at least one of them holds the proof.
    for (const id of [1, 2, 3]) expect(r.out).toMatch(new RegExp(`R${id} {2}epoch 0 {2}view [1-9]\\d* \\(leader R[1-3]\\)`));
    expect(r.out).toMatch(/detected R0×\d+/);
    expect(r.out).toMatch(/every correct replica executed the same \d+ slots and holds the same state/);
  });

  it('byzpax up refuses more than f Byzantine replicas and unknown strategies, with one line', async () => {
    const r1 = await run(['up', '--byzantine', '0:equivocate,1:silent', '--dir', join(dir, 'k2'), '--data', join(dir, 'd2')]);
    expect(r1.code).toBe(2);
    expect(r1.out).toMatch(/--byzantine names 2 replicas but f=1/);
    const r2 = await run(['up', '--byzantine', '0:teleport', '--dir', join(dir, 'k2'), '--data', join(dir, 'd2')]);
    expect(r2.code).toBe(2);
    expect(r2.out).toMatch(/unknown strategy 'teleport'/);
  });

  it('a short nemesis run (seeded): kills, partitions, one replica cycling through attacks — PASS', async () => {
    const lines: string[] = [];
    const r = await runNemesis({ n: 4, seed: 7, durationSec: 12, clients: 3, mode: 'fast', log: (l) => lines.push(l) });
    expect(r.problems, lines.join('\n')).toEqual([]);
    expect(r.verdict).toBe('PASS');
    expect(r.linearizable).toBe('ok');
    expect(r.acknowledged).toBeGreaterThan(10);
    expect(r.kills + r.partitions).toBeGreaterThan(0);
    expect(r.strategies.length).toBeGreaterThan(1);
  });

  it('a nemesis run with the "replace a member" fault: machines swapped for new replicas among kills, under a Byzantine one — PASS', async () => {
    const lines: string[] = [];
    const r = await runNemesis({ n: 4, seed: 7, durationSec: 15, clients: 2, mode: 'fast', faults: ['replace', 'kill'], log: (l) => lines.push(l) });
    expect(r.problems, lines.join('\n')).toEqual([]);
    expect(r.verdict).toBe('PASS');
    expect(r.replacements, lines.join('\n')).toBeGreaterThanOrEqual(1);
    // New members have ids ≥ 4 (never reused); the Byzantine replica is never the one replaced.
    expect(r.members.filter((id) => id >= 4).length).toBe(r.replacements);
    expect(r.members).toContain(r.byzantine);
  });
});
