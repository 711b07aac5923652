/**
 * The accepting side of a replica: one HTTP server on the replica's URL upgrades to WebSocket,
 * runs the server half of the handshake, and only then hands frames of the authenticated peer
 * (replica or client) to the transport, through that peer's rate limiter.
 *
 * Before authentication a connection may send one message of at most MAX_HANDSHAKE_BYTES, must
 * finish within handshakeTimeoutMs, and counts against maxPendingHandshakes (until its socket is
 * gone, so rejected sockets lingering in their close handshake stay bounded too).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_HANDSHAKE_BYTES, type HandshakeServer, type PeerIdentity } from './handshake.ts';
import type { Heartbeat } from './heartbeat.ts';
import { InboundLimiter } from './inbound-limiter.ts';
import type { TransportLimits } from './limits.ts';
import type { HandshakeRefusal, NetLog } from './net-log.ts';
import { ChannelCipher, TAG_BYTES } from './secure-channel.ts';
import { CLOSE, closeWithGrace, isOversizeError, sendCapped, setMaxPayload, toFrame, type SendOutcome, corkSocket } from './ws-util.ts';

/** An authenticated inbound connection. */
export class InboundConnection {
  constructor(
    readonly peer: PeerIdentity,
    readonly remote: string,
    private readonly ws: WebSocket,
    private readonly maxQueuedBytes: number,
    /** Seals what we send and opens what the peer sends, with this connection's keys. */
    readonly cipher: ChannelCipher,
  ) {}

  send(frame: Uint8Array): SendOutcome {
    return sendCapped(this.ws, frame, this.maxQueuedBytes, (f) => this.cipher.seal(f));
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  cork(on: boolean): void {
    corkSocket(this.ws, on);
  }

  close(code: number, reason: string): void {
    closeWithGrace(this.ws, code, reason);
  }
}

export interface ListenerOptions {
  host: string;
  port: number;
  handshake: HandshakeServer;
  limits: TransportLimits;
  log: NetLog;
  heartbeat: Heartbeat;
  onAdmit: (conn: InboundConnection) => void;
  onFrame: (conn: InboundConnection, frame: Uint8Array) => void;
  onClose: (conn: InboundConnection) => void;
}

export class Listener {
  private http: Server | undefined;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private pending = 0;
  private closed = false;

  constructor(private readonly o: ListenerOptions) {
    // Every socket starts with the handshake bound; setMaxPayload raises it once the peer is known.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_HANDSHAKE_BYTES, perMessageDeflate: false, clientTracking: false });
  }

