/**
 * The Prometheus export: what the server observes from the core's outputs and what it reads from
 * the transport at scrape time comes out as the exact counter values, over HTTP.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ExecutedSlot, Outputs } from '../../src/core/io.ts';
import type { NetEventKind, NetReason } from '../../src/net/net-log.ts';
import { ReplicaMetrics, serveMetrics } from '../../src/server/metrics.ts';

const executed = (kind: 'fast' | 'commit'): ExecutedSlot => ({ cert: { kind } } as unknown as ExecutedSlot);
const outputs = (o: Partial<Outputs>): Outputs => ({ persist: [], send: [], replies: [], executed: [], events: [], ...o });

describe('replica metrics', () => {
  const transport = new Map<NetReason, number>([
    ['close: flood', 2],
    ['handshake: bad signature', 1],
    ['drop: not connected', 5],
  ]);
  const byKind: Record<NetEventKind, number> = { refused: 3, undelivered: 5, connection: 0, internal: 0 };
  const { metrics, registry } = ReplicaMetrics.exported({
    view: () => 3,
    executed: () => 41,
    queueDepth: () => 7,
    connectedPeers: () => 2,
    signatures: () => 100,
    verifications: () => 250,
    transport: () => ({ counters: transport, byKind }),
  });
  let close: (() => Promise<void>) | undefined;
  afterAll(async () => close?.());

  it('exports commits by path, fallbacks, view changes, detections, drops by layer and reason, costs and gauges', async () => {
    metrics.observe(outputs({ executed: [executed('fast'), executed('fast'), executed('commit')] }));
    metrics.observe(
      outputs({
        events: [
          { type: 'fast-path-fallback', through: 9, reason: 'misses' },
          { type: 'view-change-started', view: 1, reason: 'timeout' },
          { type: 'misbehaviour', culprit: 2, what: 'equivocation' },
          { type: 'misbehaviour', culprit: 2, what: 'equivocation' },
          { type: 'drop', reason: 'proposal with a bad leader signature', from: 2 },
        ],
      }),
    );
    metrics.drop('server', 'malformed frame');
    metrics.storageWrite('promise', 0.0004);
    const served = await serveMetrics(registry, 0);
    close = served.close;
    const res = await fetch(`http://127.0.0.1:${served.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const lines = new Set(text.split('\n'));
    for (const line of [
      'byzpax_commits_total{path="fast"} 2',
      'byzpax_commits_total{path="classic"} 1',
      'byzpax_fast_path_fallbacks_total 1',
      'byzpax_view_changes_total 1',
      'byzpax_misbehaviour_detected_total{culprit="2"} 2',
      'byzpax_drops_total{layer="core",reason="proposal with a bad leader signature"} 1',
      'byzpax_drops_total{layer="server",reason="malformed frame"} 1',
      'byzpax_drops_total{layer="transport",reason="close: flood"} 2',
      'byzpax_drops_total{layer="transport",reason="handshake: bad signature"} 1',
      'byzpax_transport_events_total{kind="undelivered"} 5',
      'byzpax_signatures_total 100',
      'byzpax_verifications_total 250',
      'byzpax_view 3',
      'byzpax_executed_slot 41',
      'byzpax_input_queue_depth 7',
      'byzpax_connected_peers 2',
      'byzpax_storage_write_seconds_count{kind="promise"} 1',
      'byzpax_storage_write_seconds_bucket{le="0.0005",kind="promise"} 1',
    ]) {
      expect(lines, line).toContain(line);
    }
    // our own undelivered frames are not drops of peer input
    expect(text).not.toContain('reason="drop: not connected"');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect((await fetch(`http://127.0.0.1:${served.port}/other`)).status).toBe(404);
  });

  it('caps the number of distinct drop reasons, so made-up reasons cannot grow the label set', () => {
    const m = new ReplicaMetrics();
    for (let k = 0; k < 200; k++) m.drop('core', `reason ${k}`);
    expect(m.drops.core.size).toBe(65);
    expect(m.drops.core.get('other')).toBe(136);
  });
});
