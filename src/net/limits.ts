/**
 * Resource bounds of the transport. Every number here caps what one peer (or one anonymous
 * connection) can make us hold or do, so a Byzantine replica, a misbehaving client or a stranger
 * on the network cannot exhaust memory, or starve the other peers, by sending fast or big.
 */
import { limits as codecLimits } from '../codec/limits.ts';

export interface TransportLimits {
  /** Largest frame a replica may send (bytes): must fit a STATE message carrying a full snapshot. */
  maxReplicaFrameBytes: number;
  /** Largest frame a client may send, and a replica may send to a client (bytes); requests and replies are small. */
  maxClientFrameBytes: number;
  /**
   * Cap on bytes waiting to leave towards one peer (ws.bufferedAmount plus frames held back by
   * emulated delay). Beyond it frames to that peer are dropped and counted, so a slow or dead
   * peer cannot grow our memory. One frame is always accepted into an empty buffer.
   */
  maxQueuedBytesPerPeer: number;
  /** Inbound token bucket per replica connection: frames per second and burst. */
  replicaMsgsPerSec: number;
  replicaMsgBurst: number;
  /** Inbound token bucket per replica connection: bytes per second and burst (raised to at least one maximal frame). */
  replicaBytesPerSec: number;
  replicaBytesBurst: number;
  /** Inbound token bucket per client connection: frames per second and burst. */
  clientMsgsPerSec: number;
  clientMsgBurst: number;
  /** Inbound token bucket per client connection: bytes per second and burst (raised to at least one maximal frame). */
  clientBytesPerSec: number;
  clientBytesBurst: number;
  /** A connection that has this many frames dropped by its rate limit within one second is closed. */
  floodDropsPerSec: number;
  /** A connection must complete the handshake (both directions) within this long. */
  handshakeTimeoutMs: number;
  /** Inbound connections still in their handshake; more are refused at the HTTP upgrade. */
  maxPendingHandshakes: number;
  /** Every authenticated connection is pinged this often; one that has not answered by the next ping is terminated. */
  pingIntervalMs: number;
  /** Reconnect back-off: first retry after about `reconnectMinMs`, doubling up to `reconnectMaxMs` (with jitter). */
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

const MiB = 1024 * 1024;

export const defaultTransportLimits: TransportLimits = {
  maxReplicaFrameBytes: codecLimits.maxFrameBytes,
  maxClientFrameBytes: 1 * MiB,
  maxQueuedBytesPerPeer: 32 * MiB,
  replicaMsgsPerSec: 50_000,
  replicaMsgBurst: 10_000,
  replicaBytesPerSec: 128 * MiB,
  replicaBytesBurst: 32 * MiB,
  // A client has one request in flight; on loopback that is at most a few thousand per second.
  clientMsgsPerSec: 5_000,
  clientMsgBurst: 1_000,
  clientBytesPerSec: 16 * MiB,
  clientBytesBurst: 4 * MiB,
  floodDropsPerSec: 5_000,
  handshakeTimeoutMs: 5_000,
  maxPendingHandshakes: 64,
  pingIntervalMs: 5_000,
  reconnectMinMs: 50,
  reconnectMaxMs: 2_000,
};

/** Defaults overridden by `partial`; throws on a value that is not a positive number. */
export function resolveLimits(partial: Partial<TransportLimits> = {}): TransportLimits {
  const l: TransportLimits = { ...defaultTransportLimits };
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (!(k in defaultTransportLimits)) throw new Error(`unknown transport limit '${k}'`);
    if (typeof v !== 'number' || Number.isNaN(v) || v <= 0) throw new Error(`transport limit ${k} must be a positive number (got ${String(v)})`);
    (l as unknown as Record<string, number>)[k] = v;
  }
  if (l.reconnectMaxMs < l.reconnectMinMs) throw new Error('transport limit reconnectMaxMs must be at least reconnectMinMs');
  // A bucket smaller than one legal frame would drop that frame forever.
  l.replicaBytesBurst = Math.max(l.replicaBytesBurst, l.maxReplicaFrameBytes);
  l.clientBytesBurst = Math.max(l.clientBytesBurst, l.maxClientFrameBytes);
  l.replicaMsgBurst = Math.max(l.replicaMsgBurst, 1);
  l.clientMsgBurst = Math.max(l.clientMsgBurst, 1);
  return l;
}
