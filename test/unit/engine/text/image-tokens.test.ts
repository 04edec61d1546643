// Image-token expansion: single placeholders and processor-expanded runs give the
// same merged ids and spans; count mismatches are errors that give both counts.

import { describe, expect, it } from 'vitest';
import { expandImageTokens } from '../../../../electron/engine/text';

const IMG = 32000;

describe('expandImageTokens', () => {
  it('repeats each single placeholder by its image feature count', () => {
    const { ids, spans } = expandImageTokens([1, 5, IMG, 6, IMG, 7], IMG, [3, 2]);
    expect(ids).toEqual([1, 5, IMG, IMG, IMG, 6, IMG, IMG, 7]);
    expect(spans).toEqual([
      { start: 2, end: 5 },
      { start: 6, end: 8 },
    ]);
  });

  it('keeps ids a processor already expanded, with the same spans', () => {
    const expanded = [1, 5, IMG, IMG, IMG, 6, IMG, IMG, 7];
    expect(expandImageTokens(expanded, IMG, [3, 2])).toEqual({
      ids: expanded,
      spans: [
        { start: 2, end: 5 },
        { start: 6, end: 8 },
      ],
    });
  });

  it('treats adjacent single placeholders as separate images', () => {
    expect(expandImageTokens([IMG, IMG, 9], IMG, [2, 2]).spans).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 4 },
    ]);
  });

  it('leaves text-only prompts alone', () => {
    expect(expandImageTokens([1, 2, 3], IMG, [])).toEqual({ ids: [1, 2, 3], spans: [] });
  });

  it('counts placeholders and images when there are more placeholders', () => {
    expect(() => expandImageTokens([IMG, 4, IMG, 5, IMG], IMG, [576, 576])).toThrow(
      'the prompt has 3 image placeholders but 2 images were given (more placeholders than images)',
    );
  });

  it('counts placeholders and images when there are fewer placeholders', () => {
    expect(() => expandImageTokens([1, IMG, 2], IMG, [576, 576, 576])).toThrow(
      'the prompt has 1 image placeholder but 3 images were given (fewer placeholders than images)',
    );
    const expandedTwice = [...Array<number>(4).fill(IMG), 3, ...Array<number>(4).fill(IMG)];
    expect(() => expandImageTokens(expandedTwice, IMG, [4, 4, 4])).toThrow(/has 2 image placeholders but 3 images/);
  });

  it('rejects an expanded run that is split differently from the feature counts', () => {
    expect(() => expandImageTokens([IMG, IMG, 0, IMG, IMG, IMG], IMG, [3, 2])).toThrow(
      /image 1 needs 3 consecutive image tokens at position 0/,
    );
  });

  it('rejects a feature count that is not a positive integer', () => {
    expect(() => expandImageTokens([IMG], IMG, [0])).toThrow(/image 1: feature-token count 0/);
  });
});
