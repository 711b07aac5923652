/** Shared fixtures for the transport tests: free loopback ports, clusters, raw peers. */
import { createServer } from 'node:net';
import { pino, type Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { ClusterConfig } from '../../src/core/config.ts';
import { generateKeyPair, type KeyPair } from '../../src/crypto/keys.ts';
import { Signer } from '../../src/crypto/signer.ts';
import { SignatureVerifier } from '../../src/crypto/verifier.ts';
import { ClientTransport } from '../../src/net/client-transport.ts';
import { HandshakeDialler, HandshakeServer, type PeerIdentity } from '../../src/net/handshake.ts';
import type { TransportLimits } from '../../src/net/limits.ts';
import { ReplicaTransport } from '../../src/net/replica-transport.ts';
import { ChannelCipher } from '../../src/net/secure-channel.ts';

export const silent: Logger = pino({ level: 'silent' });

/** Limits that make tests fast: quick reconnects and handshake timeouts. */
export const fastLimits: Partial<TransportLimits> = { reconnectMinMs: 20, reconnectMaxMs: 150, handshakeTimeoutMs: 1000, pingIntervalMs: 2000 };

/** Ports that were free a moment ago (bind to 0, read, close). */
export async function freePorts(k: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: k }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface TestCluster {
  config: ClusterConfig;
  urls: string[];
  replicaKeys: KeyPair[];
  clientKeys: KeyPair[];
}

/** n replicas (f = ⌊(n−1)/3⌋) on fresh loopback ports, clients with ids 100, 101, … */
export async function makeCluster(n = 4, clients = 1, clusterId = 'net-test'): Promise<TestCluster> {
  const replicaKeys = Array.from({ length: n }, () => generateKeyPair());
  const clientKeys = Array.from({ length: clients }, () => generateKeyPair());
  const ports = await freePorts(n);
  return {
    config: {
      clusterId,
      n,
      f: Math.floor((n - 1) / 3),
      replicas: replicaKeys.map((k, id) => ({ id, publicKey: k.publicKey })),
      clients: clientKeys.map((k, i) => ({ id: 100 + i, publicKey: k.publicKey })),
    },
    urls: ports.map((p) => `ws://127.0.0.1:${p}`),
    replicaKeys,
    clientKeys,
  };
}

/** Everything a test opened, closed in afterEach. */
export class Resources {
  private closers: (() => Promise<unknown> | unknown)[] = [];
  add<T extends { close(): Promise<unknown> | unknown }>(x: T): T {
    this.closers.push(() => x.close());
    return x;
  }
  async closeAll(): Promise<void> {
    const cs = this.closers.splice(0);
    await Promise.all(cs.map((c) => c()));
  }
}

export function replica(c: TestCluster, id: number, res: Resources, limits: Partial<TransportLimits> = {}): ReplicaTransport {
  return res.add(
    new ReplicaTransport({
      config: c.config,
      urls: c.urls,
      id,
      signer: new Signer(c.replicaKeys[id]!.seed),
      verifier: new SignatureVerifier(),
      logger: silent,
      limits: { ...fastLimits, ...limits },
    }),
  );
}

export function client(c: TestCluster, index: number, res: Resources, limits: Partial<TransportLimits> = {}): ClientTransport {
  return res.add(
    new ClientTransport({
      config: c.config,
      urls: c.urls,
      id: 100 + index,
      signer: new Signer(c.clientKeys[index]!.seed),
      verifier: new SignatureVerifier(),
      limits: { ...fastLimits, ...limits },
    }),
  );
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const bytes = (...xs: number[]) => new Uint8Array(xs);

/** Collects frames delivered to a replica transport. */
export interface Got {
  from: number;
  frame: Uint8Array;
}
export function collect(t: ReplicaTransport): { replica: Got[]; client: Got[]; arrivals: Map<Got, number> } {
  const got = { replica: [] as Got[], client: [] as Got[], arrivals: new Map<Got, number>() };
  const rec = (list: Got[], g: Got) => {
    list.push(g);
    got.arrivals.set(g, performance.now());
  };
  t.onReplicaFrame = (from, frame) => rec(got.replica, { from, frame });
  t.onClientFrame = (from, frame) => rec(got.client, { from, frame });
  return got;
}

/** A raw WebSocket with its events recorded: for speaking the handshake (or garbage) by hand. */
export class RawPeer {
  readonly received: Uint8Array[] = [];
  closed: { code: number; reason: string } | undefined;
  /** The connection's keys once `handshake` succeeded: `sendSealed` uses them. */
  cipher: ChannelCipher | undefined;
  private waiting: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (d) => {
      this.received.push(new Uint8Array(d as Buffer));
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string, opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<RawPeer> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
    const p = new RawPeer(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return p;
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  async next(timeoutMs = 2000): Promise<Uint8Array> {
    const end = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (this.closed) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) before a message arrived`);
      if (Date.now() > end) throw new Error('no message');
      await new Promise<void>((r) => {
        this.waiting.push(r);
        setTimeout(r, 20);
      });
    }
    return this.received.shift()!;
  }

  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closed !== undefined, timeoutMs, 'socket close');
    return this.closed!;
  }

  /** Runs the dialler half of the handshake as `self` with `seed`, towards replica `server`. */
  async handshake(c: TestCluster, self: PeerIdentity, seed: Uint8Array, server: number): Promise<void> {
    const d = new HandshakeDialler(c.config, self, new Signer(seed), new SignatureVerifier());
    const r = d.answerChallenge(server, await this.next());
    if (!r.ok) throw new Error(`challenge rejected: ${r.reason}`);
    this.ws.send(r.value.hello);
    const w = d.checkWelcome(r.value.state, await this.next());
    if (!w.ok) throw new Error(`welcome rejected: ${w.reason}`);
    this.cipher = ChannelCipher.forDialler(w.value);
  }

  /** Sends a frame sealed with the connection's keys, as a real peer does after the handshake. */
  sendSealed(frame: Uint8Array): void {
    if (!this.cipher) throw new Error('no handshake yet');
    this.ws.send(this.cipher.seal(frame));
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * A stand-in replica server that runs the real server half of the handshake but is otherwise
 * under the test's control (records frames; can stop reading to emulate a stuck peer).
 */
export class FakeReplicaServer {
  readonly frames: Uint8Array[] = [];
  readonly sockets: WebSocket[] = [];
  private readonly wss: WebSocketServer;

  private constructor(wss: WebSocketServer, hs: HandshakeServer, opts: { pauseAfterHandshake?: boolean }) {
    this.wss = wss;
    wss.on('connection', (ws) => {
      ws.binaryType = 'nodebuffer';
      this.sockets.push(ws);
      const ch = hs.newChallenge();
      ws.send(ch.message);
      let cipher: ChannelCipher | undefined;
      ws.on('message', (d) => {
        const b = new Uint8Array(d as Buffer);
        if (!cipher) {
          const r = hs.acceptHello(ch, b);
          if (!r.ok) return ws.close(1008, r.reason);
          ws.send(r.value.welcome);
          cipher = ChannelCipher.forServer(r.value.keys);
          if (opts.pauseAfterHandshake) ws.pause();
          return;
        }
        const frame = cipher.open(b);
        if (!frame) return ws.close(1008, 'bad frame authentication');
        this.frames.push(frame);
      });
    });
  }

  static async start(c: TestCluster, port: number, id: number, seed: Uint8Array, opts: { pauseAfterHandshake?: boolean } = {}): Promise<FakeReplicaServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    return new FakeReplicaServer(wss, new HandshakeServer(c.config, id, new Signer(seed), new SignatureVerifier()), opts);
  }

  close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    return new Promise((r) => this.wss.close(() => r()));
  }
}

export const portOf = (url: string) => Number(new URL(url).port);
