// Per-image attention summaries: span slices of each recorded row averaged
// over steps, the square map, the mean; and the two perplexities.
import { describe, expect, it } from 'vitest';
import { imageAttention, perplexity } from '../../../../electron/engine/generate/attention';
import { causalBias, expandPrompt } from '../../../../electron/engine/generate/prompt';

describe('imageAttention', () => {
  it('averages each span over the steps and reports a square map', () => {
    // keys: [text, img0 x4, text, img1 x4]; two steps with different lengths (rows grow by one key per step).
    const r1 = Float32Array.from([0.1, 0.1, 0.2, 0.3, 0.0, 0.1, 0.05, 0.05, 0.05, 0.05]);
    const r2 = Float32Array.from([0.0, 0.3, 0.0, 0.1, 0.0, 0.2, 0.1, 0.1, 0.0, 0.1, 0.1]);
    const [a, b] = imageAttention(
      [r1, r2],
      [
        { start: 1, end: 5 },
        { start: 6, end: 10 },
      ],
    );
    expect(Array.from(a!.map)).toEqual([0.2, 0.1, 0.2, 0].map((x) => expect.closeTo(x, 6)));
    expect(a!.side).toBe(2);
    expect(a!.mean).toBeCloseTo(0.125, 6);
    expect(Array.from(b!.map)).toEqual([0.075, 0.075, 0.025, 0.075].map((x) => expect.closeTo(x, 6)));
    expect(b!.mean).toBeCloseTo(0.0625, 6);
  });

  it('marks a non-square span (class token kept) with side null', () => {
    const [a] = imageAttention([Float32Array.from([0.5, 0.2, 0.1, 0.1, 0.1, 0, 0])], [{ start: 1, end: 6 }]);
    expect(a!.side).toBeNull();
    expect(a!.map).toHaveLength(5);
  });

  it('refuses to summarise zero rows', () => {
    expect(() => imageAttention([], [{ start: 0, end: 4 }])).toThrow(/no attention rows/);
  });
});

describe('perplexity', () => {
  it('is exp(-mean(log p))', () => {
    expect(perplexity([Math.log(0.5), Math.log(0.25)])).toBeCloseTo(
      Math.exp(-(Math.log(0.5) + Math.log(0.25)) / 2),
      12,
    );
    expect(perplexity([0, 0])).toBe(1);
  });
});

describe('prompt preparation', () => {
  it('maps each image token to its feature row', () => {
    const p = expandPrompt([1, 9, 2, 9], 9, 2, 3);
    expect(p.ids).toEqual([1, 9, 9, 9, 2, 9, 9, 9]);
    expect(Array.from(p.featureIndex)).toEqual([-1, 0, 1, 2, -1, 3, 4, 5]);
  });

  it('names more or fewer placeholders than images', () => {
    expect(() => expandPrompt([1, 9, 9], 9, 1, 4)).toThrow(/2 image placeholders but 1 image was given \(more/);
    expect(() => expandPrompt([1, 9], 9, 2, 4)).toThrow(/1 image placeholder but 2 images were given \(fewer/);
  });

  it('builds a causal bias that lets query q see keys up to past + q', () => {
    const b = causalBias(2, 1);
    expect(Array.from(b).map((x) => (x === 0 ? 1 : 0))).toEqual([1, 1, 0, 1, 1, 1]);
  });
});
