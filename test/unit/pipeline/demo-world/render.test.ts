// The rendered PNGs, read back with sharp, are the scenes DEMO-WORLD.md
// defines: 112 x 112 RGB, the object's colour at its bounding-box centre, the
// background elsewhere, the object inside its d x d box at the scene's
// position, and each shape's area as geometry gives it (an oracle independent
// of the pixel test the renderer uses).
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderPng } from '../../../../electron/pipeline/demo-world/render';
import {
  BACKGROUND_RGB,
  COLOUR_RGB,
  POSITION_XY,
  SHAPES,
  SIZE_PX,
  allScenes,
  sceneId,
  type Scene,
} from '../../../../electron/pipeline/demo-world/world';

async function pixels(png: Buffer): Promise<{ width: number; height: number; channels: number; data: Buffer }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

/** The area geometry gives each shape of side d (cross: two arms of width round(d/3), the centre counted once). */
function expectedArea(scene: Scene): number {
  const d = SIZE_PX[scene.size];
  const w = Math.round(d / 3);
  return { circle: (Math.PI * d * d) / 4, square: d * d, triangle: (d * d) / 2, cross: 2 * d * w - w * w }[scene.shape];
}

// Every shape, size, colour and background at least once, each position several times.
const SAMPLE = allScenes().filter((_, i) => i % 7 === 0);

describe('renderPng', () => {
  it('draws each sampled scene exactly where and as DEMO-WORLD.md says', async () => {
    expect(new Set(SAMPLE.map((s) => `${s.shape}/${s.size}`)).size).toBe(SHAPES.length * 2);
    for (const scene of SAMPLE) {
      const img = await pixels(await renderPng(scene));
      expect([img.width, img.height, img.channels], sceneId(scene)).toEqual([112, 112, 3]);
      const at = (x: number, y: number) => [...img.data.subarray((y * 112 + x) * 3, (y * 112 + x) * 3 + 3)];
      const fg = [...COLOUR_RGB[scene.colour]];
      const bg = [...BACKGROUND_RGB[scene.background]];
      const [cx, cy] = POSITION_XY[scene.position];
      expect(at(cx, cy), `centre of ${sceneId(scene)}`).toEqual(fg);
      let area = 0;
      const stray: string[] = [];
      let [x0, y0, x1, y1] = [112, 112, -1, -1];
      for (let y = 0; y < 112; y++)
        for (let x = 0; x < 112; x++) {
          const c = at(x, y).join();
          if (c === fg.join()) {
            area++;
            [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
          } else if (c !== bg.join()) stray.push(`${x},${y}: ${c}`);
        }
      expect(stray, `pixels of neither colour in ${sceneId(scene)}`).toEqual([]);
      const d = SIZE_PX[scene.size];
      // The object stays inside its box [c - d/2, c + d/2) and touches its sides (the triangle's apex is one point).
      expect(x0).toBeGreaterThanOrEqual(cx - d / 2);
      expect(x1).toBeLessThan(cx + d / 2);
      expect(y1).toBeLessThan(cy + d / 2);
      expect(x1 - x0 + 1).toBeGreaterThanOrEqual(d - 2);
      expect(y1 - y0 + 1).toBeGreaterThanOrEqual(d - 2);
      expect(Math.abs(area - expectedArea(scene)) / expectedArea(scene), sceneId(scene)).toBeLessThan(0.04);
    }
  });

  it('puts the triangle apex up and the base at the bottom', async () => {
    const scene: Scene = { shape: 'triangle', colour: 'red', size: 'large', position: 'centre', background: 'white' };
    const img = await pixels(await renderPng(scene));
    const rowWidth = (y: number) => {
      let n = 0;
      for (let x = 0; x < 112; x++) if (img.data[(y * 112 + x) * 3 + 1] === COLOUR_RGB.red[1]) n++;
      return n;
    };
    expect(rowWidth(56 - 25)).toBeLessThan(4);
    expect(rowWidth(56 + 25)).toBeGreaterThan(48);
  });

  it('gives the same bytes for the same scene', async () => {
    const s = SAMPLE[3]!;
    expect((await renderPng(s)).equals(await renderPng({ ...s }))).toBe(true);
  });
});
