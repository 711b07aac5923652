/**
 * End-to-end test fixture: a fresh cluster (real keys from `generateCluster`, in a temp dir) whose
 * replicas run as real `byzpax replica` processes on loopback ports that are free right now.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../../src/cluster/cluster-file.ts';
import { adminKeyIn, clientKeyIn, generateCluster, type GenerateOptions } from '../../src/cluster/generate.ts';
import { readKeyFile } from '../../src/cluster/key-file.ts';
import { Client } from '../../src/client/client.ts';
import { ReplicaProcesses } from '../../src/server/replica-processes.ts';
import { freePortRange } from '../../src/cluster/free-ports.ts';

export { freePortRange };

const BIN = fileURLToPath(new URL('../../bin/byzpax', import.meta.url));

/** Runs `byzpax <args>` as its own process, as a user would; resolves with its exit code and output. */
export function byzpax(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface LocalCluster {
  dir: string;
  keyDir: string;
  dataDir: string;
  cluster: Cluster;
  procs: ReplicaProcesses;
  /** Unexpected exits (crashes) of replicas, as "id: how". */
  crashes: string[];
  client(id: number, opts?: { retryMs?: number; operationTimeoutMs?: number; requestsToAll?: boolean }): Promise<Client>;
  /** A client with the admin key (it may submit membership changes). */
  admin(): Promise<Client>;
  /** The last lines of a replica's log, for failure messages. */
  logTail(id: number, lines?: number): string;
  close(): Promise<void>;
}

/** With `start: false` the replicas are not started: the caller starts them (`procs.startGroup`). */
export async function startLocalCluster(o: {
  n: number;
  f?: number;
  mode: 'fast' | 'classic';
  clients?: number;
  args?: string[];
  nodeArgs?: string[];
  start?: boolean;
  params?: GenerateOptions['params'];
}): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'byzpax-e2e-'));
  const keyDir = join(dir, 'keys');
  const dataDir = join(dir, 'data');
  const basePort = await freePortRange(o.n);
  const { cluster } = generateCluster({ dir: keyDir, n: o.n, ...(o.f !== undefined ? { f: o.f } : {}), mode: o.mode, clients: o.clients ?? 3, basePort, ...(o.params ? { params: o.params } : {}) });
  const crashes: string[] = [];
  const procs = new ReplicaProcesses({ cluster, keyDir, dataDir, args: o.args ?? ['--log-level', 'info'], ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}), onUnexpectedExit: (id, how) => crashes.push(`${id}: ${how}`) });
  if (o.start !== false) procs.startAll();
  const clients: Client[] = [];
  return {
    dir,
    keyDir,
    dataDir,
    cluster,
    procs,
    crashes,
    async client(id, opts = {}) {
      const c = await Client.connect({ cluster, key: readKeyFile(clientKeyIn(keyDir, id), cluster, 'client'), retryMs: opts.retryMs ?? 300, operationTimeoutMs: opts.operationTimeoutMs ?? 20_000, ...(opts.requestsToAll ? { requestsToAll: true } : {}) });
      clients.push(c);
      return c;
    },
    async admin() {
      // Generous: a change may wait out a view change on a machine shared with another e2e file.
      const c = await Client.connect({ cluster, key: readKeyFile(adminKeyIn(keyDir), cluster, 'admin'), retryMs: 300, operationTimeoutMs: 90_000 });
      clients.push(c);
      return c;
    },
    logTail(id, lines = 30) {
      try {
        return readFileSync(procs.logFile(id), 'utf8').trim().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await procs.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
