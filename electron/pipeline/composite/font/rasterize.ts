// Anti-aliased glyph rasterizer: exact signed-area coverage accumulation (the
// algorithm of font-rs), quadratic curves flattened to lines, no hinting.
// Plain float arithmetic, so the same text gives the same pixels everywhere.
import type { Outline } from './truetype';

export class Coverage {
  readonly width: number;
  readonly height: number;
  /** Signed area deltas; prefix sums of a row give coverage. One spare cell per row end. */
  private readonly acc: Float64Array;

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.acc = new Float64Array(width * height + 2);
  }

  /** A line from (x0, y0) to (x1, y1) in pixel coordinates, y down. */
  line(x0: number, y0: number, x1: number, y1: number): void {
    if (y0 === y1) return;
    const dir = y0 < y1 ? 1 : -1;
    if (dir < 0) [x0, y0, x1, y1] = [x1, y1, x0, y0];
    const dxdy = (x1 - x0) / (y1 - y0);
    let x = x0;
    if (y0 < 0) x -= y0 * dxdy;
    const a = this.acc;
    const w = this.width;
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(this.height, Math.ceil(y1)); y++) {
      const rowStart = y * w;
      const dy = Math.min(y + 1, y1) - Math.max(y, y0);
      const xnext = x + dxdy * dy;
      const d = dy * dir;
      const [xa, xb] = x < xnext ? [x, xnext] : [xnext, x];
      const xaFloor = Math.floor(xa);
      const xai = Math.max(0, xaFloor);
      const xbi = Math.ceil(xb);
      if (xbi <= xaFloor + 1) {
        const xmf = 0.5 * (x + xnext) - xaFloor;
        a[rowStart + xai] = (a[rowStart + xai] as number) + d - d * xmf;
        a[rowStart + xai + 1] = (a[rowStart + xai + 1] as number) + d * xmf;
      } else {
        const s = 1 / (xb - xa);
        const xaf = xa - xaFloor;
        const a0 = 0.5 * s * (1 - xaf) * (1 - xaf);
        const xbf = xb - xbi + 1;
        const am = 0.5 * s * xbf * xbf;
        a[rowStart + xai] = (a[rowStart + xai] as number) + d * a0;
        if (xbi === xaFloor + 2) {
          a[rowStart + xai + 1] = (a[rowStart + xai + 1] as number) + d * (1 - a0 - am);
        } else {
          const a1 = s * (1.5 - xaf);
          a[rowStart + xai + 1] = (a[rowStart + xai + 1] as number) + d * (a1 - a0);
          for (let xi = xaFloor + 2; xi < xbi - 1; xi++) a[rowStart + xi] = (a[rowStart + xi] as number) + d * s;
          const a2 = a1 + (xbi - xaFloor - 3) * s;
          a[rowStart + xbi - 1] = (a[rowStart + xbi - 1] as number) + d * (1 - a2 - am);
        }
        a[rowStart + xbi] = (a[rowStart + xbi] as number) + d * am;
      }
      x = xnext;
    }
  }

  /**
   * A quadratic Bezier flattened to n chords; a chord strays at most
   * |p0 - 2c + p1| / (4 n^2) from the curve, kept under 1/50 px.
   */
  quad(x0: number, y0: number, cx: number, cy: number, x1: number, y1: number): void {
    const dev = Math.hypot(x0 - 2 * cx + x1, y0 - 2 * cy + y1);
    const n = Math.max(1, Math.ceil(Math.sqrt(dev * 12.5)));
    let px = x0;
    let py = y0;
    for (let i = 1; i <= n; i++) {
      const t = i / n;
      const mt = 1 - t;
      const qx = mt * mt * x0 + 2 * mt * t * cx + t * t * x1;
      const qy = mt * mt * y0 + 2 * mt * t * cy + t * t * y1;
      this.line(px, py, qx, qy);
      px = qx;
      py = qy;
    }
  }

  /** Coverage 0-255 per pixel (non-zero winding, clamped). */
  toAlpha(): Uint8Array {
    const out = new Uint8Array(this.width * this.height);
    let acc = 0;
    for (let i = 0; i < out.length; i++) {
      acc += this.acc[i] as number;
      out[i] = Math.round(Math.min(1, Math.abs(acc)) * 255);
    }
    return out;
  }
}

/**
 * Draws a TrueType outline (font units, y up) scaled by `scale` with its
 * origin at pixel (ox, oy) (baseline, y down).
 */
export function drawOutline(cov: Coverage, outline: Outline, scale: number, ox: number, oy: number): void {
  const px = (x: number) => ox + x * scale;
  const py = (y: number) => oy - y * scale;
  for (const contour of outline) {
    const n = contour.length;
    if (n === 0) continue;
    // Start on an on-curve point; between two off-curve points lies an implied on-curve midpoint.
    let startIdx = contour.findIndex((p) => p.onCurve);
    const first = contour[startIdx === -1 ? 0 : startIdx]!;
    const last = contour[n - 1]!;
    const start = startIdx === -1 ? { x: (first.x + last.x) / 2, y: (first.y + last.y) / 2 } : first;
    if (startIdx === -1) startIdx = n - 1;
    let cur = start;
    let ctrl: { x: number; y: number } | null = null;
    for (let k = 1; k <= n; k++) {
      const p = contour[(startIdx + k) % n]!;
      if (p.onCurve) {
        if (ctrl) cov.quad(px(cur.x), py(cur.y), px(ctrl.x), py(ctrl.y), px(p.x), py(p.y));
        else cov.line(px(cur.x), py(cur.y), px(p.x), py(p.y));
        cur = p;
        ctrl = null;
      } else if (ctrl) {
        const mid = { x: (ctrl.x + p.x) / 2, y: (ctrl.y + p.y) / 2 };
        cov.quad(px(cur.x), py(cur.y), px(ctrl.x), py(ctrl.y), px(mid.x), py(mid.y));
        cur = mid;
        ctrl = p;
      } else {
        ctrl = p;
      }
    }
    if (ctrl) cov.quad(px(cur.x), py(cur.y), px(ctrl.x), py(ctrl.y), px(start.x), py(start.y));
    else if (cur !== start) cov.line(px(cur.x), py(cur.y), px(start.x), py(start.y));
  }
}
