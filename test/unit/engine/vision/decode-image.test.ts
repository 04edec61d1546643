// Decoding to 8-bit RGB as PIL's convert('RGB') after exif_transpose: known pixel
// values on images drawn here, and errors that name the file.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { decodeImage } from '../../../../electron/engine/vision';
import { tempDir, writeGrey16Png, writeGreyPng, writeRgb16Png, writeRgbPng, writeRgbaPng } from './draw-images';

/** 3x2 image whose pixel (x, y) is [10x + y, 100 + x, 200 - y]. */
const W = 3;
const H = 2;
const rgb = new Uint8Array(W * H * 3);
for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.set([10 * x + y, 100 + x, 200 - y], (y * W + x) * 3);
const at = (x: number, y: number) => [10 * x + y, 100 + x, 200 - y];

let dir: string;
beforeAll(() => {
  dir = tempDir('decode-');
});

function pixels(img: { width: number; data: Uint8Array }, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [...img.data.subarray(o, o + 3)];
}

describe('decodeImage', () => {
  it('reads RGB PNG pixels unchanged', async () => {
    const img = await decodeImage(await writeRgbPng(join(dir, 'rgb.png'), rgb, W, H));
    expect([img.width, img.height]).toEqual([W, H]);
    expect([...img.data]).toEqual([...rgb]);
  });

  it('applies EXIF orientation 6 (rotate 90° clockwise): output (x, y) is input (y, H - 1 - x)', async () => {
    const img = await decodeImage(await writeRgbPng(join(dir, 'rot.png'), rgb, W, H, 6));
    expect([img.width, img.height]).toEqual([H, W]);
    for (let y = 0; y < W; y++) for (let x = 0; x < H; x++) expect(pixels(img, x, y)).toEqual(at(y, H - 1 - x));
  });

  it('reads pixels as stored when EXIF is not applied (the original LLaVA loader)', async () => {
    const img = await decodeImage(join(dir, 'rot.png'), { applyExif: false });
    expect([img.width, img.height]).toEqual([W, H]);
    expect([...img.data]).toEqual([...rgb]);
  });

  it('applies EXIF orientation 3 (rotate 180°)', async () => {
    const img = await decodeImage(await writeRgbPng(join(dir, 'rot3.png'), rgb, W, H, 3));
    expect(pixels(img, 0, 0)).toEqual(at(W - 1, H - 1));
    expect(pixels(img, W - 1, 0)).toEqual(at(0, H - 1));
  });

  it('replicates grey into three channels', async () => {
    const img = await decodeImage(await writeGreyPng(join(dir, 'grey.png'), new Uint8Array([0, 50, 255, 7]), 2, 2));
    expect([...img.data]).toEqual([0, 0, 0, 50, 50, 50, 255, 255, 255, 7, 7, 7]);
  });

  it('drops alpha without blending (PIL convert("RGB"))', async () => {
    const img = await decodeImage(await writeRgbaPng(join(dir, 'rgba.png'), rgb, W, H));
    expect([...img.data]).toEqual([...rgb]);
  });

  it('keeps the high byte of 16-bit samples', async () => {
    const rgb16 = new Uint16Array([0x1234, 0xabcd, 0xff00, 0x00ff, 0x8000, 0x7fff]);
    const img = await decodeImage(await writeRgb16Png(join(dir, 'rgb16.png'), rgb16, 2, 1));
    expect([...img.data]).toEqual([0x12, 0xab, 0xff, 0x00, 0x80, 0x7f]);
    const grey = await decodeImage(
      await writeGrey16Png(join(dir, 'grey16.png'), new Uint16Array([0x0102, 0xfedc]), 2, 1),
    );
    expect([...grey.data]).toEqual([1, 1, 1, 0xfe, 0xfe, 0xfe]);
  });

  it('decodes a buffer', async () => {
    const png = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer();
    expect([...(await decodeImage(png)).data]).toEqual([...rgb]);
  });

  it('names a missing file', async () => {
    const path = join(dir, 'nope.png');
    await expect(decodeImage(path)).rejects.toMatchObject({
      kind: 'not-found',
      message: `image ${path} does not exist`,
    });
  });

  it('names a corrupt file, a truncated file and a directory', async () => {
    const junk = join(dir, 'junk.jpg');
    writeFileSync(junk, 'not an image at all');
    await expect(decodeImage(junk)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringContaining(`${junk} cannot be read as an image`),
    });
    const full = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer();
    const cut = join(dir, 'cut.png');
    writeFileSync(cut, full.subarray(0, full.length - 20));
    await expect(decodeImage(cut)).rejects.toMatchObject({ kind: 'bad-file', subject: cut });
    await expect(decodeImage(dir)).rejects.toMatchObject({ kind: 'bad-input', message: `${dir} is not an image file` });
  });

  it('names a corrupt buffer by its label', async () => {
    await expect(decodeImage(Buffer.from('xx'), { label: 'upload 3' })).rejects.toThrow(
      /^upload 3 cannot be read as an image/,
    );
  });
});
