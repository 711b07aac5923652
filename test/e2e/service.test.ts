/**
 * The real service end to end: `byzpax replica` processes on loopback, lmdb storage, WebSockets,
 * signed client requests answered by f+1 matching replicas. Under a concurrent client workload the
 * leader is killed with SIGKILL, the others change view, the killed replica restarts from its
 * data directory and catches up. Afterwards: every acknowledged write reads back, the recorded
 * history is linearizable, and every replica ends in the same state.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { checkOperations, formatHistory, kvModel } from '../../src/check/index.ts';
import { HistoryRecorder } from '../../src/check/history-recorder.ts';
import { startLocalCluster, type LocalCluster } from './local-cluster.ts';
import { clientLoop } from './workload.ts';

let current: LocalCluster | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function killLeaderMidWorkload(o: { n: number; mode: 'fast' | 'classic'; opsPerClient: number; requestsToAll?: boolean }): Promise<void> {
  const lc = (current = await startLocalCluster({ n: o.n, mode: o.mode, clients: 3 }));
  const { procs } = lc;
  expect(await procs.formed(60_000), `cluster did not form:\n${lc.logTail(0)}`).toBe(true);
  const clients = await Promise.all([0, 1, 2].map((i) => lc.client(i, { requestsToAll: o.requestsToAll ?? false })));
  const h = new HistoryRecorder();
  const lastWrite = new Map<string, string>();

  const total = clients.length * o.opsPerClient;
  let done = 0;
  let killed: number | undefined;
  let restarted = false;
  const onOp = async () => {
    done++;
    if (killed === undefined && done >= total / 4) {
      killed = procs.leader() ?? 0;
      procs.kill(killed);
    } else if (killed !== undefined && !restarted && done >= (2 * total) / 3) {
      restarted = true;
      procs.start(killed);
    }
  };
  await Promise.all(clients.map((c) => clientLoop(c, h, lastWrite, async (i) => (await onOp(), i + 1 < o.opsPerClient))));
  expect(killed).toBeDefined();
  expect(restarted).toBe(true);

  // Liveness: every operation got an agreed answer despite the crash and the view change.
  expect(h.answered).toBe(h.operations.length);
  // The others moved to a new view without the killed leader.
  const views = procs.running().filter((i) => i !== killed).map((i) => procs.status[i]!.view);
  expect(Math.min(...views)).toBeGreaterThan(0);

  // Every acknowledged write reads back (through another client, after the restart).
  const reader = clients[0]!;
  for (const [key, value] of lastWrite) {
    const a = await h.run(reader, { op: 'get', key });
    expect(a?.result, `read-back of ${key}`).toEqual({ value });
  }
  expect(lastWrite.size).toBe(clients.length * 3);

  const verdict = checkOperations(kvModel, h.operations, { timeoutMs: 60_000 });
  expect(verdict.result, `history not linearizable:\n${formatHistory(h.operations)}`).toBe('ok');

  // The restarted replica catches up, and every replica ends in the same state.
  const same = await procs.waitFor(() => {
    const s = procs.running().map((i) => procs.status[i]);
    return s.length === o.n && s.every((x) => x !== undefined && x.executed === s[0]!.executed && x.stateDigest !== '' && x.stateDigest === s[0]!.stateDigest);
  }, 30_000);
  expect(same, `replicas did not converge: ${JSON.stringify(procs.status.map((s) => s && { id: s.id, executed: s.executed, view: s.view }))}\n${lc.logTail(killed!)}`).toBe(true);
  expect(lc.crashes).toEqual([]);
}

/** On a failure, what each replica reported and the end of its log, to tell a stall from a slow machine. */
async function withDiagnostics(run: () => Promise<void>, deadlineMs = 100_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    await Promise.race([run(), deadline]);
  } catch (e) {
    const lc = current;
    if (lc) {
      const report = lc.procs.status.map((s, i) => `R${i}: ${s ? JSON.stringify({ view: s.view, normal: s.normal, executed: s.executed, peers: s.peers, drops: s.drops }) : 'down'}\n${lc.logTail(i, 15)}`);
      console.error(`replica status and logs at the failure:\n${report.join('\n')}`);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

describe('real processes over WebSockets: kill -9 of the leader mid-workload', () => {
  it('n = 4, fast path: view change, restart from disk, catch-up; every write reads back; linearizable', async () => {
    await withDiagnostics(() => killLeaderMidWorkload({ n: 4, mode: 'fast', opsPerClient: 24 }));
  });

  it('n = 4, classic path, clients sending every request to every replica (backups take them unchecked, a new leader checks them): the same', async () => {
    await withDiagnostics(() => killLeaderMidWorkload({ n: 4, mode: 'classic', opsPerClient: 24, requestsToAll: true }));
  });

  it('n = 7 (f = 2), fast path: the same', async () => {
    await withDiagnostics(() => killLeaderMidWorkload({ n: 7, mode: 'fast', opsPerClient: 16 }));
  });
});

describe('real processes: a replica down for longer than a checkpoint interval', () => {
  it('restarts from disk and catches up by a verified snapshot (state transfer), then holds the same state', async () => {
    const lc = (current = await startLocalCluster({ n: 4, mode: 'fast', clients: 4 }));
    const { procs } = lc;
    expect(await procs.formed(60_000)).toBe(true);
    const clients = await Promise.all([0, 1, 2, 3].map((i) => lc.client(i)));
    await Promise.all(clients.map((c) => c.put(`c${c.id}`, 'before')));
    procs.kill(3); // a backup: the others keep a quorum and stay in view 0
    // Enough slots for two checkpoints (every 128 slots) while replica 3 is down.
    let slot = 0;
    for (let round = 0; slot < 300; round++) {
      const answers = await Promise.all(clients.map((c) => c.execute({ op: 'put', key: `c${c.id}`, value: `v${round}` })));
      slot = Math.max(...answers.map((a) => a.slot));
    }
    procs.start(3);
    const same = await procs.waitFor(() => {
      const s = procs.running().map((i) => procs.status[i]);
      return s.length === 4 && s.every((x) => x !== undefined && x.executed === s[0]!.executed && x.stateDigest !== '' && x.stateDigest === s[0]!.stateDigest);
    }, 30_000);
    expect(same, lc.logTail(3)).toBe(true);
    const log = readFileSync(procs.logFile(3), 'utf8');
    expect(log).toMatch(/"msg":"recovered from disk"/);
    expect(log).toMatch(/"msg":"state transferred"/);
    for (const c of clients) expect(await c.get(`c${c.id}`)).toMatch(/^v\d+$/);
    expect(lc.crashes).toEqual([]);
  });
});
