// One image of a pair with the captured layer's attention over it: the
// per-image map (side x side) coloured with viridis on a small canvas, scaled
// up by the browser with smoothing (bilinear) to the image's box, at the
// chosen opacity. Maps are scaled by the pair's largest value (`max`), so the
// images of one pair compare; the legend says what the colours mean.
import { useEffect, useRef } from 'react';
import { viridis, viridisGradient } from '../../lib/colormap';

interface Props {
  src: string;
  alt: string;
  /** side x side, row-major; null: no attention recorded for this image. */
  map: readonly number[] | null;
  side: number | null;
  max: number;
  opacity: number;
  target: boolean;
  caption: string;
}

/** The map as RGBA pixels (side x side), values scaled by `max`. */
export function heatmapPixels(map: readonly number[], side: number, max: number): Uint8ClampedArray<ArrayBuffer> {
  const px = new Uint8ClampedArray(side * side * 4);
  for (let i = 0; i < side * side; i++) {
    const [r, g, b] = viridis(max > 0 ? (map[i] ?? 0) / max : 0);
    px.set([r, g, b, 255], i * 4);
  }
  return px;
}

export function AttentionImage({ src, alt, map, side, max, opacity, target, caption }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext('2d');
    if (!el || !ctx || map === null || side === null) return;
    el.width = side;
    el.height = side;
    ctx.putImageData(new ImageData(heatmapPixels(map, side, max), side, side), 0, 0);
  }, [map, side, max]);
  return (
    <figure className={`attn-figure${target ? ' attn-target' : ''}`}>
      <div className="attn-stack">
        <img src={src} alt={alt} draggable={false} />
        {map !== null && side !== null && (
          <canvas ref={canvas} className="attn-canvas" style={{ opacity }} aria-hidden="true" data-testid="heatmap" />
        )}
      </div>
      <figcaption>
        {caption}
        {target && <span className="badge-target">target</span>}
      </figcaption>
    </figure>
  );
}

export function HeatmapLegend({ max }: { max: number }) {
  return (
    <div className="attn-legend" aria-label={`Attention scale, viridis: dark purple 0, yellow ${max.toPrecision(3)}`}>
      <span>0</span>
      <span className="attn-legend-bar" style={{ background: viridisGradient() }} />
      <span>{max.toPrecision(3)}</span>
      <span className="muted">attention (share of the answer's attention per patch)</span>
    </div>
  );
}
