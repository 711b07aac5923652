/**
 * Dead-peer detection. A TCP connection to a crashed host or across a silent partition can stay
 * "open" for minutes; sends would pile up in its buffer. Every watched socket is pinged each
 * interval, and one that has shown no sign of life (pong or message) since the previous ping is
 * terminated, which frees its buffers and, on a dialled link, triggers a reconnect.
 */
import type { WebSocket } from 'ws';
import type { NetLog } from './net-log.ts';

export class Heartbeat {
  private readonly alive = new Map<WebSocket, boolean>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly log: NetLog,
  ) {}

  /** A dead peer's socket is counted and terminated. */
  private onDead(ws: WebSocket): void {
    this.log.event('close: dead peer (no pong)', {});
    ws.terminate();
  }

  watch(ws: WebSocket): void {
    this.alive.set(ws, true);
    const mark = () => {
      if (this.alive.has(ws)) this.alive.set(ws, true);
    };
    ws.on('pong', mark);
    ws.on('message', mark);
    ws.once('close', () => this.alive.delete(ws));
    if (!this.timer) {
      this.timer = setInterval(() => this.beat(), this.intervalMs);
      this.timer.unref(); // the sockets, not the heartbeat, keep a process alive
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.alive.clear();
  }

  private beat(): void {
    for (const [ws, ok] of this.alive) {
      if (!ok) {
        this.alive.delete(ws);
        this.onDead(ws);
        continue;
      }
      this.alive.set(ws, false);
      try {
        ws.ping();
      } catch {
        // closing already; 'close' removes it
      }
    }
  }
}
