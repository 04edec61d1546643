// A histogram drawn with uPlot (bars on a canvas) with optional bound lines
// and one draggable threshold: a handle over the plot that is a slider for
// the keyboard (arrows, Page keys, Home/End) and follows the pointer while
// dragged, reporting every move (`onChange`) so counts update live.
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface HistogramProps {
  /** Accessible name of the plot, e.g. "Attention ratio, grid, 4 images". */
  label: string;
  /** bins + 1 edges; bin i is [edges[i], edges[i+1]). */
  edges: readonly number[];
  counts: readonly number[];
  height?: number;
  /** Fixed lines (post-selection bounds). */
  markers?: readonly { value: number; label: string }[];
  threshold?: {
    value: number;
    min: number;
    max: number;
    step: number;
    onChange(value: number): void;
  };
}

/** To the step's grid, without binary fractions' tails (0.44, not 0.44000000000000006). */
const round = (v: number, step: number) => Number((Math.round(v / step) * step).toFixed(10));
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function cssVar(name: string, fallback: string): string {
  const v =
    typeof getComputedStyle === 'function' ? getComputedStyle(document.documentElement).getPropertyValue(name) : '';
  return v.trim() || fallback;
}

export function Histogram({ label, edges, counts, height = 160, markers = [], threshold }: HistogramProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const markersRef = useRef(markers);
  markersRef.current = markers;
  const [box, setBox] = useState({ left: 0, top: 0, width: 0, height: 0 });

  // The plot, made once per data shape; data updates go through setData.
  useLayoutEffect(() => {
    const el = host.current;
    if (el === null) return;
    const accent = cssVar('--accent', '#2f6fdb');
    const text = cssVar('--muted', '#5b6472');
    const grid = cssVar('--border', '#d8dde4');
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [edges[0] ?? 0, edges[edges.length - 1] ?? 1] } },
        axes: [axis, { ...axis, size: 44 }],
        series: [
          {},
          {
            label: 'count',
            fill: accent + '99',
            stroke: accent,
            paths: uPlot.paths.bars!({ size: [1, Infinity], gap: 1, align: 1 }),
            points: { show: false },
          },
        ],
        hooks: {
          draw: [
            (self) => {
              const ctx = self.ctx;
              ctx.save();
              ctx.strokeStyle = cssVar('--muted', '#5b6472');
              ctx.setLineDash([4, 3]);
              ctx.lineWidth = 1.5 * devicePixelRatio;
              for (const m of markersRef.current) {
                const x = self.valToPos(m.value, 'x', true);
                ctx.beginPath();
                ctx.moveTo(x, self.bbox.top);
                ctx.lineTo(x, self.bbox.top + self.bbox.height);
                ctx.stroke();
              }
              ctx.restore();
            },
          ],
        },
      },
      [edges.slice(0, -1), counts.slice()] as uPlot.AlignedData,
      el,
    );
    plot.current = u;
    const measure = () => {
      const over = u.over;
      setBox({ left: over.offsetLeft, top: over.offsetTop, width: over.clientWidth, height: over.clientHeight });
    };
    measure();
    const observer = new ResizeObserver(() => {
      u.setSize({ width: Math.max(200, el.clientWidth), height });
      measure();
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the bins change shape; counts and markers update in place below.
  }, [edges.length, edges[0], edges[edges.length - 1], height]);

  useEffect(() => {
    plot.current?.setData([edges.slice(0, -1), counts.slice()] as uPlot.AlignedData);
  }, [edges, counts]);
  useEffect(() => {
    plot.current?.redraw(false);
  }, [markers]);

  const lo = edges[0] ?? 0;
  const hi = edges[edges.length - 1] ?? 1;
  const toX = (v: number) => (box.width * (clamp(v, lo, hi) - lo)) / (hi - lo || 1);
  const fromX = (x: number) => lo + ((hi - lo) * clamp(x, 0, box.width)) / (box.width || 1);

  const dragging = useRef(false);
  const onPointer = (e: PointerEvent<HTMLDivElement>) => {
    if (!threshold) return;
    if (e.type === 'pointerdown') {
      dragging.current = true;
      e.currentTarget.setPointerCapture?.(e.pointerId);
      e.currentTarget.focus();
    } else if (e.type === 'pointerup' || e.type === 'pointercancel') dragging.current = false;
    if (!dragging.current && e.type !== 'pointerup') return;
    const rect = host.current!.getBoundingClientRect();
    const v = round(fromX(e.clientX - rect.left - box.left), threshold.step);
    if (v !== threshold.value) threshold.onChange(clamp(v, threshold.min, threshold.max));
  };
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (!threshold) return;
    const { step, min, max, value } = threshold;
    const by: Record<string, number> = {
      ArrowRight: step,
      ArrowUp: step,
      ArrowLeft: -step,
      ArrowDown: -step,
      PageUp: step * 10,
      PageDown: -step * 10,
      Home: -Infinity,
      End: Infinity,
    };
    const d = by[e.key];
    if (d === undefined) return;
    e.preventDefault();
    threshold.onChange(clamp(round(value + d, step), min, max));
  };

  return (
    <div className="hist-plot" role="figure" aria-label={label}>
      <div ref={host} />
      {threshold && (
        <div
          className="hist-handle"
          role="slider"
          tabIndex={0}
          aria-label={`Threshold: ${label}`}
          aria-valuemin={threshold.min}
          aria-valuemax={threshold.max}
          aria-valuenow={threshold.value}
          aria-valuetext={threshold.value.toFixed(2)}
          style={{ left: box.left + toX(threshold.value), top: box.top, height: box.height }}
          onPointerDown={onPointer}
          onPointerMove={onPointer}
          onPointerUp={onPointer}
          onPointerCancel={onPointer}
          onKeyDown={onKey}
        />
      )}
    </div>
  );
}
