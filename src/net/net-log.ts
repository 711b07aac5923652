/**
 * Counters and rate-limited logs for the transport.
 *
 * Every drop, rejection and disconnect is counted, always. Logging each one would let a flooding
 * peer flood the log (and the disk) too, so a reason is logged on its first occurrence and then
 * at most once per `minIntervalMs`, with how many occurrences the log skipped meanwhile.
 * Counter keys are a fixed set of reason strings (never peer ids), so the maps stay small.
 */
import type { Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export class NetLog {
  readonly counters = new Map<string, number>();
  private readonly lastLogged = new Map<string, number>();
  private readonly skipped = new Map<string, number>();

  constructor(
    readonly logger: Logger | undefined,
    private readonly minIntervalMs = 1000,
  ) {}

  /** Counts `reason` and logs it (rate-limited per reason) with `detail`. */
  event(reason: string, detail: Record<string, unknown> = {}, level: LogLevel = 'warn'): void {
    const n = (this.counters.get(reason) ?? 0) + 1;
    this.counters.set(reason, n);
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

  get(reason: string): number {
    return this.counters.get(reason) ?? 0;
  }
}
