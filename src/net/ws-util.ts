/** Small helpers around the `ws` package shared by the listening and the dialling side. */
import type { RawData, WebSocket } from 'ws';

/** Close codes we send (RFC 6455 §7.4; 4000–4999 are application-defined). */
export const CLOSE = {
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  superseded: 4000,
} as const;

/** How long a rejected socket may linger for the close handshake before it is destroyed. */
export const CLOSE_GRACE_MS = 1000;

/** Closes politely (the peer learns why), but destroys the socket if it does not answer soon. */
export function closeWithGrace(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    ws.terminate();
    return;
  }
  const t = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  t.unref();
  ws.once('close', () => clearTimeout(t));
}

/**
 * A frame as a plain Uint8Array owned by the receiver. ws hands out Buffers that may view a pooled
 * slab or a large socket read chunk; copying keeps consumers from aliasing or retaining those.
 */
export function toFrame(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  return new Uint8Array(data);
}

/**
 * Raises (or lowers) the largest message `ws` will accept on this socket from now on.
 *
 * Why: ws takes `maxPayload` once per server, but the right bound depends on who the peer turned
 * out to be: a few hundred bytes before the handshake, 1 MiB for a client, 16 MiB for a replica.
 * Buffering 16 MiB for every anonymous connection would let strangers exhaust memory, so sockets
 * start at the handshake bound and are raised after authentication. ws has no public API for
 * this; `_receiver._maxPayload` is what its Receiver checks for every frame (ws 8.x). Returns
 * false if that field is missing (a ws upgrade changed it); callers then close the connection
 * rather than run without a bound, and test/net checks that a large frame gets through.
 */
export function setMaxPayload(ws: WebSocket, bytes: number): boolean {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') return false;
  receiver._maxPayload = bytes;
  return true;
}

/** Host and port to listen on for a replica URL such as ws://10.0.0.1:7000. */
export function listenAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`replica URL must be ws:// or wss:// (got ${url})`);
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'wss:' ? 443 : 80;
  // URL keeps IPv6 literals bracketed; listen() wants them bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/** ws emits this error code when a frame exceeds maxPayload. */
export function isOversizeError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH';
}

/**
 * The masking key of every frame the dialling side sends: all zeros, which `ws` takes as "no
 * XOR and no copy". RFC 6455 asks a client for a random key so that a hostile script in a browser
 * cannot put bytes of its choosing on the wire for a confused proxy to cache; here the dialler is a
 * replica or the client library, and everything after the handshake is ChaCha20-Poly1305
 * ciphertext under a per-connection key, which no third party can choose either. The frames stay
 * valid WebSocket frames (a server accepts any key). Measured with ws 8.23 and no bufferutil:
 * framing a 200 B / 1.5 KB / 16 KB payload took 1.7 / 8.2 / 69 µs with a random key and
 * 0.4 / 0.2 / 0.2 µs with this one (`Sender.frame`, 200,000 frames each).
 */
export function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

export type SendOutcome = 'sent' | 'closed' | 'full';

/**
 * Holds (or releases) the socket's writes, so the frames of one batch leave in one writev system
 * call instead of one each: a replica step often sends several messages to one peer at once, and
 * per-frame syscalls were a quarter of a replica's CPU under load. ws has no public handle on its
 * socket; `_socket` is ws 8.x's net.Socket. Missing, it is a no-op (frames still leave, one by one).
 */
export function corkSocket(ws: WebSocket | undefined, cork: boolean): void {
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void; writableCorked?: number } } | undefined)?._socket;
  if (!socket) return;
  if (cork) socket.cork();
  else if ((socket.writableCorked ?? 1) > 0) socket.uncork();
}

/**
 * Sends a binary frame unless the socket is not open or its outgoing buffer would pass `cap`
 * (an empty buffer always takes one frame, however large, so a maximal frame can still leave).
 */
export function sendCapped(ws: WebSocket | undefined, frame: Uint8Array, cap: number, seal?: (frame: Uint8Array) => Uint8Array): SendOutcome {
  if (!ws || ws.readyState !== 1 /* OPEN */) return 'closed';
  const queued = ws.bufferedAmount;
  if (queued > 0 && queued + frame.byteLength > cap) return 'full';
  // Sealed only once it will leave: a sealed frame takes the channel's next counter.
  ws.send(seal ? seal(frame) : frame, { binary: true });
  return 'sent';
}
