// @vitest-environment happy-dom
// The training plot component: uPlot (replaced by a recorder, happy-dom has no
// canvas) receives the steps and series aligned, new steps through setData
// without a new chart, a new chart only when the series change, and is
// destroyed on unmount; the caption states each series' latest value.
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const charts = vi.hoisted(
  () =>
    [] as {
      opts: { series: { label?: string; stroke?: string }[]; width: number; height: number };
      data: unknown[][];
      setData: ReturnType<typeof vi.fn>;
      destroyed: boolean;
      target: HTMLElement;
    }[],
);

vi.mock('uplot', () => ({
  default: class FakeUPlot {
    setData = vi.fn();
    setSize = vi.fn();
    constructor(opts: never, data: unknown[][], target: HTMLElement) {
      charts.push({
        opts,
        data: data.map((a) => Array.from(a as ArrayLike<unknown>)),
        setData: this.setData,
        destroyed: false,
        target,
      });
    }
    destroy() {
      charts.find((c) => c.setData === this.setData)!.destroyed = true;
    }
  },
}));

const { MetricPlot, alignedData, formatMetric } = await import('../../../renderer/src/components/MetricPlot');

beforeEach(() => {
  charts.length = 0;
});
afterEach(cleanup);

describe('MetricPlot', () => {
  it('aligns series to the steps, null where a series has no value yet', () => {
    const data = alignedData([1, 2, 3], [{ label: 'a', values: [0.5, 0.25] }]);
    expect(Array.from(data[0] as ArrayLike<number>)).toEqual([1, 2, 3]);
    expect(data[1]).toEqual([0.5, 0.25, null]);
  });

  it('draws the series into its container and feeds new steps with setData', () => {
    const series = [
      { label: 'chosen', values: [0.1, 0.2] },
      { label: 'rejected', values: [-0.1, -0.3] },
    ];
    const { rerender, container } = render(<MetricPlot title="Rewards" steps={[1, 2]} series={series} />);
    expect(charts).toHaveLength(1);
    const chart = charts[0]!;
    expect(chart.opts.series.map((s) => s.label)).toEqual(['step', 'chosen', 'rejected']);
    // Distinct colour-blind-safe strokes.
    expect(new Set(chart.opts.series.slice(1).map((s) => s.stroke)).size).toBe(2);
    expect(chart.data).toEqual([
      [1, 2],
      [0.1, 0.2],
      [-0.1, -0.3],
    ]);
    expect(container.querySelector('.metric-plot-canvas')).toBe(chart.target);
    expect(screen.getByLabelText('Rewards latest').textContent).toBe('chosen 0.2, rejected -0.3 at step 2');

    const more = [
      { label: 'chosen', values: [0.1, 0.2, 0.4] },
      { label: 'rejected', values: [-0.1, -0.3, -0.5] },
    ];
    rerender(<MetricPlot title="Rewards" steps={[1, 2, 3]} series={more} />);
    expect(charts).toHaveLength(1);
    const last = chart.setData.mock.calls.at(-1)![0] as ArrayLike<number>[];
    expect(last.map((a) => Array.from(a))).toEqual([
      [1, 2, 3],
      [0.1, 0.2, 0.4],
      [-0.1, -0.3, -0.5],
    ]);
    expect(screen.getByLabelText('Rewards latest').textContent).toBe('chosen 0.4, rejected -0.5 at step 3');
  });

  it('builds a new chart when the series change and destroys charts on unmount', () => {
    const { rerender, unmount } = render(
      <MetricPlot title="Loss" steps={[]} series={[{ label: 'loss', values: [] }]} />,
    );
    expect(screen.getByLabelText('Loss latest').textContent).toBe('no steps yet');
    rerender(<MetricPlot title="Loss" steps={[1]} series={[{ label: 'sft', values: [2] }]} />);
    expect(charts).toHaveLength(2);
    expect(charts[0]!.destroyed).toBe(true);
    unmount();
    expect(charts[1]!.destroyed).toBe(true);
  });

  it('formats values compactly', () => {
    expect(formatMetric(0.693147)).toBe('0.6931');
    expect(formatMetric(5e-5)).toBe('5.00e-5');
    expect(formatMetric(2)).toBe('2');
    expect(formatMetric(null)).toBe('–');
    expect(formatMetric(Number.NaN)).toBe('–');
  });
});
