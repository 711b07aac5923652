/** Replica mesh, client links, reconnection and emulated link faults, over real loopback sockets. */
import { afterEach, describe, expect, it } from 'vitest';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { ReplicaTransport } from '../../src/net/replica-transport.ts';
import { bytes, client, collect, fastLimits, makeCluster, RawPeer, replica, Resources, silent, sleep, waitFor } from './helpers.ts';

const res = new Resources();
afterEach(() => res.closeAll());

async function startMesh(n = 4) {
  const c = await makeCluster(n, 2);
  const ts = Array.from({ length: n }, (_, i) => replica(c, i, res));
  const got = ts.map((t) => collect(t));
  await Promise.all(ts.map((t) => t.start()));
  await waitFor(() => ts.every((t) => t.connectedPeers().length === n - 1 && t.inboundPeers().length === n - 1), 3000, 'full mesh');
  return { c, ts, got };
}

describe('replica mesh', () => {
  it('4 replicas form a full mesh; a broadcast reaches every other replica exactly once, with the right sender', async () => {
    const { ts, got } = await startMesh(4);
    ts.forEach((t, i) => expect(t.connectedPeers()).toEqual([0, 1, 2, 3].filter((j) => j !== i)));
    ts.forEach((t, i) => t.send('all', bytes(i, 42)));
    await waitFor(() => got.every((g) => g.replica.length === 3), 2000, 'broadcasts');
    await sleep(50); // nothing extra trickles in
    got.forEach((g, i) => {
      const froms = g.replica.map((r) => r.from).sort();
      expect(froms).toEqual([0, 1, 2, 3].filter((j) => j !== i));
      for (const r of g.replica) expect([...r.frame]).toEqual([r.from, 42]);
      expect(g.replica.every((r) => r.frame instanceof Uint8Array && !Buffer.isBuffer(r.frame))).toBe(true);
    });
  });

  it('point-to-point frames keep their order', async () => {
    const { ts, got } = await startMesh(4);
    for (let k = 0; k < 200; k++) ts[0]!.send(2, bytes(k));
    await waitFor(() => got[2]!.replica.length === 200, 2000, 'frames');
    expect(got[2]!.replica.map((r) => r.frame[0])).toEqual(Array.from({ length: 200 }, (_, k) => k));
    expect(got[1]!.replica).toHaveLength(0);
  });

  it('a client reaches every replica with its id, and replies reach the client', async () => {
    const { c, ts, got } = await startMesh(4);
    const cl = client(c, 1, res);
    const replies: { from: number; frame: Uint8Array }[] = [];
    cl.onFrame = (from, frame) => replies.push({ from, frame });
    expect(await cl.waitForConnections(4, 3000)).toBe(4);
    expect(cl.connected()).toEqual([0, 1, 2, 3]);
    await waitFor(() => ts.every((t) => t.connectedClients().includes(101)), 2000, 'client admitted');
    cl.send('all', bytes(7));
    cl.send(2, bytes(8));
    await waitFor(() => got.reduce((s, g) => s + g.client.length, 0) === 5, 2000, 'client frames');
    got.forEach((g, i) => {
      expect(g.client.every((x) => x.from === 101)).toBe(true);
      expect(g.client.map((x) => x.frame[0])).toEqual(i === 2 ? [7, 8] : [7]);
    });
    ts.forEach((t, i) => t.sendToClient(101, bytes(50 + i)));
    await waitFor(() => replies.length === 4, 2000, 'replies');
    expect(replies.map((r) => [r.from, r.frame[0]]).sort()).toEqual([[0, 50], [1, 51], [2, 52], [3, 53]]);
    // Replies to a client that is not connected are dropped and counted, not thrown.
    ts[0]!.sendToClient(100, bytes(1));
    expect(ts[0]!.counters.get('drop: client not connected')).toBe(1);
  });

  it('a batch holds the writes of the connections it sends on, releases them at its end, and corks no other', async () => {
    const { c, ts, got } = await startMesh(4);
    const cl = client(c, 1, res);
    const replies: number[] = [];
    cl.onFrame = (_from, frame) => replies.push(frame[0]!);
    expect(await cl.waitForConnections(4, 3000)).toBe(4);
    await waitFor(() => ts[0]!.connectedClients().includes(101), 2000, 'client admitted');
    const corks: string[] = [];
    const internals = ts[0] as unknown as { links: Map<number, { cork(on: boolean): void }>; inboundClients: Map<number, { cork(on: boolean): void }> };
    for (const [id, l] of [...[...internals.links].map(([k, v]) => [`replica ${k}`, v] as const), ...[...internals.inboundClients].map(([k, v]) => [`client ${k}`, v] as const)]) {
      const cork = l.cork.bind(l);
      l.cork = (on) => {
        corks.push(`${on ? 'cork' : 'uncork'} ${id}`);
        cork(on);
      };
    }
    ts[0]!.batch(() => {
      ts[0]!.send(2, bytes(1));
      ts[0]!.send(2, bytes(2));
      ts[0]!.sendToClient(101, bytes(3));
      ts[0]!.batch(() => ts[0]!.send(3, bytes(4))); // nested: part of the same batch
      expect(corks).toEqual(['cork replica 2', 'cork client 101', 'cork replica 3']);
    });
    expect(corks.slice(3).sort()).toEqual(['uncork client 101', 'uncork replica 2', 'uncork replica 3']);
    await waitFor(() => got[2]!.replica.length === 2 && got[3]!.replica.length === 1 && replies.length === 1, 2000, 'frames after the batch');
    expect(got[2]!.replica.map((r) => r.frame[0])).toEqual([1, 2]);
    expect(got[1]!.replica).toEqual([]);
  });

  it('waitForConnections resolves at the timeout with what it has', async () => {
    const c = await makeCluster(4, 1);
    const r0 = replica(c, 0, res);
    await r0.start();
    const cl = client(c, 0, res);
    const t0 = Date.now();
    expect(await cl.waitForConnections(2, 300)).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('frames to a peer without a link are dropped and counted; send never throws', async () => {
    const c = await makeCluster(4, 1);
    const r0 = replica(c, 0, res);
    r0.send(1, bytes(1)); // before start
    await r0.start();
    r0.send('all', bytes(2));
    r0.send(0, bytes(3)); // itself: not a link
    r0.send(99, bytes(4));
    expect(r0.counters.get('drop: not connected')).toBe(4);
    expect(r0.counters.get('drop: bad destination')).toBe(2);
  });

  it('a restarted replica is reconnected by its peers and frames flow again', async () => {
    const { c, ts, got } = await startMesh(4);
    await ts[3]!.close();
    await waitFor(() => [0, 1, 2].every((i) => !ts[i]!.connectedPeers().includes(3) && !ts[i]!.inboundPeers().includes(3)), 2000, 'peers notice');
    ts[0]!.send(3, bytes(1)); // dropped: no link
    expect(ts[0]!.counters.get('drop: not connected')).toBeGreaterThanOrEqual(1);
    await sleep(200); // let the peers back off a little
    const again = res.add(
      new ReplicaTransport({ config: c.config, urls: c.urls, id: 3, signer: new Signer(c.replicaKeys[3]!.seed), verifier: new SignatureVerifier(), logger: silent, limits: fastLimits }),
    );
    const got3 = collect(again);
    await again.start();
    await waitFor(() => again.connectedPeers().length === 3 && again.inboundPeers().length === 3 && [0, 1, 2].every((i) => ts[i]!.connectedPeers().includes(3)), 3000, 'reconnect');
    ts[0]!.send(3, bytes(9));
    again.send('all', bytes(10));
    await waitFor(() => got3.replica.length === 1 && [0, 1, 2].every((i) => got[i]!.replica.some((r) => r.from === 3 && r.frame[0] === 10)), 2000, 'frames after restart');
    expect(got3.replica[0]).toEqual({ from: 0, frame: bytes(9) });
  });

  it('a newer inbound connection from the same replica supersedes the older one', async () => {
    const c = await makeCluster(4, 1);
    const r0 = replica(c, 0, res);
    const got = collect(r0);
    await r0.start();
    const older = res.add(await RawPeer.connect(c.urls[0]!));
    await older.handshake(c, { role: 'replica', id: 1 }, c.replicaKeys[1]!.seed, 0);
    await waitFor(() => r0.inboundPeers().includes(1), 1000, 'first admitted');
    const newer = res.add(await RawPeer.connect(c.urls[0]!));
    await newer.handshake(c, { role: 'replica', id: 1 }, c.replicaKeys[1]!.seed, 0);
    expect((await older.waitClosed()).code).toBe(4000);
    newer.sendSealed(bytes(5));
    await waitFor(() => got.replica.length === 1, 1000, 'frame on newer');
    expect(got.replica[0]).toEqual({ from: 1, frame: bytes(5) });
    expect(r0.inboundPeers()).toEqual([1]);
    expect(r0.counters.get('close: superseded by a newer connection')).toBe(1);
  });
});

describe('link faults', () => {
  it('loss = 1 drops everything; blocked drops everything; healing restores delivery', async () => {
    const { ts, got } = await startMesh(4);
    ts[0]!.setLinkFaults(1, { loss: 1 });
    ts[0]!.setLinkFaults(2, { blocked: true });
    for (let k = 0; k < 20; k++) ts[0]!.send('all', bytes(k));
    await waitFor(() => got[3]!.replica.length === 20, 2000, 'unaffected link');
    await sleep(50);
    expect(got[1]!.replica).toHaveLength(0);
    expect(got[2]!.replica).toHaveLength(0);
    expect(ts[0]!.counters.get('drop: loss (fault injection)')).toBe(20);
    expect(ts[0]!.counters.get('drop: blocked (fault injection)')).toBe(20);
    ts[0]!.setLinkFaults('all', {});
    ts[0]!.send('all', bytes(99));
    await waitFor(() => got[1]!.replica.length === 1 && got[2]!.replica.length === 1, 2000, 'healed');
  });

  it('partial loss drops about that fraction', async () => {
    const { ts, got } = await startMesh(4);
    ts[0]!.setLinkFaults(1, { loss: 0.5 });
    for (let k = 0; k < 400; k++) ts[0]!.send(1, bytes(k % 256));
    await sleep(100);
    const lost = ts[0]!.counters.get('drop: loss (fault injection)') ?? 0;
    expect(got[1]!.replica.length + lost).toBe(400);
    expect(lost).toBeGreaterThan(100);
    expect(lost).toBeLessThan(300);
  });

  it('delayMs holds frames back and keeps FIFO order; jitter may reorder but delivers all', async () => {
    const { ts, got } = await startMesh(4);
    ts[0]!.setLinkFaults(1, { delayMs: 50 });
    ts[0]!.setLinkFaults(2, { delayMs: 5, jitterMs: 30 });
    const sentAt = performance.now();
    for (let k = 0; k < 50; k++) ts[0]!.send('all', bytes(k));
    await waitFor(() => got[1]!.replica.length === 50 && got[2]!.replica.length === 50 && got[3]!.replica.length === 50, 2000, 'all frames');
    // Lower bounds only (wall-clock upper bounds are flaky on a loaded machine).
    const firstArrival = (g: (typeof got)[number]) => Math.min(...g.replica.map((r) => g.arrivals.get(r)!)) - sentAt;
    expect(firstArrival(got[1]!)).toBeGreaterThanOrEqual(48);
    expect(firstArrival(got[2]!)).toBeGreaterThanOrEqual(4);
    expect(got[1]!.replica.map((r) => r.frame[0])).toEqual(Array.from({ length: 50 }, (_, k) => k));
    expect(got[2]!.replica.map((r) => r.frame[0]).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 50 }, (_, k) => k));
    // Lowering the delay at run time does not let new frames overtake held ones.
    ts[0]!.setLinkFaults(1, { delayMs: 80 });
    ts[0]!.send(1, bytes(200));
    ts[0]!.setLinkFaults(1, { delayMs: 0 });
    ts[0]!.send(1, bytes(201));
    await waitFor(() => got[1]!.replica.length === 52, 2000, 'reordering check');
    expect(got[1]!.replica.slice(50).map((r) => r.frame[0])).toEqual([200, 201]);
  });

  it('faults given at construction apply to every replica link, and the client honours its own', async () => {
    const c = await makeCluster(4, 1);
    const ts = [0, 1, 2, 3].map((i) => res.add(new ReplicaTransport({
      config: c.config, urls: c.urls, id: i, signer: new Signer(c.replicaKeys[i]!.seed), verifier: new SignatureVerifier(), logger: silent,
      limits: fastLimits, ...(i === 0 ? { faults: { blocked: true } } : {}),
    })));
    const got = ts.map((t) => collect(t));
    await Promise.all(ts.map((t) => t.start()));
    await waitFor(() => ts.every((t) => t.connectedPeers().length === 3), 3000, 'mesh');
    ts[0]!.send('all', bytes(1));
    ts[1]!.send(0, bytes(2));
    await waitFor(() => got[0]!.replica.length === 1, 2000, 'unblocked direction');
    await sleep(30);
    expect(got.slice(1).every((g) => g.replica.length === 0)).toBe(true);
    const cl = client(c, 0, res);
    cl.setLinkFaults('all', { loss: 1 });
    await cl.waitForConnections(4, 2000);
    cl.send('all', bytes(3));
    await sleep(30);
    expect(got.every((g) => g.client.length === 0)).toBe(true);
    expect(cl.counters.get('drop: loss (fault injection)')).toBe(4);
  });
});
