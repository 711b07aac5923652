/**
 * Closed-loop load: each client keeps exactly one request in flight (the client library allows
 * no more), issuing the next as soon as the previous is answered. Offered load is swept by the
 * number of clients. Latencies go into an HDR histogram in microseconds.
 */
import * as hdr from 'hdr-histogram-js';
import { encodeKvCommand, type KvCommand } from '../../src/app/kv-command.ts';
import type { Client } from '../../src/client/client.ts';

export function newHistogram(): hdr.Histogram {
  // 1 µs .. 10 min at 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(h: hdr.Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
}

/**
 * A put whose encoded command (what the client signs and the replicas order) is exactly `bytes`
 * long, or as close as CBOR's length headers allow. Keys cycle over 128 per client, so the store
 * stays small and the run measures agreement, not the application.
 */
export function commandOfSize(bytes: number, client: number, i: number): KvCommand {
  const key = `k${String(client).padStart(4, '0')}-${String(i % 128).padStart(3, '0')}`;
  let len = Math.max(0, bytes - 20);
  for (let step = 0; step < 8; step++) {
    const got = encodeKvCommand({ op: 'put', key, value: 'x'.repeat(len) }).length;
    if (got === bytes) break;
    len = Math.max(0, len + bytes - got);
  }
  return { op: 'put', key, value: 'x'.repeat(len) };
}

export function encodedSize(c: KvCommand): number {
  return encodeKvCommand(c).length;
}

type Phase = 'warmup' | 'measure' | 'after';

export class ClosedLoop {
  private phase: Phase = 'warmup';
  private stopping = false;
  private loops: Promise<void>[] = [];
  private hist = newHistogram();
  /** Operations completed (any phase), and in the measured window. */
  completed = 0;
  measuredOps = 0;
  errors = 0;
  measuredErrors = 0;
  readonly errorSamples: string[] = [];
  private windowStart = 0;
  private windowEnd = 0;
  /** Optional per-completion hook (soak sampling). */
  onComplete: ((latencyUs: number) => void) | undefined;

  constructor(
    private readonly clients: Client[],
    private readonly sizeBytes: number,
    /** Stop after this many operations in total (soak); Infinity = until stop(). */
    private readonly maxOps = Infinity,
  ) {}

  start(): void {
    this.loops = this.clients.map((c, idx) => this.loop(c, idx));
  }

  private async loop(c: Client, idx: number): Promise<void> {
    const commands = Array.from({ length: 128 }, (_, i) => commandOfSize(this.sizeBytes, idx, i));
    let i = 0;
    while (!this.stopping && this.completed < this.maxOps) {
      const t = performance.now();
      try {
        await c.execute(commands[i++ & 127]!);
        const us = Math.max(1, Math.round((performance.now() - t) * 1000));
        this.completed++;
        if (this.phase === 'measure') {
          this.measuredOps++;
          this.hist.recordValue(us);
        }
        this.onComplete?.(us);
      } catch (e) {
        if (this.stopping) break;
        this.errors++;
        if (this.phase === 'measure') this.measuredErrors++;
        if (this.errorSamples.length < 5) this.errorSamples.push((e as Error).message);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  beginMeasure(): void {
    this.hist = newHistogram();
    this.measuredOps = 0;
    this.measuredErrors = 0;
    this.phase = 'measure';
    this.windowStart = performance.now();
  }

  endMeasure(): { ops: number; errors: number; windowMs: number; latency: LatencySummary; histogram: hdr.Histogram } {
    this.phase = 'after';
    this.windowEnd = performance.now();
    return { ops: this.measuredOps, errors: this.measuredErrors, windowMs: this.windowEnd - this.windowStart, latency: summarize(this.hist), histogram: this.hist };
  }

  /** Resolves when every client has run out of operations (maxOps) or been stopped. */
  done(): Promise<void> {
    return Promise.all(this.loops).then(() => undefined);
  }

  /** Stops issuing; waits up to `graceMs` for the requests in flight. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    await Promise.race([this.done(), new Promise((r) => setTimeout(r, graceMs))]);
  }
}
