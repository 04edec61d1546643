// Test images drawn in code (no binary fixtures): photo-like RGB with gradients,
// texture, hard edges and noise from a seeded generator, written with sharp in the
// formats and layouts the preprocessing must handle.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../../../../electron/common/mulberry32';

/** Seeded, so images are the same on every run. */
const rng = mulberry32;

/** Interleaved RGB bytes of a photo-like scene: sky gradient, textured ground, a disc and a bar with sharp edges. */
export function photoLike(width: number, height: number, seed = 1): Uint8Array {
  const rand = rng(seed);
  const out = new Uint8Array(width * height * 3);
  const cx = width * (0.3 + 0.4 * rand());
  const cy = height * (0.3 + 0.4 * rand());
  const radius = Math.min(width, height) * 0.2;
  const fx = 0.05 + 0.2 * rand();
  const fy = 0.05 + 0.2 * rand();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = y / height;
      let r = 80 + 120 * t + 30 * Math.sin(x * fx) * Math.cos(y * fy);
      let g = 120 + 60 * Math.sin((x + y) * 0.02);
      let b = 200 - 150 * t;
      if ((x - cx) ** 2 + (y - cy) ** 2 < radius ** 2) [r, g, b] = [230, 200, 40];
      if (Math.abs(x - width * 0.7) < width * 0.03) [r, g, b] = [20, 20, 30];
      const n = (rand() - 0.5) * 24;
      const o = (y * width + x) * 3;
      out[o] = clamp(r + n);
      out[o + 1] = clamp(g + n);
      out[o + 2] = clamp(b + n);
    }
  }
  return out;
}

const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes RGB bytes as a PNG (lossless, so PIL and sharp read identical pixels). */
export async function writeRgbPng(
  path: string,
  data: Uint8Array,
  width: number,
  height: number,
  orientation?: number,
): Promise<string> {
  let img = sharp(data, { raw: { width, height, channels: 3 } }).png();
  if (orientation !== undefined) img = img.withMetadata({ orientation });
  writeFileSync(path, await img.toBuffer());
  return path;
}

/** RGBA PNG: the alpha channel varies so a blend (instead of a drop) would change the colours. */
export async function writeRgbaPng(path: string, rgb: Uint8Array, width: number, height: number): Promise<string> {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = (i * 7) % 256;
  }
  writeFileSync(
    path,
    await sharp(rgba, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer(),
  );
  return path;
}

/** 8-bit greyscale PNG. */
export async function writeGreyPng(path: string, grey: Uint8Array, width: number, height: number): Promise<string> {
  writeFileSync(
    path,
    await sharp(grey, { raw: { width, height, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer(),
  );
  return path;
}

/** 16-bit RGB PNG from 16-bit samples. */
export async function writeRgb16Png(
  path: string,
  samples: Uint16Array,
  width: number,
  height: number,
): Promise<string> {
  writeFileSync(
    path,
    await sharp(samples, { raw: { width, height, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer(),
  );
  return path;
}

/** 16-bit greyscale PNG. */
export async function writeGrey16Png(
  path: string,
  samples: Uint16Array,
  width: number,
  height: number,
): Promise<string> {
  writeFileSync(
    path,
    await sharp(samples, { raw: { width, height, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer(),
  );
  return path;
}
