/**
 * Emulated network faults on one outgoing link. The test and benchmark hosts have no netem, so
 * delay, jitter, loss and partitions are applied here, on frames about to leave. This randomness
 * is outside the protocol core, whose determinism it does not touch.
 */

export interface LinkFaults {
  /** Every frame is held back this long before it is sent (ms). */
  delayMs?: number;
  /** Plus a uniform random extra delay in [0, jitterMs) (ms); frames may then overtake each other. */
  jitterMs?: number;
  /** Probability (0..1) that a frame is silently dropped. */
  loss?: number;
  /** Partition: every frame to this peer is dropped. */
  blocked?: boolean;
}

export function validateFaults(f: LinkFaults): LinkFaults {
  const nonNegative = (v: number | undefined, name: string) => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new Error(`link fault ${name} must be a non-negative number (got ${v})`);
  };
  nonNegative(f.delayMs, 'delayMs');
  nonNegative(f.jitterMs, 'jitterMs');
  if (f.loss !== undefined && !(f.loss >= 0 && f.loss <= 1)) throw new Error(`link fault loss must be within 0..1 (got ${f.loss})`);
  return { ...f };
}

/** What happened to a frame handed to `FaultyLink.send`. */
export type FaultVerdict = 'sent' | 'delayed' | 'lost' | 'blocked';

interface Held {
  due: number;
  frame: Uint8Array;
}

/**
 * Applies `LinkFaults` to the frames of one link, calling `transmit` for each frame that survives,
 * immediately or when its delay has passed. Delayed frames sit in one queue ordered by due time
 * under one timer; with no jitter due times never decrease (even if the delay is lowered at run
 * time), so the link stays FIFO like a TCP stream.
 */
export class FaultyLink {
  private faults: LinkFaults;
  private held: Held[] = [];
  private head = 0;
  private heldBytes = 0;
  private lastDue = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;

  constructor(
    private readonly transmit: (frame: Uint8Array) => void,
    faults: LinkFaults = {},
    private readonly random: () => number = Math.random,
  ) {
    this.faults = validateFaults(faults);
  }

  /** Replaces the faults (an empty object heals the link). Frames already delayed keep their due time. */
  set(faults: LinkFaults): void {
    this.faults = validateFaults(faults);
  }

  get current(): Readonly<LinkFaults> {
    return this.faults;
  }

  /** Bytes currently held back by emulated delay (they count towards the peer's queue cap). */
  get delayedBytes(): number {
    return this.heldBytes;
  }

  /** Whether the next frame would be held back (delay configured, or earlier frames still held). */
  get delaying(): boolean {
    return (this.faults.delayMs ?? 0) > 0 || (this.faults.jitterMs ?? 0) > 0 || this.pending() > 0;
  }

  send(frame: Uint8Array): FaultVerdict {
    const f = this.faults;
    if (f.blocked) return 'blocked';
    if (f.loss !== undefined && f.loss > 0 && this.random() < f.loss) return 'lost';
    const delay = f.delayMs ?? 0;
    const jitter = f.jitterMs ?? 0;
    if (delay <= 0 && jitter <= 0 && this.pending() === 0) {
      this.transmit(frame);
      return 'sent';
    }
    let due = performance.now() + delay + jitter * this.random();
    if (jitter <= 0) due = Math.max(due, this.lastDue);
    this.lastDue = Math.max(this.lastDue, due);
    this.insert({ due, frame });
    this.heldBytes += frame.byteLength;
    this.arm();
    return 'delayed';
  }

  /** Drops every held frame and stops the timer (link closed). */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
    this.held = [];
    this.head = 0;
    this.heldBytes = 0;
  }

  private pending(): number {
    return this.held.length - this.head;
  }

  private insert(h: Held): void {
    // Usually an append (due times mostly increase); otherwise walk back to keep ties in order.
    let i = this.held.length;
    while (i > this.head && this.held[i - 1]!.due > h.due) i--;
    this.held.splice(i, 0, h);
  }

  private arm(): void {
    const first = this.held[this.head];
    if (!first) return;
    if (this.timer && this.timerDue <= first.due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = first.due;
    this.timer = setTimeout(() => this.fire(), Math.max(0, first.due - performance.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    // Timers may fire up to a millisecond early relative to performance.now(); allow for it.
    const now = performance.now() + 1;
    while (this.head < this.held.length && this.held[this.head]!.due <= now) {
      const h = this.held[this.head]!;
      this.held[this.head] = undefined as unknown as Held; // release the frame for GC
      this.head++;
      this.heldBytes -= h.frame.byteLength;
      this.transmit(h.frame);
    }
    if (this.head > 1024 && this.head * 2 > this.held.length) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }
}
