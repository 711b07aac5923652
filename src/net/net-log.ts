/**
 * Counters and rate-limited logs for the transport.
 *
 * Every drop, rejection and disconnect is counted, always. Logging each one would let a flooding
 * peer flood the log (and the disk) too, so a reason is logged on its first occurrence and then
 * at most once per `minIntervalMs`, with how many occurrences the log skipped meanwhile.
 * Counter keys are a fixed, typed set of reasons (never peer ids), so the maps stay small, and each
 * reason has a kind, so an observer can tell what a peer did from what happened to us.
 */
import type { Logger } from 'pino';
import type { HandshakeFailure } from './handshake.ts';

/**
 * - `refused`: a peer sent something we refused (a failed handshake, a flood, an oversize or text
 *   frame): what metrics count as drops, and what a flooding or forging peer drives up.
 * - `undelivered`: one of our own frames did not leave (peer down, buffer full, injected loss).
 * - `connection`: a connection ended or could not start for an ordinary reason.
 * - `internal`: our own code failed (a frame handler threw): a bug, never a peer's doing alone.
 */
export type NetEventKind = 'refused' | 'undelivered' | 'connection' | 'internal';

export type HandshakeRefusal = HandshakeFailure | 'timeout' | 'too many pending' | 'oversize' | 'protocol error' | 'internal: cannot raise maxPayload';

/** Every reason the transport counts, with its kind. */
export type NetReason =
  | `handshake: ${HandshakeRefusal}`
  | 'handshake: closed early'
  | 'handshake: closed by server'
  | 'close: oversize frame'
  | 'close: bad frame authentication'
  | 'close: flood'
  | 'close: protocol error'
  | 'close: dead peer (no pong)'
  | 'close: superseded by a newer connection'
  | 'drop: rate limited'
  | 'drop: text frame'
  | 'drop: frame on outbound link'
  | 'drop: bad destination'
  | 'drop: send error'
  | 'drop: client not connected'
  | 'drop: send buffer full'
  | 'drop: not connected'
  | 'drop: blocked (fault injection)'
  | 'drop: loss (fault injection)'
  | 'dial: bad url'
  | 'dial: failed'
  | 'listener error'
  | 'frame handler threw';

/** The kind of a reason; a handshake refusal is `refused` unless it merely closed. */
export function netEventKind(reason: NetReason): NetEventKind {
  switch (reason) {
    case 'handshake: closed early':
    case 'handshake: closed by server':
    case 'close: dead peer (no pong)':
    case 'close: superseded by a newer connection':
    case 'dial: bad url':
    case 'dial: failed':
    case 'listener error':
      return 'connection';
    case 'drop: bad destination':
    case 'drop: send error':
    case 'drop: client not connected':
    case 'drop: send buffer full':
    case 'drop: not connected':
    case 'drop: blocked (fault injection)':
    case 'drop: loss (fault injection)':
      return 'undelivered';
    case 'frame handler threw':
      return 'internal';
    default:
      return 'refused';
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export class NetLog {
  readonly counters = new Map<NetReason, number>();
  /** Totals by kind: `refused` is what peers sent that we refused. */
  readonly byKind: Record<NetEventKind, number> = { refused: 0, undelivered: 0, connection: 0, internal: 0 };
  private readonly lastLogged = new Map<string, number>();
  private readonly skipped = new Map<string, number>();

  constructor(
    readonly logger: Logger | undefined,
    private readonly minIntervalMs = 1000,
  ) {}

  /** Counts `reason` and logs it (rate-limited per reason) with `detail`. */
  event(reason: NetReason, detail: Record<string, unknown> = {}, level: LogLevel = 'warn'): void {
    const n = (this.counters.get(reason) ?? 0) + 1;
    this.counters.set(reason, n);
    this.byKind[netEventKind(reason)]++;
    if (!this.logger) return;
    const now = Date.now();
    const last = this.lastLogged.get(reason);
    if (last !== undefined && now - last < this.minIntervalMs) {
      this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
      return;
    }
    const skipped = this.skipped.get(reason) ?? 0;
    this.lastLogged.set(reason, now);
    this.skipped.set(reason, 0);
    this.logger[level]({ ...detail, reason, total: n, ...(skipped > 0 ? { skipped } : {}) }, `net: ${reason}`);
  }

  /** Plain log line, not counted and not rate-limited: for rare state changes (listening, link up). */
  info(detail: Record<string, unknown>, msg: string): void {
    this.logger?.info(detail, msg);
  }

  get(reason: NetReason): number {
    return this.counters.get(reason) ?? 0;
  }
}
