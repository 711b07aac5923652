/**
 * One dialled connection to one replica, kept up for as long as the link exists: dial, run the
 * dialler half of the handshake, send frames (through the link's emulated faults and the queue
 * cap), and on any failure reconnect after an exponential back-off with jitter (so restarted
 * replicas are not hammered in lock-step by all their peers).
 *
 * Replicas only send on their dialled links (their peers receive on the accepted side); a client
 * also receives the replica's replies on its link, through the same kind of rate limiter the
 * replica applies to it.
 */
import { WebSocket } from 'ws';
import { MAX_HANDSHAKE_BYTES, type DiallerState, type HandshakeDialler } from './handshake.ts';
import type { Heartbeat } from './heartbeat.ts';
import type { InboundLimiter } from './inbound-limiter.ts';
import type { TransportLimits } from './limits.ts';
import { FaultyLink, type LinkFaults } from './link-faults.ts';
import type { HandshakeRefusal, NetLog } from './net-log.ts';
import { ChannelCipher, TAG_BYTES } from './secure-channel.ts';
import { CLOSE, closeWithGrace, isOversizeError, sendCapped, setMaxPayload, toFrame, corkSocket, zeroMask } from './ws-util.ts';

export interface LinkReceiver {
  maxFrameBytes: number;
  limiter: () => InboundLimiter;
  onFrame: (frame: Uint8Array) => void;
}

export interface OutboundLinkOptions {
  url: string;
  /** The replica this URL should reach; its key must sign the WELCOME. */
  server: number;
  dialler: HandshakeDialler;
  limits: TransportLimits;
  log: NetLog;
  heartbeat: Heartbeat;
  faults?: LinkFaults;
  /** Frames arriving on this link; absent: the peer is not supposed to send any (replica links). */
  receive?: LinkReceiver;
  onUp?: () => void;
  onDown?: () => void;
}

export class OutboundLink {
  private ws: WebSocket | undefined;
  private up = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private readonly faulty: FaultyLink;
  private closing: Promise<void> | undefined;
  /** The current connection's keys (a new handshake, new keys). */
  private cipher: ChannelCipher | undefined;

  constructor(private readonly o: OutboundLinkOptions) {
    this.faulty = new FaultyLink((frame) => this.transmit(frame), o.faults ?? {});
  }

  get server(): number {
    return this.o.server;
  }

  get url(): string {
    return this.o.url;
  }

  isUp(): boolean {
    return this.up;
  }

  /** Bytes waiting to leave towards this peer (socket buffer plus emulated delay). */
  get queuedBytes(): number {
    return (this.ws?.bufferedAmount ?? 0) + this.faulty.delayedBytes;
  }

  setFaults(f: LinkFaults): void {
    this.faulty.set(f);
  }

  get faults(): Readonly<LinkFaults> {
    return this.faulty.current;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.dial();
  }

  /** Holds writes until `cork(false)`, so a batch of frames leaves in one system call. */
  cork(on: boolean): void {
    if (this.up) corkSocket(this.ws, on);
  }

  /** Never throws: a frame that cannot leave is dropped and counted. */
  send(frame: Uint8Array): void {
    const { log, limits } = this.o;
    // Frames held back by emulated delay count towards the cap like the socket's own buffer.
    const queued = this.queuedBytes;
    if (this.faulty.delaying && queued > 0 && queued + frame.byteLength > limits.maxQueuedBytesPerPeer) {
      return log.event('drop: send buffer full', { to: this.o.server });
    }
    const v = this.faulty.send(frame);
    if (v === 'blocked') log.event('drop: blocked (fault injection)', { to: this.o.server }, 'debug');
    else if (v === 'lost') log.event('drop: loss (fault injection)', { to: this.o.server }, 'debug');
  }

  private transmit(frame: Uint8Array): void {
    const cipher = this.cipher;
    if (!this.up || !cipher) return this.o.log.event('drop: not connected', { to: this.o.server });
    const r = sendCapped(this.ws, frame, this.o.limits.maxQueuedBytesPerPeer, (f) => cipher.seal(f));
    if (r === 'full') this.o.log.event('drop: send buffer full', { to: this.o.server });
    else if (r === 'closed') this.o.log.event('drop: not connected', { to: this.o.server });
  }

