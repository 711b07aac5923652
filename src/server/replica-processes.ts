/**
 * A cluster's replicas as child processes on this machine: `byzpax up`, the end-to-end tests and
 * the benchmarks all start real `byzpax replica` processes through this one class, so what they
 * test is what a user runs. Each child logs to <data>/replica-<id>.log and reports its status to
 * the parent over IPC every 250 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../cluster/cluster-file.ts';
import { clusterFileIn, replicaKeyIn } from '../cluster/generate.ts';
import type { LinkFaults } from '../net/link-faults.ts';
import type { ReplicaStatus } from './replica-server.ts';

const BIN = fileURLToPath(new URL('../../bin/byzpax', import.meta.url));

/** Messages a parent sends a replica process over IPC (`byzpax replica` carries them out). */
export type ReplicaControl = { type: 'link-faults'; replica: number; peer: number | 'all'; faults: LinkFaults };

export interface ReplicaProcessesOptions {
  cluster: Cluster;
  /** Directory with cluster.json and the replica-<id>.key files. */
  keyDir: string;
  /** Each replica keeps its state in <dataDir>/replica-<id> and logs to <dataDir>/replica-<id>.log. */
  dataDir: string;
  /** Extra `byzpax replica` arguments for every replica (e.g. --log-level). */
  args?: string[];
  /** Options for node itself, before the script (e.g. --cpu-prof to profile the replicas). */
  nodeArgs?: string[];
  /** Called when a replica exits without having been told to (crash, failed start). */
  onUnexpectedExit?: (id: number, how: string) => void;
}

export class ReplicaProcesses {
  private readonly children: (ChildProcess | undefined)[];
  /** Latest status each running replica reported; undefined while down or starting. */
  readonly status: (ReplicaStatus | undefined)[];
  private stopping = false;

  constructor(private readonly opts: ReplicaProcessesOptions) {
    this.children = opts.cluster.urls.map(() => undefined);
    this.status = opts.cluster.urls.map(() => undefined);
  }

  get n(): number {
    return this.children.length;
  }

  logFile(id: number): string {
    return join(this.opts.dataDir, `replica-${id}.log`);
  }

  isRunning(id: number): boolean {
    return this.children[id] !== undefined;
  }

  running(): number[] {
    return this.children.flatMap((c, i) => (c ? [i] : []));
  }

  start(id: number, extraArgs: string[] = []): void {
    this.startGroup([id], extraArgs);
  }

  /**
   * One process for several replicas: how colluding Byzantine replicas run (`--byzantine collude`
   * shares what they see inside the process). Killing any of them kills the group.
   */
  startGroup(ids: number[], extraArgs: string[] = []): void {
    for (const id of ids) if (this.children[id]) throw new Error(`replica ${id} is already running`);
    mkdirSync(this.opts.dataDir, { recursive: true });
    const log = openSync(this.logFile(ids[0]!), 'a');
    const args = [
      ...(this.opts.nodeArgs ?? []),
      BIN,
      'replica',
      '--cluster',
      clusterFileIn(this.opts.keyDir),
      ...ids.flatMap((id) => ['--key', replicaKeyIn(this.opts.keyDir, id), '--data', join(this.opts.dataDir, `replica-${id}`)]),
      ...(this.opts.args ?? []),
      ...extraArgs,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', log, log, 'ipc'] });
    closeSync(log);
    for (const id of ids) this.children[id] = child;
    child.on('message', (m: { type?: string; status?: ReplicaStatus }) => {
      const id = m?.status?.id;
      if (m?.type === 'status' && id !== undefined && this.children[id] === child) this.status[id] = m.status;
    });
    child.on('exit', (code, signal) => {
      for (const id of ids) {
        if (this.children[id] !== child) continue;
        this.children[id] = undefined;
        this.status[id] = undefined;
        if (!this.stopping) this.opts.onUnexpectedExit?.(id, signal ?? `exit code ${code}`);
      }
    });
  }

  /** Changes the injected faults on `replica`'s links to `peer` at run time (partitions, delay, loss). */
  setLinkFaults(replica: number, peer: number | 'all', faults: LinkFaults): void {
    const control: ReplicaControl = { type: 'link-faults', replica, peer, faults };
    this.children[replica]?.send(control);
  }

  /** The operating-system process id of the process running `replica`. */
  pid(replica: number): number | undefined {
    return this.children[replica]?.pid;
  }

  startAll(): void {
    for (let i = 0; i < this.n; i++) this.start(i);
  }

  /** kill -9 (of the whole process, if it hosts a group): no shutdown hook runs, whatever was not fsync'd is lost. */
  kill(id: number): void {
    const c = this.children[id];
    if (!c) return;
    for (let i = 0; i < this.children.length; i++) {
      if (this.children[i] !== c) continue;
      this.children[i] = undefined;
      this.status[i] = undefined;
    }
    c.kill('SIGKILL');
  }

  /** The leader by the view most running replicas report (undefined before any status arrived). */
  leader(): number | undefined {
    const votes = new Map<number, number>();
    for (const s of this.status) if (s?.normal) votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
    let best: number | undefined;
    for (const [l, c] of votes) if (best === undefined || c > votes.get(best)!) best = l;
    return best;
  }

  /** Resolves true once every running replica is in a normal view and connected to every running peer. */
  async formed(timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => {
      const up = this.running();
      return (
        up.length > 0 &&
        up.every((i) => {
          const s = this.status[i];
          return s !== undefined && s.normal && up.every((j) => j === i || s.peers.includes(j));
        })
      );
    }, timeoutMs);
  }

  /** Resolves true once every running replica has executed at least `slot`. */
  async executedAtLeast(slot: number, timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.running().every((i) => (this.status[i]?.executed ?? -1) >= slot), timeoutMs);
  }

  async waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (predicate()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return predicate();
  }

  /** SIGTERM to every running replica (clean shutdown), SIGKILL to any still running after 5 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    const live = [...new Set(this.children.flatMap((c) => (c ? [c] : [])))];
    await Promise.all(
      live.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const force = setTimeout(() => c.kill('SIGKILL'), 5000);
            c.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    this.children.fill(undefined);
    this.status.fill(undefined);
    this.stopping = false;
  }
}
