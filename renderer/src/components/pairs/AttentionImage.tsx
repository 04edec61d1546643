// One image of a pair with the captured layer's attention over it: the
// per-image map (side x side) coloured with viridis on a small canvas, scaled
// up by the browser with smoothing (bilinear) to the image's box, at the
// chosen opacity. With a `coverage` (IXC2.5's global view) the image is drawn
// at the top-left over that part of the box, white around it, as the model saw
// it under the map. Maps are scaled by the pair's largest value (`max`), so the
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
  /**
   * The part of the map the image fills from the top-left (IXC2.5's global view: the image with white padding below or
   * to the right, squeezed to a square); absent: the image fills the box as the page's fit says.
   */
  coverage?: { x: number; y: number } | undefined;
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

export function AttentionImage({ src, alt, map, side, max, opacity, target, caption, coverage }: Props) {
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
      <div className={`attn-stack${coverage ? ' attn-stack-hd' : ''}`}>
        <img
          src={src}
          alt={alt}
          draggable={false}
          style={coverage ? { width: `${100 * coverage.x}%`, height: `${100 * coverage.y}%` } : undefined}
        />
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
