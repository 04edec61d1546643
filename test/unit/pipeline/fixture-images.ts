// Test images made by the tests themselves: smooth colour patterns (so
// resampling differences stay small) drawn into raw RGB and encoded by sharp.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export function tempDir(prefix = 'mia-pipeline-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Raw RGB pattern: diagonal gradients whose phase depends on `seed`. */
export function pattern(width: number, height: number, seed: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = (seed * 37 + ((x + y) * 128) / (width + height)) % 256;
    }
  }
  return data;
}

export async function makeImage(
  dir: string,
  name: string,
  width: number,
  height: number,
  seed: number,
): Promise<string> {
  const file = path.join(dir, name);
  const img = sharp(pattern(width, height, seed), { raw: { width, height, channels: 3 } });
  await (name.endsWith('.png') ? img.png() : img.jpeg({ quality: 90 })).toFile(file);
  return file;
}
