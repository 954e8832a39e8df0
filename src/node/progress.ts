// A one-line terminal progress bar: bar, step counts, loss, images/s and ETA. Redraws in place on a TTY and
// prints a line every few percent otherwise (CI logs stay short).

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** A one-line progress bar; redraws in place on a TTY, prints a line every few percent otherwise. */
export class ProgressBar {
  private lastPrinted = -1;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly label = '',
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly width = 24,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  /** Shows progress `done` of `total` with extra fields (e.g. { loss: '0.123' }). */
  update(done: number, seconds: number, fields: Record<string, string>): void {
    const frac = Math.min(1, done / this.total);
    const pct = Math.floor(frac * 100);
    if (!this.tty && pct < this.lastPrinted + 10 && done < this.total) return;
    this.lastPrinted = pct;
    const filled = Math.round(frac * this.width);
    const eta = done > 0 ? (seconds / done) * (this.total - done) : Infinity;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join('  ');
    const line = `${this.label}[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${String(pct).padStart(3)}%  ${done}/${this.total}  ${extra}  eta ${fmtTime(eta)}`;
    this.out.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.tty) this.out.write('\n');
  }
}
