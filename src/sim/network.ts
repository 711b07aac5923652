/**
 * The simulated network: every frame is real encoded bytes, scheduled for delivery at a future
 * tick. Faults are drawn from the run's PRNG: loss, duplication, random delay (which reorders),
 * and partitions that cut links between groups of nodes. Delivery order is (time, sequence
 * number), so a seed always yields the same schedule.
 */
import type { Prng } from '../random/prng.ts';

/** Node addresses: replicas are 0..n-1, clients are `client:<id>`. */
export type Address = number | `client:${number}`;

export interface Packet {
  from: Address;
  to: Address;
  frame: Uint8Array;
  deliverAt: number;
  seq: number;
  /** Observer-only metadata riding with the frame (the simulator's causal hop count); never seen by replicas. */
  hops: number;
}

export interface NetworkFaults {
  /** Probability a packet is lost. */
  dropRate: number;
  /** Probability a packet is delivered twice. */
  duplicateRate: number;
  /** Delay in ticks, uniform in [min, max]. */
  delayMin: number;
  delayMax: number;
  /** Probability of an extra long delay (up to 5×max): stragglers that arrive very late. */
  longDelayRate: number;
}

export const calmNetwork: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayMin: 1, delayMax: 3, longDelayRate: 0 };

export class SimNetwork {
  private queue: Packet[] = [];
  private seq = 0;
  /** Partition groups: two addresses can talk only if no group separates them. */
  private blocked = new Set<string>();
  faults: NetworkFaults = calmNetwork;
  readonly stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, cut: 0, bytes: 0 };

  constructor(private readonly prng: Prng) {}

  /** Cuts every link between `group` and everyone else (both directions). */
  isolate(group: Address[], all: Address[]): void {
    const inside = new Set(group.map(String));
    for (const a of all) {
      for (const b of all) {
        if (inside.has(String(a)) !== inside.has(String(b))) this.blocked.add(`${a}>${b}`);
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  canReach(from: Address, to: Address): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }

  send(from: Address, to: Address, frame: Uint8Array, now: number, hops = 0): void {
    this.stats.sent++;
    this.stats.bytes += frame.length;
    const f = this.faults;
    if (this.prng.chance(f.dropRate)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.prng.chance(f.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = this.prng.range(f.delayMin, f.delayMax);
      if (this.prng.chance(f.longDelayRate)) delay += this.prng.range(f.delayMax, 5 * f.delayMax);
      this.push({ from, to, frame, deliverAt: now + delay, seq: this.seq++, hops });
    }
  }

  /** Removes and returns every packet due at or before `now`, in delivery order. Cut links lose them. */
  due(now: number): Packet[] {
    if (this.queue.length === 0 || this.queue[0]!.deliverAt > now) return [];
    const out: Packet[] = [];
    while (this.queue.length > 0 && this.queue[0]!.deliverAt <= now) {
      const p = this.pop();
      if (!this.canReach(p.from, p.to)) {
        this.stats.cut++;
        continue;
      }
      this.stats.delivered++;
      out.push(p);
    }
    return out;
  }

  get pending(): number {
    return this.queue.length;
  }

  // A binary heap ordered by (deliverAt, seq).
  private push(p: Packet): void {
    const q = this.queue;
    q.push(p);
    let i = q.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(q[i]!, q[parent]!)) break;
      [q[i], q[parent]] = [q[parent]!, q[i]!];
      i = parent;
    }
  }

  private pop(): Packet {
    const q = this.queue;
    const top = q[0]!;
    const last = q.pop()!;
    if (q.length > 0) {
      q[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < q.length && before(q[l]!, q[m]!)) m = l;
        if (r < q.length && before(q[r]!, q[m]!)) m = r;
        if (m === i) break;
        [q[i], q[m]] = [q[m]!, q[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Packet, b: Packet): boolean {
  return a.deliverAt < b.deliverAt || (a.deliverAt === b.deliverAt && a.seq < b.seq);
}