  start(): Promise<void> {
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('byzpax replica: WebSocket connections only\n');
    });
    http.keepAliveTimeout = 1000;
    http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http = http;
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      http.once('error', onError);
      http.listen(this.o.port, this.o.host, () => {
        http.off('error', onError);
        http.on('error', (e) => this.o.log.event('listener error', { err: e }, 'error'));
        this.o.log.info({ host: this.o.host, port: this.o.port }, 'listening');
        resolve();
      });
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined); // resets from strangers are not our problem; 'close' cleans up
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.pending >= this.o.limits.maxPendingHandshakes) {
      this.o.log.event('handshake: too many pending', { remote: req.socket.remoteAddress });
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    this.pending++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.pending--;
    };
    // If ws refuses the upgrade (bad headers) the callback never runs, but the socket still closes.
    socket.once('close', settle);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req, settle));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage, settle: () => void): void {
    const { log, limits, handshake } = this.o;
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    ws.binaryType = 'nodebuffer';
    this.sockets.add(ws);
    let conn: InboundConnection | undefined;
    let limiter: InboundLimiter | undefined;
    let maxFrame = MAX_HANDSHAKE_BYTES;
    let failed = false;

    const reject = (reason: HandshakeRefusal, code: number = CLOSE.policy) => {
      failed = true;
      log.event(`handshake: ${reason}`, { remote });
      closeWithGrace(ws, code, reason);
    };
    const timer = setTimeout(() => {
      if (!conn && !failed) reject('timeout');
    }, limits.handshakeTimeoutMs);
    timer.unref();

    const challenge = handshake.newChallenge();
    ws.send(challenge.message, { binary: true });

    ws.on('message', (data, isBinary) => {
      if (failed) return;
      if (!conn) {
        clearTimeout(timer);
        if (!isBinary) return reject('malformed');
        const r = handshake.acceptHello(challenge, toFrame(data));
        if (!r.ok) return reject(r.reason);
        const { peer, welcome, keys } = r.value;
        maxFrame = peer.role === 'replica' ? limits.maxReplicaFrameBytes : limits.maxClientFrameBytes;
        if (!setMaxPayload(ws, maxFrame + TAG_BYTES)) return reject('internal: cannot raise maxPayload', CLOSE.goingAway);
        ws.send(welcome, { binary: true });
        conn = new InboundConnection(peer, remote, ws, limits.maxQueuedBytesPerPeer, ChannelCipher.forServer(keys));
        limiter = peer.role === 'replica' ? InboundLimiter.forReplica(limits) : InboundLimiter.forClient(limits);
        settle();
        this.o.heartbeat.watch(ws);
        log.info({ remote, role: peer.role, id: peer.id }, 'inbound connection authenticated');
        this.o.onAdmit(conn);
        return;
      }
      if (!isBinary) return void log.event('drop: text frame', { remote, role: conn.peer.role, id: conn.peer.id });
      const sealed = toFrame(data);
      if (sealed.byteLength > maxFrame + TAG_BYTES) {
        // Backstop only: ws already enforces maxPayload.
        log.event('close: oversize frame', { remote, role: conn.peer.role, id: conn.peer.id, bytes: sealed.byteLength });
        return void closeWithGrace(ws, CLOSE.tooBig, 'frame too large');
      }
      // Opened first, even a frame the rate limit then drops: each frame takes the channel's next
      // counter, so skipping one would break the channel. Not the next frame the peer sealed on
      // this connection — forged, altered, replayed, reordered or spliced in — breaks it: closed;
      // an honest peer reconnects.
      const frame = conn.cipher.open(sealed);
      if (!frame) {
        failed = true;
        log.event('close: bad frame authentication', { remote, role: conn.peer.role, id: conn.peer.id });
        return void closeWithGrace(ws, CLOSE.policy, 'bad frame authentication');
      }
      const verdict = limiter!.admit(frame.byteLength);
      if (verdict === 'drop') return void log.event('drop: rate limited', { role: conn.peer.role, id: conn.peer.id });
      if (verdict === 'disconnect') {
        log.event('close: flood', { remote, role: conn.peer.role, id: conn.peer.id });
        failed = true; // deliver nothing more from it
        return void closeWithGrace(ws, CLOSE.policy, 'rate limit exceeded');
      }
      this.o.onFrame(conn, frame);
    });

    ws.on('error', (err) => {
      // ws closes the socket itself after an error; count why (once per connection).
      if (failed) return;
      if (isOversizeError(err)) {
        log.event(conn ? 'close: oversize frame' : 'handshake: oversize', { remote, ...(conn ? { role: conn.peer.role, id: conn.peer.id } : {}) });
      } else {
        log.event(conn ? 'close: protocol error' : 'handshake: protocol error', { remote, err: err.message });
      }
      failed = true;
    });

    ws.on('close', () => {
      clearTimeout(timer);
      this.sockets.delete(ws);
      if (conn) {
        log.info({ remote, role: conn.peer.role, id: conn.peer.id }, 'inbound connection closed');
        this.o.onClose(conn);
      } else if (!failed) {
        log.event('handshake: closed early', { remote }, 'info');
      }
    });
  }

  /** Stops listening and terminates every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    const http = this.http;
    if (!http) return;
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    this.wss.close();
  }
}
