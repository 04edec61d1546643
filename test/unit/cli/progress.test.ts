// The terminal progress bar: drawn in place on a TTY, silent otherwise.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressBar, progressLine } from '../../../electron/cli/progress';

function sink(): { stream: Writable; text(): string } {
  let text = '';
  return {
    stream: new Writable({ write: (c: Buffer, _e, done) => ((text += c.toString()), done()) }),
    text: () => text,
  };
}

describe('progress bar', () => {
  it('shows the share done, the rate and the ETA', () => {
    expect(progressLine('import', { done: 250, total: 1000, ratePerSec: 50, etaSec: 15 }, 8)).toBe(
      'import [##------] 250/1000 50/s ETA 0m15s',
    );
    expect(progressLine('import', { done: 7, total: null, ratePerSec: 0, etaSec: null }, 4)).toBe(
      'import [----] 7 0/s ETA --',
    );
    expect(progressLine('x', { done: 1, total: 2, ratePerSec: 1, etaSec: 3725 }, 2)).toBe('x [#-] 1/2 1/s ETA 1h02m');
    expect(progressLine('train', { done: 3, total: 10, ratePerSec: 0.25, etaSec: 28 }, 2)).toBe(
      'train [#-] 3/10 4.0s each ETA 0m28s',
    );
  });

  it('redraws one line on a TTY and writes nothing otherwise', async () => {
    const tty = sink();
    const bar = new ProgressBar({ stdout: tty.stream, stderr: tty.stream, tty: true }, 'import');
    bar.update({ done: 1, total: 2, ratePerSec: 1, etaSec: 1 });
    bar.update({ done: 2, total: 2, ratePerSec: 1, etaSec: 0 });
    bar.end();
    expect(tty.text().split('\r').filter(Boolean)).toHaveLength(2);
    expect(tty.text().endsWith('\n')).toBe(true);
    const pipe = sink();
    const silent = new ProgressBar({ stdout: pipe.stream, stderr: pipe.stream, tty: false }, 'import');
    silent.update({ done: 1, total: 2, ratePerSec: 1, etaSec: 1 });
    silent.end();
    expect(pipe.text()).toBe('');
  });
});
