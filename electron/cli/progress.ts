// A one-line progress bar on a terminal (stderr), redrawn in place; silent
// when output is not a TTY or --json is on.
import type { JobProgress } from '../../shared/api';
import type { CliIo } from './command';

function eta(sec: number | null): string {
  if (sec === null) return '--';
  const s = Math.round(sec);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function progressLine(label: string, p: JobProgress, width = 30): string {
  const ratio = p.total ? Math.min(1, p.done / p.total) : 0;
  const filled = Math.round(ratio * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const count = p.total === null ? `${p.done}` : `${p.done}/${p.total}`;
  // Slow units (a training step, a 7B answer) read as seconds each rather than "0/s".
  const rate =
    p.ratePerSec > 0 && p.ratePerSec < 1 ? `${(1 / p.ratePerSec).toFixed(1)}s each` : `${p.ratePerSec.toFixed(0)}/s`;
  return `${label} [${bar}] ${count} ${rate} ETA ${eta(p.etaSec)}`;
}

export class ProgressBar {
  private drawn = false;
  constructor(
    private readonly io: CliIo,
    private readonly label: string,
  ) {}

  update(p: JobProgress): void {
    if (!this.io.tty) return;
    this.io.stderr.write(`\r${progressLine(this.label, p)}\x1b[K`);
    this.drawn = true;
  }

  end(): void {
    if (this.drawn) this.io.stderr.write('\n');
    this.drawn = false;
  }
}
