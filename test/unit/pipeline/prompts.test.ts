import { describe, expect, it } from 'vitest';
import { CENTRE_PHRASES, turnPhrases } from '../../../electron/pipeline/augment/centre-phrases';
import {
  humanTurns,
  lowerFirst,
  rewriteConversation,
  stripImageToken,
} from '../../../electron/pipeline/augment/prompts';
import { createRng } from '../../../electron/pipeline/random';
import type { Turn } from '../../../shared/pipeline/types';

const conv: Turn[] = [
  { from: 'human', value: '<image>\nWhat is the man holding?' },
  { from: 'gpt', value: 'A red umbrella.' },
  { from: 'human', value: 'Where is he standing?' },
  { from: 'gpt', value: 'On a bridge.' },
];

describe('prompt rewriting', () => {
  it('sequence: numbered image header, In Image{k}, lower-cased first letter, later turns prefixed', () => {
    const out = rewriteConversation(conv, { format: 'sequence', imageCount: 3, targetIndex: 2 });
    expect(out[0]).toEqual({
      from: 'human',
      value: 'Image1:<image>\nImage2:<image>\nImage3:<image>\nIn Image2, what is the man holding?',
    });
    expect(out[1]).toEqual(conv[1]);
    expect(out[2]).toEqual({ from: 'human', value: 'In Image2, where is he standing?' });
    expect(out[3]).toEqual(conv[3]);
  });

  it('grid: one placeholder for the collage and the In Image{k} prefix', () => {
    const out = rewriteConversation(conv.slice(0, 2), { format: 'grid', imageCount: 4, targetIndex: 4 });
    expect(out[0]!.value).toBe('<image>\nIn Image4, what is the man holding?');
  });

  it('pic-in-pic: centre phrase, comma, lower-cased question', () => {
    const out = rewriteConversation(conv.slice(0, 2), {
      format: 'pip',
      imageCount: 2,
      targetIndex: 2,
      centrePhrases: ['For the image in the center'],
    });
    expect(out[0]!.value).toBe('<image>\nFor the image in the center, what is the man holding?');
    expect(() => rewriteConversation(conv, { format: 'pip', imageCount: 2, targetIndex: 2 })).toThrow(/centre phrase/);
  });

  it('pic-in-pic: each human turn gets its own centre phrase, as the reference draws one per turn', () => {
    const out = rewriteConversation(conv, {
      format: 'pip',
      imageCount: 2,
      targetIndex: 2,
      centrePhrases: ['For the image in the center', 'Turning to the central picture'],
    });
    expect(out[0]!.value).toBe('<image>\nFor the image in the center, what is the man holding?');
    expect(out[2]!.value).toBe('Turning to the central picture, where is he standing?');
    expect(() =>
      rewriteConversation(conv, { format: 'pip', imageCount: 2, targetIndex: 2, centrePhrases: ['Only one'] }),
    ).toThrow(/human turn 2/);
  });

  it("turnPhrases: the plan's phrase first, then a fresh seeded draw per later turn", () => {
    const long = Array.from({ length: 40 }, (_, i) => conv[i % 4] as Turn);
    const phrases = turnPhrases(3, humanTurns(long), createRng('p:phrases'));
    expect(phrases).toHaveLength(20);
    expect(phrases[0]).toBe(CENTRE_PHRASES[3]);
    expect(turnPhrases(3, 20, createRng('p:phrases'))).toEqual(phrases);
    // Independent uniform draws: 19 later turns over the list repeat the first phrase in every turn with probability ~0.
    expect(new Set(phrases).size).toBeGreaterThan(5);
    const out = rewriteConversation(long, { format: 'pip', imageCount: 2, targetIndex: 2, centrePhrases: phrases });
    out
      .filter((t) => t.from === 'human')
      .forEach((t, i) => expect(t.value.replace('<image>\n', '').startsWith(`${phrases[i]}, `)).toBe(true));
  });

  it('strips the placeholder wherever it sits', () => {
    expect(stripImageToken('<image>\nWhat is it?')).toBe('What is it?');
    expect(stripImageToken('What is it?\n<image>')).toBe('What is it?');
    expect(stripImageToken('Look: <image> What is it?')).toBe('Look:\nWhat is it?');
    expect(stripImageToken('No placeholder')).toBe('No placeholder');
  });

  it('lower-cases only a leading letter', () => {
    expect(lowerFirst('What')).toBe('what');
    expect(lowerFirst('Élan')).toBe('élan');
    expect(lowerFirst('3 dogs?')).toBe('3 dogs?');
    expect(lowerFirst('"Quoted" text')).toBe('"Quoted" text');
    expect(lowerFirst('')).toBe('');
    const out = rewriteConversation([{ from: 'human', value: '<image>\n2 + 2 in the sign?' }], {
      format: 'grid',
      imageCount: 2,
      targetIndex: 1,
    });
    expect(out[0]!.value).toBe('<image>\nIn Image1, 2 + 2 in the sign?');
  });

  it('has at least 60 distinct centre phrases without trailing punctuation', () => {
    expect(CENTRE_PHRASES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CENTRE_PHRASES.map((p) => p.toLowerCase())).size).toBe(CENTRE_PHRASES.length);
    for (const p of CENTRE_PHRASES) expect(p).toMatch(/^[A-Z][^.,?!]*[a-z]$/);
  });
});
