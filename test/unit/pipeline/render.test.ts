import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderGrid } from '../../../electron/pipeline/composite/render-grid';
import { renderPip } from '../../../electron/pipeline/composite/render-pip';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';
import { makeImage, tempDir } from './fixture-images';

const g = DEFAULT_SETTINGS.geometry;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let dir: string;
let images: { id: string; file: string }[];

async function raw(file: string) {
  return sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

beforeAll(async () => {
  dir = await tempDir();
  const sizes: [number, number][] = [
    [640, 480],
    [480, 640],
    [300, 300],
    [1000, 250],
    [640, 480],
    [200, 120],
    [640, 480],
    [500, 700],
    [640, 480],
  ];
  images = await Promise.all(
    sizes.map(async ([w, h], i) => ({
      id: `img${i}`,
      file: await makeImage(dir, `i${i}.${i % 2 ? 'png' : 'jpg'}`, w, h, i),
    })),
  );
});

describe('grid rendering', () => {
  it.each([2, 3, 4, 6, 9])(
    '%i images: canvas size, white gaps, image pixels in the slot, byte-identical rerun',
    async (n) => {
      const req = { sourceSampleId: 's1', images: images.slice(0, n), targetIndex: 1 };
      const a = await renderGrid(req, g, path.join(dir, 'cache'));
      const b = await renderGrid(req, g, path.join(dir, 'cache2'));
      expect((await readFile(a.path)).equals(await readFile(b.path))).toBe(true);
      expect(a.provenance).toEqual(b.provenance);
      const { data, info } = await raw(a.path);
      expect([info.width, info.height]).toEqual([a.provenance.canvas.width, a.provenance.canvas.height]);
      const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
      // Gap column between the first two slots, below the label strip: white.
      for (let y = 40; y < 488; y += 37) expect(px(448 + 20, y)).toEqual([255, 255, 255]);
      // Inside the first tile: the image (its red channel is a left-to-right ramp).
      const t = a.provenance.tiles[0]!;
      expect(px(t.x + 2, t.y + 100)[0]).toBeLessThan(20);
      expect(px(t.x + t.width - 3, t.y + 100)[0]).toBeGreaterThan(230);
    },
  );

  it('draws each label as dark ink in the margin strip, starting 20 px right of the slot', async () => {
    const r = await renderGrid(
      { sourceSampleId: 's', images: images.slice(0, 4), targetIndex: 2 },
      g,
      path.join(dir, 'cache'),
    );
    const { data, info } = await raw(r.path);
    for (const slot of [
      { x: 0, y: 40 },
      { x: 488, y: 40 },
      { x: 0, y: 528 },
      { x: 488, y: 528 },
    ]) {
      let minX = Infinity;
      let dark = 0;
      for (let y = slot.y - 40; y < slot.y; y++) {
        for (let x = slot.x; x < slot.x + 448; x++) {
          if ((data[(y * info.width + x) * 3] as number) < 100) {
            dark++;
            minX = Math.min(minX, x);
          }
        }
      }
      expect(dark).toBeGreaterThan(150);
      expect(minX - slot.x).toBeGreaterThanOrEqual(20);
      expect(minX - slot.x).toBeLessThanOrEqual(26);
    }
  });

  it('renders the same bytes in a process that sees no system fonts', async () => {
    const req = { sourceSampleId: 's', images: images.slice(0, 3), targetIndex: 3 };
    const here = await renderGrid(req, g, path.join(dir, 'cache'));
    const conf = path.join(dir, 'fonts.conf');
    await writeFile(
      conf,
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><cachedir>${path.join(dir, 'fc-cache')}</cachedir></fontconfig>\n`,
    );
    const script = path.join(dir, 'render-child.mts');
    await writeFile(
      script,
      `import { renderGrid } from ${JSON.stringify(path.join(root, 'electron/pipeline/composite/render-grid.ts'))};\n` +
        `import { DEFAULT_SETTINGS } from ${JSON.stringify(path.join(root, 'shared/pipeline/defaults.ts'))};\n` +
        `const r = await renderGrid(${JSON.stringify(req)}, DEFAULT_SETTINGS.geometry, ${JSON.stringify(path.join(dir, 'child-cache'))});\n` +
        `process.stdout.write(r.provenance.sha256);\n`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      env: { ...process.env, FONTCONFIG_FILE: conf, FONTCONFIG_PATH: dir, XDG_DATA_HOME: dir, HOME: dir },
    });
    expect(stdout.trim()).toBe(here.provenance.sha256);
  });
});

describe('pic-in-pic rendering', () => {
  it('pastes the resized inset centred and leaves the host untouched elsewhere', async () => {
    const host = images[3]!; // 1000x250: height limits the inset
    const inset = images[2]!; // 300x300
    const r = await renderPip(
      { sourceSampleId: 's', images: [host, inset], targetIndex: 2 },
      g,
      path.join(dir, 'cache'),
    );
    expect(r.provenance.tiles[1]).toEqual({ x: 412, y: 37, width: 175, height: 175 });
    const out = await raw(r.path);
    const orig = await raw(host.file);
    const at = (buf: Buffer, x: number, y: number) => [...buf.subarray((y * 1000 + x) * 3, (y * 1000 + x) * 3 + 3)];
    for (const [x, y] of [
      [5, 5],
      [411, 100],
      [588, 100],
      [500, 36],
      [500, 212],
      [999, 249],
    ] as const)
      expect(at(out.data, x, y)).toEqual(at(orig.data, x, y));
    const again = await renderPip(
      { sourceSampleId: 's', images: [host, inset], targetIndex: 2 },
      g,
      path.join(dir, 'cache3'),
    );
    expect(again.provenance.sha256).toBe(r.provenance.sha256);
  });

  it('names the file it cannot read', async () => {
    await expect(
      renderPip(
        { sourceSampleId: 's', images: [images[0]!, { id: 'x', file: path.join(dir, 'missing.jpg') }], targetIndex: 2 },
        g,
        dir,
      ),
    ).rejects.toThrow(/missing\.jpg/);
  });
});
