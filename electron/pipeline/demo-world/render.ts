// Draws a scene of ./world.ts as DEMO-WORLD.md defines it: a 112 x 112 RGB
// canvas, one flat object, no anti-aliasing. Pixels are set by testing each
// pixel's centre against the shape, so the image is exact and the same on
// every machine; sharp only encodes the raw pixels as PNG.
import sharp from 'sharp';
import { BACKGROUND_RGB, CANVAS, COLOUR_RGB, POSITION_XY, SIZE_PX, type Scene } from './world';

/** Whether the point (px, py) is inside the scene's object. */
export function insideObject(scene: Scene, px: number, py: number): boolean {
  const d = SIZE_PX[scene.size];
  const [cx, cy] = POSITION_XY[scene.position];
  const h = d / 2;
  const dx = px - cx;
  const dy = py - cy;
  if (dx < -h || dx >= h || dy < -h || dy >= h) return false;
  switch (scene.shape) {
    case 'square':
      return true;
    case 'circle':
      return dx * dx + dy * dy <= h * h;
    case 'triangle':
      // Apex at the top centre, base on the bottom edge: the half width grows linearly downwards.
      return Math.abs(dx) <= ((dy + h) / d) * h;
    case 'cross': {
      const arm = Math.round(d / 3) / 2;
      return (dx >= -arm && dx < arm) || (dy >= -arm && dy < arm);
    }
  }
}

/** The scene's pixels, row-major RGB. */
export function rasterize(scene: Scene): Uint8Array {
  const px = new Uint8Array(CANVAS * CANVAS * 3);
  const bg = BACKGROUND_RGB[scene.background];
  const fg = COLOUR_RGB[scene.colour];
  for (let y = 0; y < CANVAS; y++)
    for (let x = 0; x < CANVAS; x++) {
      const c = insideObject(scene, x + 0.5, y + 0.5) ? fg : bg;
      const at = (y * CANVAS + x) * 3;
      px[at] = c[0];
      px[at + 1] = c[1];
      px[at + 2] = c[2];
    }
  return px;
}

/** The scene as PNG bytes (fixed encoder settings: the same bytes for the same scene). */
export function renderPng(scene: Scene): Promise<Buffer> {
  return sharp(rasterize(scene), { raw: { width: CANVAS, height: CANVAS, channels: 3 } })
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
}
