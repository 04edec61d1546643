import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { beforeAfterData, beforeAfterSpec } from '../../../electron/pipeline/figures/attention-before-after';
import { attentionRatioData, attentionRatioSpec } from '../../../electron/pipeline/figures/attention-ratios';
import { figureThumbnail } from '../../../electron/pipeline/figures/build';
import { specToSvg, svgToPng, textToPaths, textWidth } from '../../../electron/pipeline/figures/render';
import { attentionHistograms } from '../../../electron/pipeline/stats/histogram';
import { DEFAULT_SETTINGS, REFERENCE_THRESHOLDS } from '../../../shared/pipeline/defaults';
import type { Format } from '../../../shared/pipeline/formats';
import { metrics } from './metrics';

/** Seeded ratios in [0, 1] for every format and image count the paper's table has. */
function answers() {
  const groups: [Format, number][] = [
    ['sequence', 2],
    ['sequence', 3],
    ['grid', 4],
    ['grid', 9],
    ['pip', 2],
  ];
  let s = 7;
  const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: 400 }, (_, i) => {
    const [format, imageCount] = groups[i % groups.length]!;
    return metrics({ id: `g${i}`, format, imageCount, attentionRatio: rand() * rand() });
  });
}

async function pixels(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, info };
}

/** Pixels within `tol` of an RGB colour. */
function countNear(p: Awaited<ReturnType<typeof pixels>>, rgb: [number, number, number], tol = 12): number {
  let k = 0;
  for (let i = 0; i < p.data.length; i += p.info.channels)
    if (Math.abs(p.data[i]! - rgb[0]) + Math.abs(p.data[i + 1]! - rgb[1]) + Math.abs(p.data[i + 2]! - rgb[2]) <= tol)
      k++;
  return k;
}

describe('Figure 5: attention-ratio histograms with thresholds', () => {
  const all = answers();
  const groups = attentionHistograms(all, DEFAULT_SETTINGS.selection, 20);

  it('has one bar per non-empty bin whose count is the number of answers in it', () => {
    const data = attentionRatioData(groups);
    const names = { sequence: 'Sequence', grid: 'Grid collage', pip: 'Pic-in-pic' } as const;
    for (const bar of data.bars) {
      const inBin = all.filter(
        (m) =>
          names[m.format] === bar.format &&
          `${m.imageCount} images` === bar.images &&
          m.attentionRatio! >= bar.x0 &&
          (m.attentionRatio! < bar.x1 || (bar.x1 === 1 && m.attentionRatio === 1)),
      ).length;
      expect(bar.count).toBe(inBin);
    }
    expect(data.bars.reduce((a, b) => a + b.count, 0)).toBe(all.length);
    expect(data.totals.map((t) => [t.format, t.answers])).toEqual([
      ['Sequence', 160],
      ['Grid collage', 160],
      ['Pic-in-pic', 80],
    ]);
  });

  it("draws each group's threshold at the paper's table value, with its comparison", () => {
    const rules = attentionRatioData(groups).rules.map((r) => [r.format, r.images, r.value, r.label]);
    expect(rules).toEqual([
      ['Sequence', '2 images', REFERENCE_THRESHOLDS.sequence['2']!.value, '2: ≤ 0.8'],
      ['Sequence', '3 images', 0.7, '3: ≤ 0.7'],
      ['Grid collage', '4 images', REFERENCE_THRESHOLDS.grid['4']!.value, '4: < 0.5'],
      ['Grid collage', '9 images', 0.3, '9: < 0.3'],
      ['Pic-in-pic', '2 images', 0.8, '2: < 0.8'],
    ]);
    const spec = attentionRatioSpec(groups) as { data: { values: { kind: string }[] } };
    expect(spec.data.values.filter((v) => v.kind === 'rule')).toHaveLength(5);
  });

  it('renders to an SVG without <text> (glyph outlines) and a PNG at twice its size with bars and rules', async () => {
    const svg = await specToSvg(attentionRatioSpec(groups));
    expect(svg).not.toMatch(/<text/);
    expect(svg).toContain('aria-label="Attention ratio"');
    const [, w, h] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    const png = await svgToPng(svg, 2);
    const p = await pixels(png);
    expect([p.info.width, p.info.height]).toEqual([w! * 2, h! * 2]);
    // Bars of 2 images (#0072B2 at 0.85 over white) and the grid's 9-image threshold line (#56B4E9).
    expect(countNear(p, [38, 135, 193])).toBeGreaterThan(2000);
    expect(countNear(p, [86, 180, 233])).toBeGreaterThan(100);
    // Text is ink: a dark title and axis labels.
    expect(countNear(p, [0, 0, 0], 30)).toBeGreaterThan(3000);
  });
});

