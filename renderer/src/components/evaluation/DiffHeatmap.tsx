// One image's attention difference (adapter minus base) as a heatmap on a
// canvas: a diverging, colour-blind-safe scale (blue: less attention, orange:
// more) symmetric around 0, with its legend. A row of values (no square side)
// is drawn as one strip.
import { useEffect, useRef } from 'react';
import { formatMetric } from '../MetricPlot';

/** Blue (-1) -> white (0) -> orange (+1), as RGB. */
export function divergingColour(t: number): [number, number, number] {
  const x = Math.max(-1, Math.min(1, t));
  const [r, g, b] = x < 0 ? [0, 114, 178] : [230, 159, 0];
  const a = Math.abs(x);
  return [Math.round(255 + (r - 255) * a), Math.round(255 + (g - 255) * a), Math.round(255 + (b - 255) * a)];
}

export function DiffHeatmap({
  values,
  side,
  label,
}: {
  values: readonly number[];
  side: number | null;
  label: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const cols = side ?? values.length;
  const rows = side === null ? 1 : Math.ceil(values.length / side);
  const max = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx || cols === 0) return;
    const image = ctx.createImageData(cols, rows);
    values.forEach((v, i) => {
      const [r, g, b] = divergingColour(max > 0 ? v / max : 0);
      image.data.set([r, g, b, 255], i * 4);
    });
    ctx.putImageData(image, 0, 0);
  }, [values, cols, rows, max]);
  return (
    <figure className="heatmap">
      <canvas ref={canvas} width={cols} height={rows} role="img" aria-label={label} />
      <figcaption className="heatmap-legend">
        <span className="legend-bar" aria-hidden="true" />
        <span>
          −{formatMetric(max)} less attention · 0 · +{formatMetric(max)} more
        </span>
      </figcaption>
    </figure>
  );
}
