/**
 * Membership change with real processes: a machine dies (kill -9, data directory deleted) and the
 * admin replaces it with a new replica — new key, new port — that joins from the genesis cluster
 * file, learns and verifies the configurations, catches up by a verified snapshot and votes; then
 * another original replica is killed and the cluster stays live, because the fault budget is whole
 * again. And the cluster grows 4 → 7 (f 1 → 2) and shrinks back to 4 without any original member,
 * under a client workload that started from genesis and follows every epoch. Every acknowledged
 * write reads back and the history is linearizable.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkOperations, formatHistory, kvModel } from '../../src/check/index.ts';
import { HistoryRecorder } from '../../src/check/history-recorder.ts';
import type { Client } from '../../src/client/client.ts';
import { generateMember } from '../../src/cluster/generate.ts';
import { readKeyFile } from '../../src/cluster/key-file.ts';
import { toHex } from '../../src/crypto/bytes.ts';
import type { MembershipChange } from '../../src/core/membership.ts';
import { byzpax, freePortRange, startLocalCluster, type LocalCluster } from './local-cluster.ts';
import { clientLoop } from './workload.ts';

let current: LocalCluster | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** A new member's key and entry in the cluster's key directory, on a port free right now. */
async function newMember(lc: LocalCluster, id: number) {
  const port = await freePortRange(1);
  return generateMember({ cluster: lc.cluster, dir: lc.keyDir, id, url: `ws://127.0.0.1:${port}` }).entry;
}

