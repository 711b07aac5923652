/**
 * slow-leader: as leader, sits on every proposal (SLOW-1, Aardvark/Prime's "pre-prepare delay").
 * Per view it leads it picks one of two modes:
 *   just-under  each PROPOSE leaves `requestTimeoutTicks − slowMarginTicks` ticks after it was
 *               made: a backup that saw the request when the leader did never times out, so the
 *               leader is never replaced — only the throughput collapses;
 *   trickle     one PROPOSE per such interval, the rest queued behind it: later requests wait
 *               longer than the timeout, and backups must replace the leader.
 * Proposals are otherwise real (validly signed, the same ones an honest leader would send), and
 * retransmissions wait for the first copy. As a backup it behaves honestly.
 */
import type { Outputs, Send } from '../core/io.ts';
import type { ProposeMsg } from '../core/messages.ts';
import { WrappedReplica } from './base.ts';

export class SlowLeaderNode extends WrappedReplica {
  readonly strategy = 'slow-leader' as const;
  private readonly held: { key: string; msg: ProposeMsg; releaseAt: number }[] = [];
  private readonly released = new Set<string>();
  private readonly modes = new Map<number, 'just-under' | 'trickle'>();
  private lastRelease = -Infinity;
  readonly stats = { held: 0, justUnderViews: 0, trickleViews: 0 };

  private get delay(): number {
    return Math.max(1, this.params.requestTimeoutTicks - this.tuning.slowMarginTicks);
  }

  private mode(view: number): 'just-under' | 'trickle' {
    let m = this.modes.get(view);
    if (!m) {
      m = this.dice.chance(0.5) ? 'just-under' : 'trickle';
      this.stats[m === 'just-under' ? 'justUnderViews' : 'trickleViews']++;
      this.modes.set(view, m);
    }
    return m;
  }

  protected override rewrite(out: Outputs): Outputs {
    const sends: Send[] = [];
    for (const s of out.send) {
      const m = s.message;
      if (m.type !== 'propose' || this.leaderOf(m.view) !== this.id) {
        sends.push(s);
        continue;
      }
      const key = `${m.view}:${m.slot}`;
      if (this.released.has(key)) sends.push(s); // a retransmission of one already out
      else if (!this.held.some((h) => h.key === key)) {
        const previous = this.held[this.held.length - 1]?.releaseAt ?? this.lastRelease;
        const releaseAt = this.mode(m.view) === 'trickle' ? Math.max(this.now + this.delay, previous + this.delay) : this.now + this.delay;
        this.held.push({ key, msg: m, releaseAt });
        this.stats.held++;
      }
    }
    while (this.held.length > 0 && this.held[0]!.releaseAt <= this.now) {
      const h = this.held.shift()!;
      this.lastRelease = this.now;
      this.released.add(h.key);
      if (this.released.size > 4 * this.params.window) this.released.delete(this.released.values().next().value!);
      sends.push({ to: 'all', message: h.msg });
    }
    out.send = sends;
    return out;
  }
}
