/** Resource limits over real sockets: rate limits, flood disconnects, queue caps, frame sizes, dead peers. */
import { afterEach, describe, expect, it } from 'vitest';
import { bytes, client, collect, FakeReplicaServer, makeCluster, portOf, RawPeer, replica, Resources, sleep, waitFor } from './helpers.ts';

const res = new Resources();
afterEach(() => res.closeAll());

async function mesh(limitsFor: (id: number) => object = () => ({})) {
  const c = await makeCluster(4, 2);
  const ts = [0, 1, 2, 3].map((i) => replica(c, i, res, limitsFor(i)));
  const got = ts.map((t) => collect(t));
  await Promise.all(ts.map((t) => t.start()));
  await waitFor(() => ts.every((t) => t.connectedPeers().length === 3 && t.inboundPeers().length === 3), 3000, 'mesh');
  return { c, ts, got };
}

describe('inbound rate limits', () => {
  it('a flooding replica has its excess dropped while another replica is still heard', async () => {
    const { ts, got } = await mesh((i) => (i === 0 ? { replicaMsgsPerSec: 200, replicaMsgBurst: 50, floodDropsPerSec: 1e9 } : {}));
    for (let k = 0; k < 3000; k++) ts[1]!.send(0, bytes(1));
    await sleep(20);
    for (let k = 0; k < 20; k++) ts[2]!.send(0, bytes(2, k));
    await waitFor(() => got[0]!.replica.filter((r) => r.from === 2).length === 20, 2000, "the quiet peer's frames");
    await waitFor(() => got[0]!.replica.filter((r) => r.from === 1).length + (ts[0]!.counters.get('drop: rate limited') ?? 0) === 3000, 2000, 'flood processed');
    const fromFlooder = got[0]!.replica.filter((r) => r.from === 1).length;
    expect(fromFlooder).toBeGreaterThanOrEqual(50);
    expect(fromFlooder).toBeLessThan(200); // burst plus at most a second's worth
    expect(ts[0]!.counters.get('drop: rate limited')).toBeGreaterThan(2800);
    expect(ts[0]!.inboundPeers()).toContain(1); // below the flood threshold: dropped, not disconnected
  });

  it('a byte-rate limit drops large frames beyond the budget', async () => {
    const { ts, got } = await mesh((i) => (i === 0 ? { replicaBytesPerSec: 100_000, replicaBytesBurst: 100_000, maxReplicaFrameBytes: 50_000, floodDropsPerSec: 1e9 } : {}));
    const big = new Uint8Array(40_000);
    for (let k = 0; k < 10; k++) ts[1]!.send(0, big);
    await waitFor(() => got[0]!.replica.length + (ts[0]!.counters.get('drop: rate limited') ?? 0) === 10, 2000, 'frames processed');
    expect(got[0]!.replica.length).toBeLessThanOrEqual(3);
    expect(got[0]!.replica.length).toBeGreaterThanOrEqual(2);
  });

  it('a peer that keeps flooding is disconnected (and reconnects later)', async () => {
    const { ts, got } = await mesh((i) => (i === 0 ? { replicaMsgsPerSec: 100, replicaMsgBurst: 10, floodDropsPerSec: 100 } : {}));
    for (let k = 0; k < 1000; k++) ts[1]!.send(0, bytes(1));
    await waitFor(() => (ts[0]!.counters.get('close: flood') ?? 0) === 1, 2000, 'flood disconnect');
    // Nothing more is delivered from the closed connection, so a frame that arrives came over a new one.
    await waitFor(() => {
      ts[1]!.send(0, bytes(2));
      return got[0]!.replica.some((r) => r.frame[0] === 2);
    }, 3000, 'delivery after reconnect');
  });

  it('a flooding client is rate limited per connection', async () => {
    const c = await makeCluster(4, 2);
    const r0 = replica(c, 0, res, { clientMsgsPerSec: 100, clientMsgBurst: 10, floodDropsPerSec: 1e9 });
    const got = collect(r0);
    await r0.start();
    const flooder = client(c, 0, res);
    const quiet = client(c, 1, res);
    await flooder.waitForConnections(1, 2000);
    await quiet.waitForConnections(1, 2000);
    for (let k = 0; k < 500; k++) flooder.send(0, bytes(1));
    for (let k = 0; k < 5; k++) quiet.send(0, bytes(2));
    await waitFor(() => got.client.filter((x) => x.from === 101).length === 5, 2000, 'quiet client');
    await waitFor(() => got.client.filter((x) => x.from === 100).length + (r0.counters.get('drop: rate limited') ?? 0) === 500, 2000, 'flood processed');
    expect(got.client.filter((x) => x.from === 100).length).toBeLessThan(100);
  });
});