/** Submits a change, retrying while an earlier one is still pending; returns its epoch and boundary. */
async function change(admin: Client, c: MembershipChange): Promise<{ epoch: number; activatesAfter: number }> {
  const t0 = Date.now();
  for (;;) {
    const a = await admin.changeMembership(c);
    if (process.env.DEBUG_MEMBERSHIP) console.log(`${new Date().toISOString()} ${c.kind} → ${JSON.stringify(a.result)} slot ${a.slot} after ${Date.now() - t0} ms`);
    if (a.result.ok) return a.result;
    if (!a.result.error.includes('pending')) throw new Error(`change refused: ${a.result.error}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until the replicated membership is at `epoch` (read through the log). */
async function epochBegun(admin: Client, epoch: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await admin.readMembership()).result.current.config.epoch !== epoch) {
    if (Date.now() > deadline) throw new Error(`epoch ${epoch} did not begin within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A workload that runs until stopped; `completed()` counts answered operations. */
function workload(clients: Client[]) {
  const h = new HistoryRecorder();
  const lastWrite = new Map<string, string>();
  let stop = false;
  let done = 0;
  const running = Promise.all(clients.map((c) => clientLoop(c, h, lastWrite, () => (done++, !stop))));
  return {
    h,
    lastWrite,
    completed: () => done,
    /** Resolves once `more` further operations were answered (or throws after the timeout). */
    async progress(more: number, timeoutMs = 60_000) {
      const target = done + more;
      const deadline = Date.now() + timeoutMs;
      while (done < target) {
        if (Date.now() > deadline) throw new Error(`workload stalled at ${done} operations (wanted ${target})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      stop = true;
      await running;
    },
  };
}

/** Every acknowledged write reads back, the history is linearizable, and no operation failed. */
async function checkHistory(reader: Client, w: ReturnType<typeof workload>): Promise<void> {
  for (const [key, value] of w.lastWrite) {
    const a = await w.h.run(reader, { op: 'get', key });
    expect(a?.result, `read-back of ${key}`).toEqual({ value });
  }
  expect(w.h.answered, 'operations without an agreed answer').toBe(w.h.operations.length);
  const verdict = checkOperations(kvModel, w.h.operations, { timeoutMs: 60_000 });
  expect(verdict.result, `history not linearizable:\n${formatHistory(w.h.operations)}`).toBe('ok');
}

/** Resolves once `ids` all report `epoch` as members, executed past `slot`. */
async function joined(lc: LocalCluster, ids: number[], epoch: number, slot: number, timeoutMs = 30_000): Promise<boolean> {
  return lc.procs.waitFor(() => ids.every((i) => {
    const s = lc.procs.status[i];
    return s !== undefined && s.epoch === epoch && s.member && s.executed > slot;
  }), timeoutMs);
}

/** Resolves once `ids` (with the workload stopped) all hold the same state at the same slot. */
async function converged(lc: LocalCluster, ids: number[], timeoutMs = 30_000): Promise<boolean> {
  return lc.procs.waitFor(() => {
    const s = ids.map((i) => lc.procs.status[i]);
    return s.every((x) => x !== undefined && x.executed === s[0]!.executed && x.stateDigest !== '' && x.stateDigest === s[0]!.stateDigest);
  }, timeoutMs);
}

function report(lc: LocalCluster, ids: number[]): string {
  return ids.map((i) => {
    const s = lc.procs.status[i];
    return `R${i}: ${s ? JSON.stringify({ epoch: s.epoch, member: s.member, view: s.view, normal: s.normal, executed: s.executed, peers: s.peers }) : 'down'}\n${lc.logTail(i, 12)}`;
  }).join('\n');
}

describe('membership change with real processes', () => {
  it('a dead machine is replaced by a new replica (new key, new port) that joins; then another original dies and the cluster stays live', async () => {
    const lc = (current = await startLocalCluster({ n: 4, mode: 'fast', clients: 2 }));
    const { procs } = lc;
    expect(await procs.formed(60_000), `cluster did not form:\n${lc.logTail(0)}`).toBe(true);
    const clients = await Promise.all([0, 1].map((i) => lc.client(i)));
    const admin = await lc.admin();
    const w = workload(clients);
    let members: number[] = [];
    let alive: number[] = [];
    let second = -1;
    let activated = -1;
    try {
      await w.progress(20);
      // The machine of a backup dies with its disk.
      const leader = procs.leader() ?? 0;
      const dead = leader === 3 ? 2 : 3;
      procs.kill(dead);
      rmSync(join(lc.dataDir, `replica-${dead}`), { recursive: true, force: true });
      await w.progress(10);

      // The admin's side, as a user types it: a key for the new machine, then the change.
      const keys = lc.keyDir;
      const clusterFile = join(keys, 'cluster.json');
      const port = await freePortRange(1);
      const made = await byzpax(['keygen', '--member', '--cluster', clusterFile, '--id', '4', '--url', `ws://127.0.0.1:${port}`, '--dir', keys]);
      expect(made.stdout, made.stderr).toMatch(/^member 4 of cluster byzpax-[0-9a-f]+: ws:\/\/127\.0\.0\.1:\d+, public key [0-9a-f]{64}\n/);
      const replaced = await byzpax(['member', 'replace', String(dead), '--member', join(keys, 'replica-4.member.json'), '--cluster', clusterFile, '--admin-key', join(keys, 'admin.key'), '--json']);
      expect(replaced.code, replaced.stderr).toBe(0);
      const { epoch, activatesAfter, members: listed } = JSON.parse(replaced.stdout) as { epoch: number; activatesAfter: number; members: { id: number; url: string }[] };
      expect(epoch).toBe(1);
      expect(listed).toEqual([0, 1, 2, 3, 4].filter((i) => i !== dead).map((id) => ({ id, url: id === 4 ? `ws://127.0.0.1:${port}` : lc.cluster.urls[id] })));
      // The new machine: the genesis cluster file and its own key (byzpax replica --join).
      procs.start(4, ['--join']);
      await epochBegun(admin, 1);
      members = [0, 1, 2, 3, 4].filter((i) => i !== dead);
      expect(await joined(lc, members, 1, activatesAfter), `the new member did not catch up:\n${report(lc, members)}`).toBe(true);
      activated = activatesAfter;
      expect(lc.procs.status[4]!.members).toEqual(members);
      // It came from nothing: the configurations and a snapshot, each verified, then the log.
      expect(readFileSync(procs.logFile(4), 'utf8')).toMatch(/"msg":"state transferred"/);
      await w.progress(10);

      // A second original dies: with the replacement voting, f = 1 is a whole budget again.
      second = members.find((i) => i !== 4 && i !== (procs.leader() ?? 0))!;
      procs.kill(second);
      await w.progress(30);
      alive = members.filter((i) => i !== second);
    } finally {
      await w.stop();
    }
    await checkHistory(clients[0]!, w);
    expect(await converged(lc, alive), report(lc, alive)).toBe(true);

    // What the cluster says about itself, and a configuration file for clients that start now
    // (with the same client keys: the in-process clients go first, one connection per client).
    await Promise.all([...clients, admin].map((c) => c.close()));
    const status = await byzpax(['status', '--cluster', join(lc.keyDir, 'cluster.json'), '--key', join(lc.keyDir, 'client-0.key')]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^cluster byzpax-[0-9a-f]+: epoch 1, n=4, f=1, view \d+ \(leader \d+\)/);
    // Each member's own signed word: the new one is in epoch 1 and has executed past the boundary.
    const four = /replica 4 +ws:\/\/127\.0\.0\.1:\d+ +reachable +(?:leader )? *epoch 1, view \d+, executed (\d+), stable checkpoint \d+/.exec(status.stdout);
    expect(four, status.stdout).not.toBeNull();
    expect(Number(four![1])).toBeGreaterThan(activated);
    expect(status.stdout).toMatch(new RegExp(`replica ${second} .*UNREACHABLE`));
    const fetched = join(lc.dir, 'epoch-1.json');
    const fetch = await byzpax(['config', 'fetch', '--cluster', join(lc.keyDir, 'cluster.json'), '--key', join(lc.keyDir, 'client-1.key'), '--out', fetched]);
    expect(fetch.stdout, fetch.stderr).toMatch(/^epoch 1: members (\d+, ){3}4 \(n=4\), f=1\n/);
    const get = await byzpax(['client', '--cluster', fetched, '--key', join(lc.keyDir, 'client-0.key'), 'get', 'c0-k0']);
    expect(get.stdout.trim(), get.stderr).toBe(w.lastWrite.get('c0-k0'));
    // The clients started from the genesis file and now verify replies with epoch 1's keys.
    expect(clients.map((c) => c.epoch)).toEqual([1, 1]);
    expect(lc.crashes).toEqual([]);
  }, 180_000);

  it('grows 4 → 7 with f 1 → 2, rotates a key, then shrinks to 4 without replicas 0, 1, 2 — one remaining member down throughout and catching up after; the workload follows every epoch', async () => {
    // Eight changes, each a window after the last: a smaller window keeps the test short.
    const lc = (current = await startLocalCluster({ n: 4, mode: 'fast', clients: 2, params: { checkpointInterval: 16, window: 32 } }));
    const { procs } = lc;
    expect(await procs.formed(60_000), `cluster did not form:\n${lc.logTail(0)}`).toBe(true);
    const clients = await Promise.all([0, 1].map((i) => lc.client(i)));
    const admin = await lc.admin();
    const w = workload(clients);
    const all = [0, 1, 2, 3, 4, 5, 6];
    let last = { epoch: 0, activatesAfter: 0 };
    try {
      await w.progress(10);
      for (const id of [4, 5, 6]) {
        const m = await newMember(lc, id);
        last = await change(admin, { kind: 'add', member: { id, publicKey: m.publicKey, address: m.url } });
        procs.start(id, ['--join']);
      }
      last = await change(admin, { kind: 'set-f', f: 2 });
      await epochBegun(admin, last.epoch);
      expect(await joined(lc, all, last.epoch, last.activatesAfter), report(lc, all)).toBe(true);
      expect(procs.status[6]!.f).toBe(2);
      await w.progress(10);

      // Rotate replica 3's key: restart it holding its next key, then switch the configuration.
      const rotated = generateMember({ cluster: lc.cluster, dir: lc.keyDir, id: 3 });
      procs.kill(3);
      procs.start(3, ['--next-key', rotated.keyFile]);
      last = await change(admin, { kind: 'rotate-key', id: 3, publicKey: rotated.entry.publicKey });

      last = await change(admin, { kind: 'set-f', f: 1 });
      // Replica 6 is down through the shrink (concord-bft's case: after 7 → 4 a replica could not
      // complete state transfer); it must catch up from the four that remain.
      procs.kill(6);
      for (const id of [0, 1, 2]) last = await change(admin, { kind: 'remove', id });
      await epochBegun(admin, last.epoch);
      expect(await joined(lc, [3, 4, 5], last.epoch, last.activatesAfter), report(lc, [3, 4, 5])).toBe(true);
      // The removed replicas stop counting at the boundary and may be shut down.
      for (const id of [0, 1, 2]) procs.kill(id);
      procs.start(6, ['--join']);
      const remaining = [3, 4, 5, 6];
      expect(await joined(lc, remaining, last.epoch, last.activatesAfter), report(lc, remaining)).toBe(true);
      await w.progress(20);
    } finally {
      await w.stop();
    }
    expect(last.epoch).toBe(9);
    await checkHistory(clients[0]!, w);
    expect(await converged(lc, [3, 4, 5, 6]), report(lc, [3, 4, 5, 6])).toBe(true);
    expect(procs.status[3]!.members).toEqual([3, 4, 5, 6]);
    expect(clients.map((c) => c.configuration.replicas.map((r) => r.id))).toEqual([[3, 4, 5, 6], [3, 4, 5, 6]]);
    // Replica 3 signs with its new key: the clients verified its replies with it.
    expect(toHex(clients[0]!.configuration.replicas[0]!.publicKey)).toBe(toHex(readKeyFile(join(lc.keyDir, 'replica-3.next.key')).publicKey));
    expect(lc.crashes).toEqual([]);
  }, 240_000);
});
