/**
 * A fresh benchmark cluster: new keys (one per closed-loop client) in a new temp dir, real
 * `byzpax replica` processes on free loopback ports, stopped and deleted by close(). Adapted from
 * test/e2e/local-cluster.ts (the benchmarks do not import test code).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../../src/cluster/cluster-file.ts';
import { freePortRange } from '../../src/cluster/free-ports.ts';
import { clientKeyIn, generateCluster } from '../../src/cluster/generate.ts';
import { readKeyFile } from '../../src/cluster/key-file.ts';
import { Client } from '../../src/client/client.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { ReplicaProcesses } from '../../src/server/replica-processes.ts';
import type { ReplicaStatus } from '../../src/server/replica-server.ts';

export interface BenchClusterOptions {
  n: number;
  mode: 'fast' | 'classic';
  /** Client keys to generate: one per closed-loop client. */
  clients: number;
  /** Injected one-way delay on every replica-to-replica link (ms). */
  delayMs: number;
  /** fsync before messages leave (the replica default); false = --no-fsync. */
  fsync: boolean;
  tickMs?: number;
  logLevel?: string;
  /** Options for node itself (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** One replica started with extra arguments: an attack run. */
  special?: { id: number; args: string[] };
}

/** The replica build does not know an argument we passed (exit code 2 = usage error). */
export class UnsupportedArgsError extends Error {}

export class ClusterStartError extends Error {}

/** Every cluster not yet closed, so that Ctrl-C and process exit can stop them. */
const live = new Set<BenchCluster>();

export class BenchCluster {
  private readonly clients: Client[] = [];
  private closed = false;

  private constructor(
    readonly opts: BenchClusterOptions,
    readonly dir: string,
    readonly keyDir: string,
    readonly cluster: Cluster,
    readonly procs: ReplicaProcesses,
    /** Unexpected exits of replicas, as "id: how". */
    readonly crashes: string[],
  ) {}

  static async start(o: BenchClusterOptions): Promise<BenchCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'byzpax-bench-'));
    const keyDir = join(dir, 'keys');
    const dataDir = join(dir, 'data');
    const basePort = await freePortRange(o.n);
    const { cluster } = generateCluster({ dir: keyDir, n: o.n, mode: o.mode, clients: Math.max(1, o.clients), basePort });
    const args = ['--log-level', o.logLevel ?? 'warn', '--delay-ms', String(o.delayMs), '--tick-ms', String(o.tickMs ?? 10), ...(o.fsync ? [] : ['--no-fsync'])];
    const crashes: string[] = [];
    const procs = new ReplicaProcesses({ cluster, keyDir, dataDir, args, ...(o.nodeArgs ? { nodeArgs: o.nodeArgs } : {}), onUnexpectedExit: (id, how) => crashes.push(`${id}: ${how}`) });
    const bc = new BenchCluster(o, dir, keyDir, cluster, procs, crashes);
    live.add(bc);
    try {
      for (let id = 0; id < o.n; id++) procs.start(id, o.special?.id === id ? o.special.args : []);
      await bc.waitFormed(60_000);
      return bc;
    } catch (e) {
      await bc.close();
      throw e;
    }
  }

  /** Honest replicas all in a normal view and connected to each other (the special one may be anything). */
  private async waitFormed(timeoutMs: number): Promise<void> {
    const honest = [...Array(this.opts.n).keys()].filter((i) => i !== this.opts.special?.id);
    const special = this.opts.special?.id;
    const started = Date.now();
    const ok = await this.procs.waitFor(() => {
      // Any exit during start-up ends the wait: a crashed replica will not come back by itself.
      if (this.crashes.length > 0) return true;
      const formed = honest.every((i) => {
        const s = this.procs.status[i];
        return s !== undefined && s.normal && honest.every((j) => j === i || s.peers.includes(j));
      });
      // Give a special replica time to refuse its arguments (a usage error exits within a second or two).
      return formed && (special === undefined || this.procs.status[special] !== undefined || Date.now() - started > 5000);
    }, timeoutMs);
    if (special !== undefined) {
      const crash = this.crashes.find((c) => c.startsWith(`${special}:`));
      if (crash) {
        const log = this.logTail(special, 5);
        if (crash.endsWith('exit code 2')) throw new UnsupportedArgsError(`replica ${special} refused ${this.opts.special!.args.join(' ')}: ${log.split('\n').filter((l) => l.startsWith('byzpax:')).join(' ') || log}`);
        throw new ClusterStartError(`replica ${special} (started with ${this.opts.special!.args.join(' ')}) exited (${crash}):\n${log}`);
      }
    }
    if (!ok || this.crashes.length > 0) {
      const tails = [...Array(this.opts.n).keys()].map((i) => `--- replica ${i} ---\n${this.logTail(i, 8)}`).join('\n');
      const what = this.crashes.length ? `replicas exited during start-up (${this.crashes.join(', ')})` : `the cluster did not form within ${timeoutMs} ms`;
      throw new ClusterStartError(`n=${this.opts.n} ${this.opts.mode}: ${what}\n${tails}`);
    }
  }

  get n(): number {
    return this.opts.n;
  }

  /** Child process ids (ReplicaProcesses keeps them private; read through a cast until it exposes them). */
  pid(id: number): number | undefined {
    return this.procs.pid(id);
  }

  status(id: number): ReplicaStatus | undefined {
    return this.procs.status[id];
  }

  async connectClients(count: number, opts: { retryMs?: number; operationTimeoutMs?: number; requestsToAll?: boolean } = {}): Promise<Client[]> {
    const out: Client[] = [];
    // The benchmark's clients share one process, so they share one verifier, as an application
    // serving many sessions would: each replica's signature over a slot's replies is checked once.
    const verifier = new SignatureVerifier();
    for (let first = 0; first < count; first += 16) {
      const ids = [...Array(Math.min(16, count - first)).keys()].map((i) => first + i);
      const batch = await Promise.all(
        ids.map((id) =>
          Client.connect({
            cluster: this.cluster,
            key: readKeyFile(clientKeyIn(this.keyDir, id), this.cluster, 'client'),
            connectTimeoutMs: 15_000,
            retryMs: opts.retryMs ?? 500,
            operationTimeoutMs: opts.operationTimeoutMs ?? 15_000,
            ...(opts.requestsToAll ? { requestsToAll: true } : {}),
            verifier,
          }),
        ),
      );
      this.clients.push(...batch);
      out.push(...batch);
    }
    return out;
  }

  logTail(id: number, lines = 30): string {
    try {
      return readFileSync(this.procs.logFile(id), 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    await this.procs.stop();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** Stops every cluster still running (Ctrl-C). */
  static async closeAll(): Promise<void> {
    await Promise.all([...live].map((c) => c.close()));
  }

  /** Last resort on process exit: SIGKILL whatever is still running (synchronous). */
  static killAllNow(): void {
    for (const c of live) {
      for (let id = 0; id < c.n; id++) {
        const pid = c.pid(id);
        if (pid !== undefined) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      rmSync(c.dir, { recursive: true, force: true });
    }
  }
}