describe('text as glyph outlines', () => {
  it('draws a text as wide as the font says, anchored as Vega asked', async () => {
    const text = 'Attention ratio 0.8';
    const width = textWidth(text, 20);
    for (const [anchor, left] of [
      ['start', 250],
      ['middle', 250 - width / 2],
      ['end', 250 - width],
    ] as const) {
      const svg = textToPaths(
        `<svg xmlns="http://www.w3.org/2000/svg" width="500" height="60"><rect width="500" height="60" fill="white"/>` +
          `<text text-anchor="${anchor}" transform="translate(250,40)" font-size="20px" fill="#000">${text}</text></svg>`,
      );
      const p = await pixels(await svgToPng(svg, 1));
      let minX = Infinity;
      let maxX = -Infinity;
      for (let y = 0; y < p.info.height; y++)
        for (let x = 0; x < p.info.width; x++)
          if (p.data[(y * p.info.width + x) * p.info.channels]! < 128) {
            minX = Math.min(minX, x);
            maxX = Math.max(maxX, x);
          }
      // Ink spans the advance minus the side bearings of 'A' and '8' (a pixel or two each).
      expect(minX).toBeGreaterThanOrEqual(Math.floor(left) - 1);
      expect(minX).toBeLessThanOrEqual(left + 3);
      expect(maxX).toBeLessThanOrEqual(left + width + 1);
      expect(maxX).toBeGreaterThanOrEqual(left + width - 4);
    }
  });

  it('draws the same pixels where fontconfig finds no font at all (a bare CI image)', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'figure-fonts-'));
    const conf = path.join(tmp, 'fonts.conf');
    writeFileSync(
      conf,
      `<?xml version="1.0"?><fontconfig><dir>${tmp}/none</dir><cachedir>${tmp}/cache</cachedir></fontconfig>`,
    );
    const svg = await specToSvg(attentionRatioSpec(attentionHistograms(answers(), DEFAULT_SETTINGS.selection, 20)));
    writeFileSync(path.join(tmp, 'f.svg'), svg);
    const raster = `import sharp from 'sharp'; const { data } = await sharp(process.argv[1], { density: 72 }).flatten({ background: '#ffffff' }).raw().toBuffer({ resolveWithObject: true }); process.stdout.write(data.toString('base64'));`;
    const bare = execFileSync(process.execPath, ['--input-type=module', '-e', raster, path.join(tmp, 'f.svg')], {
      env: { ...process.env, FONTCONFIG_FILE: conf },
      maxBuffer: 1 << 26,
    }).toString();
    const here = (await sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).raw().toBuffer()).toString('base64');
    expect(bare.length).toBeGreaterThan(1000);
    expect(bare === here).toBe(true);
  });

  it("keeps a multi-line subtitle's lines apart and unescapes entities", () => {
    const out = textToPaths(
      '<text transform="translate(0,25)" font-size="12px" fill="#000"><tspan>a &lt; b</tspan><tspan x="0" dy="14">c</tspan></text>',
    );
    expect(out.match(/<g role="img" /g)).toHaveLength(2);
    expect(out).toContain('aria-label="a &lt; b"');
    expect(out).toContain('translate(0,25) translate(0 14)');
  });
});

