// A one-line terminal progress bar: bar, step counts, loss, images/s and ETA. Redraws in place on a TTY; in a
// pipe or a CI log it prints only its last state, once, when done (one line per epoch, not one per update).

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** A one-line progress bar; redraws in place on a TTY, prints its final line once otherwise. */
export class ProgressBar {
  private last = '';
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
    const filled = Math.round(frac * this.width);
    const eta = done > 0 ? (seconds / done) * (this.total - done) : Infinity;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join('  ');
    const line = `${this.label}[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${String(pct).padStart(3)}%  ${done}/${this.total}  ${extra}  eta ${fmtTime(eta)}`;
    this.last = line;
    if (this.tty) this.out.write(`\r${line}\x1b[K`);
  }

  /** Ends the bar's line (in a pipe: prints its last state). */
  done(): void {
    if (this.tty) this.out.write('\n');
    else if (this.last) this.out.write(`${this.last}\n`);
    this.last = '';
  }
}