describe('frame size limits', () => {
  it('a replica frame far above the handshake bound passes once authenticated', async () => {
    const { ts, got } = await mesh();
    const big = new Uint8Array(4 * 1024 * 1024).fill(9);
    ts[1]!.send(0, big);
    await waitFor(() => got[0]!.replica.length === 1, 3000, 'big frame');
    expect(got[0]!.replica[0]!.frame.byteLength).toBe(big.byteLength);
  });

  it('a client frame above maxClientFrameBytes closes the connection and is not delivered', async () => {
    const c = await makeCluster(4, 1);
    const r0 = replica(c, 0, res, { maxClientFrameBytes: 64 * 1024 });
    const got = collect(r0);
    await r0.start();
    const raw = res.add(await RawPeer.connect(c.urls[0]!));
    await raw.handshake(c, { role: 'client', id: 100 }, c.clientKeys[0]!.seed, 0);
    raw.sendSealed(new Uint8Array(64 * 1024)); // exactly the limit: fine
    raw.sendSealed(new Uint8Array(64 * 1024 + 1));
    expect((await raw.waitClosed()).code).toBe(1009);
    expect(got.client).toHaveLength(1);
    expect(r0.counters.get('close: oversize frame')).toBe(1);
  });

  it('a replica frame above maxReplicaFrameBytes closes the link (which then reconnects)', async () => {
    const { ts, got } = await mesh((i) => (i === 0 ? { maxReplicaFrameBytes: 100_000 } : {}));
    ts[1]!.send(0, new Uint8Array(100_001));
    await waitFor(() => (ts[0]!.counters.get('close: oversize frame') ?? 0) === 1, 2000, 'oversize close');
    expect(got[0]!.replica).toHaveLength(0);
    // Like the protocol, retransmit until the link is back (the first sends may hit the dying socket).
    await waitFor(() => {
      ts[1]!.send(0, bytes(1));
      return got[0]!.replica.length > 0;
    }, 3000, 'small frame after reconnect');
  });
});

describe('outgoing queue cap', () => {
  it('frames to a peer that stopped reading are dropped instead of growing the buffer', async () => {
    const c = await makeCluster(4, 1);
    const cap = 1024 * 1024;
    const stuck = res.add(await FakeReplicaServer.start(c, portOf(c.urls[1]!), 1, c.replicaKeys[1]!.seed, { pauseAfterHandshake: true }));
    const r0 = replica(c, 0, res, { maxQueuedBytesPerPeer: cap });
    await r0.start();
    await waitFor(() => r0.connectedPeers().includes(1), 2000, 'link to the stuck peer');
    const frame = new Uint8Array(64 * 1024);
    let maxQueued = 0;
    // Enough to fill the kernel's socket buffers on both ends, then our own.
    for (let k = 0; k < 1500; k++) {
      r0.send(1, frame);
      maxQueued = Math.max(maxQueued, r0.queuedBytes(1));
    }
    expect(r0.counters.get('drop: send buffer full')).toBeGreaterThan(0);
    expect(maxQueued).toBeLessThanOrEqual(cap + frame.byteLength);
    expect(stuck.frames.length).toBe(0);
  });

  it('emulated delay counts towards the cap', async () => {
    const { ts } = await mesh((i) => (i === 0 ? { maxQueuedBytesPerPeer: 100_000 } : {}));
    ts[0]!.setLinkFaults(1, { delayMs: 1000 });
    for (let k = 0; k < 20; k++) ts[0]!.send(1, new Uint8Array(10_000));
    expect(ts[0]!.queuedBytes(1)).toBe(100_000);
    expect(ts[0]!.counters.get('drop: send buffer full')).toBe(10);
  });
});

describe('dead-peer detection', () => {
  it('an inbound connection that stops answering pings is terminated', async () => {
    const c = await makeCluster(4, 1);
    const r0 = replica(c, 0, res, { pingIntervalMs: 100 });
    await r0.start();
    const mute = res.add(await RawPeer.connect(c.urls[0]!, { autoPong: false }));
    await mute.handshake(c, { role: 'client', id: 100 }, c.clientKeys[0]!.seed, 0);
    await waitFor(() => r0.connectedClients().includes(100), 1000, 'admitted');
    await mute.waitClosed(2000);
    expect(r0.counters.get('close: dead peer (no pong)')).toBe(1);
    expect(r0.connectedClients()).toEqual([]);
  });

  it('a dialled link whose peer stops answering is terminated and redialled', async () => {
    const c = await makeCluster(4, 1);
    const stuck = res.add(await FakeReplicaServer.start(c, portOf(c.urls[1]!), 1, c.replicaKeys[1]!.seed, { pauseAfterHandshake: true }));
    const r0 = replica(c, 0, res, { pingIntervalMs: 100 });
    await r0.start();
    await waitFor(() => r0.connectedPeers().includes(1), 2000, 'link up');
    await waitFor(() => (r0.counters.get('close: dead peer (no pong)') ?? 0) >= 1, 2000, 'dead peer');
    await waitFor(() => stuck.sockets.length >= 2, 2000, 'redial');
  });
});