  private dial(): void {
    if (this.closed) return;
    const { log, limits, dialler, server, url } = this.o;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: MAX_HANDSHAKE_BYTES, handshakeTimeout: limits.handshakeTimeoutMs, generateMask: zeroMask });
    } catch (e) {
      log.event('dial: bad url', { to: server, url, err: (e as Error).message }, 'error');
      return this.scheduleRetry();
    }
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    let state: DiallerState | undefined;
    let failed = false;
    let limiter: InboundLimiter | undefined;
    const maxFrame = this.o.receive?.maxFrameBytes ?? MAX_HANDSHAKE_BYTES;

    const reject = (reason: HandshakeRefusal) => {
      failed = true;
      log.event(`handshake: ${reason}`, { to: server, url });
      closeWithGrace(ws, CLOSE.policy, reason);
    };
    const timer = setTimeout(() => {
      if (!this.up && !failed) {
        failed = true;
        log.event('handshake: timeout', { to: server, url });
        ws.terminate();
      }
    }, limits.handshakeTimeoutMs);
    timer.unref();

    ws.on('message', (data, isBinary) => {
      if (failed || this.closed) return;
      if (!isBinary) return reject('malformed');
      const bytes = toFrame(data);
      if (!state) {
        const r = dialler.answerChallenge(server, bytes);
        if (!r.ok) return reject(r.reason);
        state = r.value.state;
        ws.send(r.value.hello, { binary: true });
        return;
      }
      if (!this.up) {
        const r = dialler.checkWelcome(state, bytes);
        if (!r.ok) return reject(r.reason);
        clearTimeout(timer);
        if (!setMaxPayload(ws, maxFrame + TAG_BYTES)) return reject('internal: cannot raise maxPayload');
        this.cipher = ChannelCipher.forDialler(r.value);
        this.up = true;
        this.attempt = 0;
        limiter = this.o.receive?.limiter();
        this.o.heartbeat.watch(ws);
        log.info({ to: server, url }, 'link up');
        this.o.onUp?.();
        return;
      }
      const rx = this.o.receive;
      if (!rx || !limiter) return void log.event('drop: frame on outbound link', { from: server });
      // Opened before the rate limit (see listener.ts: every frame takes the next counter).
      const frame = this.cipher?.open(bytes);
      if (!frame) {
        failed = true;
        log.event('close: bad frame authentication', { role: 'replica', id: server });
        return void closeWithGrace(ws, CLOSE.policy, 'bad frame authentication');
      }
      const verdict = limiter.admit(frame.byteLength);
      if (verdict === 'drop') return void log.event('drop: rate limited', { role: 'replica', id: server });
      if (verdict === 'disconnect') {
        failed = true;
        log.event('close: flood', { role: 'replica', id: server });
        return void closeWithGrace(ws, CLOSE.policy, 'rate limit exceeded');
      }
      rx.onFrame(frame);
    });

    ws.on('error', (err) => {
      if (failed) return;
      if (isOversizeError(err)) log.event(this.up ? 'close: oversize frame' : 'handshake: oversize', { to: server });
      else if (this.up) log.event('close: protocol error', { to: server, err: err.message });
      else log.event('dial: failed', { to: server, url, err: err.message });
      failed = true;
    });

    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (this.ws === ws) this.ws = undefined;
      if (this.up) {
        this.up = false;
        log.info({ to: server, code, reason: reason.toString() }, 'link down');
        this.o.onDown?.();
      } else if (!failed && !this.closed) {
        // The server refused us during the handshake; its close reason says why.
        log.event('handshake: closed by server', { to: server, code, reason: reason.toString() });
      }
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const { reconnectMinMs, reconnectMaxMs } = this.o.limits;
    const base = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    // "Equal jitter": between half and all of the back-off.
    const delay = base / 2 + (Math.random() * base) / 2;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.dial();
    }, delay);
  }

  /** Stops reconnecting, drops delayed frames, and closes the socket. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.faulty.clear();
    const ws = this.ws;
    this.closing = new Promise<void>((resolve) => {
      if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.terminate();
    });
    return this.closing;
  }
}
