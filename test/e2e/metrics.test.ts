/**
 * `byzpax replica --metrics-port P`: a real replica process serves Prometheus text that agrees
 * with what happened — the slots it executed, by path; its peers; its signature work; and a
 * malformed handshake counted as a transport drop.
 */
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePortRange, startLocalCluster, type LocalCluster } from './local-cluster.ts';

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in:\n${text}`);
  return Number(line.slice(name.length + 1));
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('byzpax replica --metrics-port', () => {
  let lc: LocalCluster | undefined;
  afterAll(async () => lc?.close());

  it('exports commits by path, peers, signatures, and a refused handshake as a transport drop', async () => {
    const metricsPort = await freePortRange(1);
    lc = await startLocalCluster({ n: 4, mode: 'fast', start: false });
    lc.procs.startGroup([0], ['--metrics-port', String(metricsPort)]);
    for (const id of [1, 2, 3]) lc.procs.startGroup([id]);
    expect(await lc.procs.formed(60_000)).toBe(true);

    const c = await lc.client(0);
    for (let k = 0; k < 5; k++) await c.put(`k${k}`, `v${k}`);

    // A dialler that sends garbage instead of a HELLO: the transport refuses it and counts why.
    const ws = new WebSocket(lc.cluster.urls[0]!);
    await new Promise<void>((resolve) => {
      ws.once('message', () => ws.send(Buffer.from([0xff, 0x00, 0x13])));
      ws.once('close', () => resolve());
      ws.once('error', () => resolve());
    });

    let text = '';
    for (let tries = 0; tries < 50; tries++) {
      text = await scrape(metricsPort);
      if (text.includes('reason="handshake: malformed"') && metric(text, 'byzpax_executed_slot') >= 5) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const fast = metric(text, 'byzpax_commits_total{path="fast"}');
    const classic = metric(text, 'byzpax_commits_total{path="classic"}');
    // A fresh replica executes each slot once, so the counters add up to the last executed slot.
    expect(fast + classic).toBe(metric(text, 'byzpax_executed_slot'));
    expect(fast + classic).toBeGreaterThanOrEqual(5);
    expect(metric(text, 'byzpax_view')).toBe(0);
    expect(metric(text, 'byzpax_connected_peers')).toBe(3);
    expect(metric(text, 'byzpax_signatures_total')).toBeGreaterThan(0);
    expect(metric(text, 'byzpax_verifications_total')).toBeGreaterThan(0);
    expect(metric(text, 'byzpax_drops_total{layer="transport",reason="handshake: malformed"}')).toBe(1);
    expect(text).toMatch(/^byzpax_storage_write_seconds_count\{kind="promise"\} [1-9]/m);
    expect(text).toContain('process_resident_memory_bytes');
  });
});
