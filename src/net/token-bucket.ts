/**
 * A token bucket: `ratePerSec` tokens arrive per second, at most `burst` are kept. Taking n tokens
 * succeeds only if n are there. Used per connection for inbound frames and bytes, so a peer may
 * burst briefly but not sustain more than its rate, and one peer's flood costs only its own bucket.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number = performance.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `n` tokens if available; `now` in milliseconds (monotonic clock). */
  take(n = 1, now: number = performance.now()): boolean {
    if (this.ratePerSec === Infinity) return true;
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSec) / 1000);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Tokens currently available (after refilling up to `now`), for tests and metrics. */
  available(now: number = performance.now()): number {
    if (this.ratePerSec === Infinity) return Infinity;
    return Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) * this.ratePerSec) / 1000);
  }
}
