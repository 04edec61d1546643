// `Image{n}` labels drawn from the bundled DejaVu Sans file with our own
// rasterizer (font/), not Pango: Pango follows the machine's fontconfig
// (hinting, antialiasing), so composites would differ between machines.
// Labels are cached per text, size and font.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../../shared/errors';
import { Coverage, drawOutline } from './font/rasterize';
import type { Font } from './font/truetype';
import { parseFont } from './font/truetype';

export const BUNDLED_FONT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../assets/fonts/DejaVuSans.ttf',
);

export interface LabelImage {
  /** Ink coverage 0-255, one byte per pixel. */
  alpha: Uint8Array;
  width: number;
  height: number;
  /** Pen start inside the image: glyphs may reach left of it (negative side bearings). */
  originX: number;
}

/** Room left and right of the text for glyphs that overhang their advance. */
const PAD = 4;

const fonts = new Map<string, Font>();
const labels = new Map<string, LabelImage>();

export function loadFont(file: string): Font {
  let font = fonts.get(file);
  if (!font) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new AppError('not-found', `label font ${file} cannot be read`, { subject: file, cause: e });
    }
    font = parseFont(bytes, file);
    fonts.set(file, font);
  }
  return font;
}

/**
 * The label's coverage, anchored like Pillow's `draw.text` default (`la`):
 * the box's top is the font's ascender line, `originX` the pen start (sub-pixel
 * advances, no hinting, no kerning). The box reaches down to the descender.
 */
export function renderLabel(text: string, fontPx: number, fontFile = BUNDLED_FONT): LabelImage {
  const key = `${fontFile}\0${fontPx}\0${text}`;
  const hit = labels.get(key);
  if (hit) return hit;
  const font = loadFont(fontFile);
  const scale = fontPx / font.unitsPerEm;
  const glyphs = Array.from(text, (ch) => {
    const g = font.glyphIndex(ch.codePointAt(0) as number);
    if (g === 0)
      throw new AppError('unsupported', `label font ${fontFile} has no glyph for '${ch}' (label '${text}')`, {
        subject: fontFile,
      });
    return g;
  });
  const width = Math.ceil(glyphs.reduce((s, g) => s + font.advance(g), 0) * scale) + 2 * PAD;
  const baseline = font.ascender * scale;
  const boxHeight = Math.ceil((font.ascender - font.descender) * scale) + 1;
  const cov = new Coverage(width, boxHeight);
  let x = PAD;
  for (const g of glyphs) {
    drawOutline(cov, font.outline(g), scale, x, baseline);
    x += font.advance(g) * scale;
  }
  const label = { alpha: cov.toAlpha(), width, height: boxHeight, originX: PAD };
  labels.set(key, label);
  return label;
}

/** Black ink over an RGB canvas with the pen start at (penX, top): channel * (1 - coverage). */
export function blendLabel(
  canvas: Uint8Array,
  canvasWidth: number,
  label: LabelImage,
  penX: number,
  top: number,
): void {
  const left = penX - label.originX;
  const canvasHeight = canvas.length / (canvasWidth * 3);
  for (let y = 0; y < label.height; y++) {
    const cy = top + y;
    if (cy < 0 || cy >= canvasHeight) continue;
    for (let x = 0; x < label.width; x++) {
      const a = label.alpha[y * label.width + x] as number;
      const cx = left + x;
      if (a === 0 || cx < 0 || cx >= canvasWidth) continue;
      const i = (cy * canvasWidth + cx) * 3;
      for (let c = 0; c < 3; c++) canvas[i + c] = Math.round(((canvas[i + c] as number) * (255 - a)) / 255);
    }
  }
}
