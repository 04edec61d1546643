// Integer geometry: shortest-edge output sizes (truncated long edge), transformers'
// centre crop (floor offsets, zero padding when smaller) and LLaVA's square padding.

import { describe, expect, it } from 'vitest';
import { centerCrop, meanColour, padToSquare, resizeOutputSize } from '../../../../electron/engine/vision';
import type { RgbImage } from '../../../../electron/engine/vision';

/** An image whose pixel (x, y) is [x, y, 7]: positions are readable from values. */
function coordinates(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  return { width, height, data };
}

const pixel = (img: RgbImage, x: number, y: number) => [
  ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
];

describe('resizeOutputSize', () => {
  it('sets the shortest edge and truncates the other', () => {
    expect(resizeOutputSize(640, 480, { shortestEdge: 336 })).toEqual({ width: 448, height: 336 });
    expect(resizeOutputSize(480, 640, { shortestEdge: 336 })).toEqual({ width: 336, height: 448 });
    // 336 * 500 / 333 = 504.5 -> 504
    expect(resizeOutputSize(500, 333, { shortestEdge: 336 })).toEqual({ width: 504, height: 336 });
    expect(resizeOutputSize(100, 100, { shortestEdge: 336 })).toEqual({ width: 336, height: 336 });
  });

  it('takes a fixed height x width as given', () => {
    expect(resizeOutputSize(640, 480, { height: 384, width: 256 })).toEqual({ width: 256, height: 384 });
  });
});

describe('centerCrop', () => {
  it('floors the offsets: 7x6 cropped to 4x4 starts at (1, 1)', () => {
    const out = centerCrop(coordinates(7, 6), 4, 4);
    expect([out.width, out.height]).toEqual([4, 4]);
    expect(pixel(out, 0, 0)).toEqual([1, 1, 7]);
    expect(pixel(out, 3, 3)).toEqual([4, 4, 7]);
  });

  it('centres a smaller image on zeros, padding ceil(diff / 2) before', () => {
    // 3x2 into 6x5: left pad ceil(3/2) = 2, top pad ceil(3/2) = 2.
    const out = centerCrop(coordinates(3, 2), 6, 5);
    expect([out.width, out.height]).toEqual([6, 5]);
    expect(pixel(out, 1, 1)).toEqual([0, 0, 0]);
    expect(pixel(out, 2, 2)).toEqual([0, 0, 7]);
    expect(pixel(out, 4, 3)).toEqual([2, 1, 7]);
    expect(pixel(out, 5, 4)).toEqual([0, 0, 0]);
  });

  it('crops one axis and pads the other', () => {
    const out = centerCrop(coordinates(8, 2), 4, 4);
    expect([out.width, out.height]).toEqual([4, 4]);
    expect(pixel(out, 0, 1)).toEqual([2, 0, 7]);
    expect(pixel(out, 0, 0)).toEqual([0, 0, 0]);
  });
});

describe('padToSquare', () => {
  it("uses LLaVA's mean colour of the CLIP mean", () => {
    expect(meanColour([0.48145466, 0.4578275, 0.40821073])).toEqual([122, 116, 104]);
  });

  it('pastes a wide image centred vertically, offset floored', () => {
    const out = padToSquare(coordinates(5, 2), [122, 116, 104]);
    expect([out.width, out.height]).toEqual([5, 5]);
    expect(pixel(out, 0, 0)).toEqual([122, 116, 104]);
    expect(pixel(out, 0, 1)).toEqual([0, 0, 7]);
    expect(pixel(out, 4, 2)).toEqual([4, 1, 7]);
    expect(pixel(out, 4, 3)).toEqual([122, 116, 104]);
  });

  it('pastes a tall image centred horizontally, and leaves squares alone', () => {
    const out = padToSquare(coordinates(2, 5), [1, 2, 3]);
    expect(pixel(out, 1, 0)).toEqual([0, 0, 7]);
    expect(pixel(out, 0, 0)).toEqual([1, 2, 3]);
    const square = coordinates(3, 3);
    expect(padToSquare(square, [1, 2, 3])).toBe(square);
  });
});
