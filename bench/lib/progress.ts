/**
 * Progress while the suite runs: on a terminal one bar line on stderr, redrawn in place; elsewhere
 * (CI, a pipe) plain lines, one when an item starts. Result lines go to stdout either way.
 */
const fmtDur = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export class Progress {
  private readonly tty: boolean;
  private readonly started = performance.now();
  private done = 0;
  private label = '';
  private phaseText = '';
  private drawn = false;
  private lastDraw = 0;
  /** Expected wall time of one item (ms), for the ETA before any has finished. */
  private itemStarted = 0;
  private readonly itemTimes: number[] = [];

  constructor(
    private total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly estimateMs = 12_000,
  ) {
    this.tty = Boolean(stream.isTTY) && process.env.CI !== 'true';
  }

  setTotal(total: number): void {
    this.total = total;
  }

  start(label: string): void {
    this.label = label;
    this.phaseText = '';
    this.itemStarted = performance.now();
    if (!this.tty) this.stream.write(`[${this.done + 1}/${this.total}] ${label} (elapsed ${fmtDur(performance.now() - this.started)}, ETA ${fmtDur(this.etaMs())})\n`);
    this.draw(true);
  }

  phase(text: string): void {
    this.phaseText = text;
    this.draw(false);
  }

  /** Ends the current item; `line` (a result) is printed on stdout above the bar. */
  finish(line?: string): void {
    this.done++;
    this.itemTimes.push(performance.now() - this.itemStarted);
    this.label = '';
    this.phaseText = '';
    if (line !== undefined) this.print(line);
    else this.draw(true);
  }

  /** A line on stdout, keeping the bar below it. */
  print(line: string): void {
    this.clear();
    process.stdout.write(line + '\n');
    this.draw(true);
  }

  clear(): void {
    if (this.tty && this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }

  close(): void {
    this.clear();
  }

  private etaMs(): number {
    const per = this.itemTimes.length ? this.itemTimes.reduce((a, b) => a + b, 0) / this.itemTimes.length : this.estimateMs;
    const inItem = this.label ? Math.min(per, performance.now() - this.itemStarted) : 0;
    return Math.max(0, (this.total - this.done) * per - inItem);
  }

  private draw(force: boolean): void {
    if (!this.tty) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = this.stream.columns ?? 100;
    const barW = 20;
    const frac = this.total ? this.done / this.total : 1;
    const filled = Math.round(frac * barW);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(barW - filled)}]`;
    let line = `${bar} ${this.done}/${this.total} ${this.label}${this.phaseText ? ` · ${this.phaseText}` : ''} · ${fmtDur(now - this.started)} elapsed, ETA ${fmtDur(this.etaMs())}`;
    if (line.length > width - 1) line = line.slice(0, width - 2) + '…';
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }
}