describe('Figure 6: attention before and after over the images', () => {
  const side = 4;
  const map = (k: number) => Array.from({ length: side * side }, (_, i) => ((i + k) % 5) / 100);
  async function thumb(r: number, g: number, b: number) {
    const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r, g, b } } })
      .png()
      .toBuffer();
    return `data:image/png;base64,${png.toString('base64')}`;
  }
  async function input() {
    return {
      question: 'In Image2, what colour is the shape?',
      answer: 'C',
      side,
      layer: 2,
      images: [
        { label: 'Image1', thumbnail: await thumb(255, 0, 0), before: map(1), after: map(0), target: false },
        { label: 'Image2', thumbnail: await thumb(0, 0, 255), before: map(0), after: map(3), target: true },
      ],
      before: { title: 'Before: base (eval run 1)', response: 'Red.', correct: false },
      after: { title: 'After: adapter (eval run 2)', response: 'Blue.', correct: true },
    };
  }

  it('has a cell per patch per image and model, the target marked, and shares that sum to 1', async () => {
    const d = beforeAfterData(await input());
    expect(d.cells).toHaveLength(2 * 2 * side * side);
    expect(d.panels.filter((p) => p.target).map((p) => p.image)).toEqual(['Image2 (target)', 'Image2 (target)']);
    const shares = d.panels.map((p) => Number(p.share.replace('share ', '')));
    expect(shares[0]! + shares[1]!).toBeCloseTo(1, 1);
    expect(d.max).toBeCloseTo(0.04);
  });

  it('renders heatmaps over the thumbnails, the target framed', async () => {
    const svg = await specToSvg(beforeAfterSpec(await input()));
    expect(svg).not.toMatch(/<text/);
    const p = await pixels(await svgToPng(svg, 1));
    expect(p.info.width).toBeGreaterThan(2 * 150);
    // The target frame (#D55E00), and the thumbnails showing through the 60% heatmap: reddish and bluish cells.
    expect(countNear(p, [213, 94, 0], 6)).toBeGreaterThan(4 * 150 * 2);
    let red = 0;
    let blue = 0;
    for (let i = 0; i < p.data.length; i += p.info.channels) {
      if (p.data[i]! > p.data[i + 2]! + 60) red++;
      if (p.data[i + 2]! > p.data[i]! + 60) blue++;
    }
    expect(red).toBeGreaterThan(150 * 150);
    expect(blue).toBeGreaterThan(150 * 150);
  });
  it('stays well-formed XML when an answer holds control characters (byte-fallback decoding)', async () => {
    const i = await input();
    const svg = await specToSvg(beforeAfterSpec({ ...i, after: { ...i.after, response: 'mat\u001d\u0001x' } }));
    // eslint-disable-next-line no-control-regex -- looking for control characters
    expect(svg).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    expect(svg).toContain('mat\ufffd\ufffdx');
    expect((await pixels(await svgToPng(svg, 1))).info.width).toBeGreaterThan(300);
  });
  it("lays an IXC2.5 model's image as its global view: resized at the top, white below (llava: padded centred)", async () => {
    // 150 x 60 in a two-image prompt (hd_num 6, 56 px crops): 3 crops wide, resized to 168 x 67, padded to 168 x 112.
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'fig-thumb-')), 'wide.png');
    await sharp({ create: { width: 150, height: 60, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .png()
      .toFile(file);
    const rowsOf = async (uri: string) => {
      const p = await pixels(Buffer.from(uri.split(',')[1]!, 'base64'));
      const red = (y: number) => p.data[(y * p.info.width + Math.floor(p.info.width / 2)) * p.info.channels + 1]! < 100;
      return Array.from({ length: p.info.height }, (_, y) => red(y));
    };
    const hd = await rowsOf(await figureThumbnail(file, 'pad', { cropSize: 56, hdNum: 6 }));
    const firstWhite = hd.indexOf(false);
    expect(hd[0]).toBe(true);
    expect(firstWhite / hd.length).toBeCloseTo(67 / 112, 1);
    expect(hd.slice(firstWhite).every((r) => !r)).toBe(true);
    const pad = await rowsOf(await figureThumbnail(file, 'pad'));
    expect(pad[0]).toBe(false);
    expect(pad[Math.floor(pad.length / 2)]).toBe(true);
  });
});
