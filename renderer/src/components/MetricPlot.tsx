// A live line plot of training metrics drawn by uPlot on a canvas: one or more
// series over the optimizer step. The chart is created once and fed new data
// with setData as steps stream in; it follows its container's width. For
// screen readers (and tests) the caption states each series' latest value.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface PlotSeries {
  label: string;
  values: readonly (number | null)[];
  /** CSS colour of the line; colour-blind-safe defaults (Okabe-Ito) by position. */
  stroke?: string;
}

const OKABE_ITO = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];
const HEIGHT = 170;

/** uPlot's aligned data: the x values, then one array per series (null where a series has no value). */
export function alignedData(steps: readonly number[], series: readonly PlotSeries[]): uPlot.AlignedData {
  return [Float64Array.from(steps), ...series.map((s) => steps.map((_, i) => s.values[i] ?? null))];
}

export function formatMetric(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(4).replace(/\.?0+$/, '');
}

export function MetricPlot({
  title,
  steps,
  series,
}: {
  title: string;
  steps: readonly number[];
  series: readonly PlotSeries[];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const chart = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: HEIGHT,
        legend: { show: series.length > 1 },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false } },
        axes: [
          { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' } },
          { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 60 },
        ],
        series: [
          { label: 'step' },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: s.stroke ?? OKABE_ITO[i % OKABE_ITO.length]!,
            width: 1.5,
            spanGaps: true,
          })),
        ],
      },
      alignedData(steps, series),
      el,
    );
    plot.current = chart;
    const observer =
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver(() => {
            if (el.clientWidth > 0) chart.setSize({ width: el.clientWidth, height: HEIGHT });
          });
    observer?.observe(el);
    return () => {
      observer?.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series change; new data goes through setData below.
  }, [labels]);

  useEffect(() => {
    plot.current?.setData(alignedData(steps, series));
  }, [steps, series]);

  const last = steps.length - 1;
  return (
    <figure className="metric-plot" role="group" aria-label={`${title} plot`}>
      <figcaption>
        <strong>{title}</strong>{' '}
        <span className="muted" aria-label={`${title} latest`}>
          {last < 0
            ? 'no steps yet'
            : `${series.map((s) => `${s.label} ${formatMetric(s.values[last])}`).join(', ')} at step ${steps[last]}`}
        </span>
      </figcaption>
      <div ref={box} className="metric-plot-canvas" />
    </figure>
  );
}
