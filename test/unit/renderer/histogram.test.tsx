// @vitest-environment happy-dom
// The histogram component (uPlot on a canvas) as the Thresholds page uses it:
// its threshold is a slider for the keyboard, each step reported at once and
// kept on the step grid and in range; the bars are handed to uPlot as left
// edges and counts. happy-dom has no 2D canvas, so a recording stub stands in.
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Histogram } from '../../../renderer/src/components/thresholds/Histogram';

/** A 2D context whose every method records its name and whose properties accept anything. */
function stubContext(calls: string[]): CanvasRenderingContext2D {
  return new Proxy({} as Record<string | symbol, unknown>, {
    get: (t, k) =>
      k in t
        ? t[k]
        : k === 'measureText'
          ? () => ({ width: 10 })
          : (...args: unknown[]) => {
              calls.push(String(k));
              return args.length < 0 ? undefined : { addColorStop: () => undefined };
            },
    set: (t, k, v) => ((t[k] = v), true),
  }) as unknown as CanvasRenderingContext2D;
}

const calls: string[] = [];
/** The rectangles of every Path2D uPlot built (its bars). */
const rects: number[][] = [];
class StubPath2D {
  rect(...a: number[]) {
    rects.push(a);
  }
  moveTo() {}
  lineTo() {}
  closePath() {}
  arc() {}
  addPath() {}
}
beforeAll(() => {
  (globalThis as { Path2D?: unknown }).Path2D ??= StubPath2D;
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(() => stubContext(calls) as never);
  globalThis.ResizeObserver ??= class {
    observe() {}
    disconnect() {}
    unobserve() {}
  } as unknown as typeof ResizeObserver;
});
afterEach(cleanup);

const EDGES = [0, 0.25, 0.5, 0.75, 1];
const COUNTS = [3, 5, 2, 1];

function Controlled({ onChange }: { onChange(v: number): void }) {
  const [value, setValue] = useState(0.5);
  return (
    <Histogram
      label="Attention ratio, grid, 4 images"
      edges={EDGES}
      counts={COUNTS}
      markers={[{ value: 0.3, label: 'min' }]}
      threshold={{
        value,
        min: 0,
        max: 1,
        step: 0.01,
        onChange: (v) => {
          onChange(v);
          setValue(v);
        },
      }}
    />
  );
}

describe('Histogram', () => {
  it('draws into a uPlot chart and exposes the threshold as a slider', async () => {
    const seen: number[] = [];
    rects.length = 0;
    render(<Controlled onChange={(v) => seen.push(v)} />);
    // One bar per bin, taller for larger counts (canvas y grows downwards).
    // (uPlot also builds one clip rectangle, as wide as the whole plot.)
    await waitFor(() => expect(rects.length).toBe(COUNTS.length + 1));
    const widest = Math.max(...rects.map((r) => r[2]!));
    const heights = rects.filter((r) => r[2]! < widest).map((r) => Math.abs(r[3]!));
    expect(heights).toHaveLength(COUNTS.length);
    expect(heights[1]).toBeGreaterThan(heights[0]!);
    expect(heights[0]).toBeGreaterThan(heights[2]!);
    expect(heights[2]).toBeGreaterThan(heights[3]!);
    expect(
      screen.getByRole('figure', { name: 'Attention ratio, grid, 4 images' }).querySelector('.uplot'),
    ).toBeTruthy();
    const slider = screen.getByRole('slider', { name: 'Threshold: Attention ratio, grid, 4 images' });
    expect(slider.getAttribute('aria-valuenow')).toBe('0.5');

    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    fireEvent.keyDown(slider, { key: 'ArrowLeft' });
    fireEvent.keyDown(slider, { key: 'PageDown' });
    expect(seen).toEqual([0.51, 0.52, 0.51, 0.41]);
    expect(slider.getAttribute('aria-valuenow')).toBe('0.41');
    fireEvent.keyDown(slider, { key: 'End' });
    fireEvent.keyDown(slider, { key: 'ArrowRight' });
    expect(seen.slice(-2)).toEqual([1, 1]);
    fireEvent.keyDown(slider, { key: 'Home' });
    expect(slider.getAttribute('aria-valuetext')).toBe('0.00');
  });

  it('has no slider without a threshold', () => {
    render(<Histogram label="Perplexity" edges={EDGES} counts={COUNTS} />);
    expect(screen.queryByRole('slider')).toBeNull();
  });
});
