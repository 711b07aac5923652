/**
 * What a replica process exports for Prometheus (`byzpax replica --metrics-port P`).
 *
 * The server counts into plain typed fields as it carries out the core's outputs (no prom-client
 * call on the hot path); prom-client reads them only when scraped. Labels come from fixed sets
 * (path, layer, kind, culprit id) or from drop reasons, whose number is capped: a peer that makes
 * up reasons cannot grow the label set without bound.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Outputs } from '../core/io.ts';
import { netEventKind, type NetEventKind, type NetReason } from '../net/net-log.ts';

/** Where an input was dropped: in the core (protocol checks), the server (frame checks) or the transport. */
export type DropLayer = 'core' | 'server';

/** Distinct drop reasons kept per layer; later ones are counted as 'other'. */
const MAX_REASONS = 64;

/** What the metrics read at scrape time from the live replica. */
export interface MetricsProbe {
  view(): number;
  executed(): number;
  queueDepth(): number;
  connectedPeers(): number;
  signatures(): number;
  verifications(): number;
  transport(): { counters: ReadonlyMap<NetReason, number>; byKind: Readonly<Record<NetEventKind, number>> };
}

export class ReplicaMetrics {
  /** Decisions executed, by the certificate they executed on. */
  readonly commits = { fast: 0, classic: 0 };
  fallbacks = 0;
  viewChanges = 0;
  readonly misbehaviour = new Map<number, number>();
  readonly drops: Record<DropLayer, Map<string, number>> = { core: new Map(), server: new Map() };
  private readonly writeHistogram: Histogram<'kind'> | undefined;

  constructor(private readonly registry?: Registry) {
    if (!registry) return;
    this.writeHistogram = new Histogram({
      name: 'byzpax_storage_write_seconds',
      help: 'Storage write latency: promises (fsync before messages leave) and records (written behind)',
      labelNames: ['kind'],
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
  }

  /** Counts what one step produced: decisions by path, fallbacks, view changes, detections, drops. */
  observe(out: Outputs): void {
    for (const e of out.executed) this.commits[e.cert.kind === 'fast' ? 'fast' : 'classic']++;
    for (const ev of out.events) {
      switch (ev.type) {
        case 'fast-path-fallback':
          this.fallbacks++;
          break;
        case 'view-change-started':
          this.viewChanges++;
          break;
        case 'misbehaviour':
          this.misbehaviour.set(ev.culprit, (this.misbehaviour.get(ev.culprit) ?? 0) + 1);
          break;
        case 'drop':
          this.drop('core', ev.reason);
          break;
      }
    }
  }

  drop(layer: DropLayer, reason: string): void {
    const m = this.drops[layer];
    const key = m.has(reason) || m.size < MAX_REASONS ? reason : 'other';
    m.set(key, (m.get(key) ?? 0) + 1);
  }

  storageWrite(kind: 'promise' | 'record', seconds: number): void {
    this.writeHistogram?.observe({ kind }, seconds);
  }

  /** Registers everything with `registry` (and the process's default metrics), read from `probe` when scraped. */
  static exported(probe: MetricsProbe): { metrics: ReplicaMetrics; registry: Registry } {
    const registry = new Registry();
    const metrics = new ReplicaMetrics(registry);
    collectDefaultMetrics({ register: registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[], fill: (set: (labels: Record<L, string | number>, v: number) => void) => void) =>
      new Counter<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          fill((labels, v) => this.inc(labels, v));
        },
      });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    counter('byzpax_commits_total', 'Slots executed, by the certificate they executed on (fast or classic)', ['path'], (set) => {
      set({ path: 'fast' }, metrics.commits.fast);
      set({ path: 'classic' }, metrics.commits.classic);
    });
    counter('byzpax_fast_path_fallbacks_total', 'Times the fast path gave up and slots went the classic way', [], (set) => set({}, metrics.fallbacks));
    counter('byzpax_view_changes_total', 'View changes this replica started', [], (set) => set({}, metrics.viewChanges));
    counter('byzpax_misbehaviour_detected_total', 'Proven misbehaviour detected, by culprit replica', ['culprit'], (set) => {
      for (const [culprit, v] of metrics.misbehaviour) set({ culprit }, v);
    });
    counter('byzpax_drops_total', 'Inputs dropped, by layer and reason (transport: what peers sent that it refused)', ['layer', 'reason'], (set) => {
      for (const layer of ['core', 'server'] as const) for (const [reason, v] of metrics.drops[layer]) set({ layer, reason }, v);
      const t = probe.transport();
      for (const [reason, v] of t.counters) if (v > 0 && netEventKind(reason) === 'refused') set({ layer: 'transport', reason }, v);
    });
    counter('byzpax_transport_events_total', 'Transport events by kind (refused, undelivered, connection, internal)', ['kind'], (set) => {
      for (const [kind, v] of Object.entries(probe.transport().byKind)) set({ kind }, v);
    });
    counter('byzpax_signatures_total', 'Ed25519 signatures made', [], (set) => set({}, probe.signatures()));
    counter('byzpax_verifications_total', 'Ed25519 signature checks run (cache hits excluded)', [], (set) => set({}, probe.verifications()));
    gauge('byzpax_view', 'The view this replica is in', probe.view);
    gauge('byzpax_executed_slot', 'The last slot this replica executed', probe.executed);
    gauge('byzpax_input_queue_depth', 'Inputs waiting to be stepped through the core', probe.queueDepth);
    gauge('byzpax_connected_peers', 'Replicas this replica has a link to', probe.connectedPeers);
    return { metrics, registry };
  }
}

/** Serves `registry` as Prometheus text on GET /metrics. Resolves once listening. */
export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found: try GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
