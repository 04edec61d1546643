// The base model's language prior (decision 0811): sequence prompts whose images are captions, or, `mixed`, one
// real image among captions. Each sample is checked against its scenes: the caption says the scene, the answer is
// the target's value, the distractors differ in the asked attribute, and a `mixed` sample holds exactly one image
// placeholder, in its labelled place. Seeded: the same samples for a seed.
import { describe, expect, it } from 'vitest';
import { IMAGE_PLACEHOLDER } from '../../../../electron/engine/text/image-placeholders';
import {
  describeScene,
  mcqAnswer,
  priorSamples,
  type PriorKind,
  type PriorSample,
} from '../../../../electron/pipeline/demo-world/plan';
import { QUESTIONS, answerText, splitWorld } from '../../../../electron/pipeline/demo-world/world';
import { lowerFirst } from '../../../../electron/pipeline/augment/prompts';

const split = splitWorld(7);
const draw = (kind: PriorKind, count = 400, seed = 7): PriorSample[] => [
  ...priorSamples(split, seed, { count, mcqShare: 0.5, kind }),
];

describe('priorSamples', () => {
  it('says each scene in words, answers about the asked image, and draws distractors that differ in the asked attribute', () => {
    const train = new Set(split.train.map(describeScene));
    for (const kind of ['text', 'mixed'] as const)
      for (const s of draw(kind)) {
        const lines = s.human.split('\n');
        expect(s.scenes.length).toBeGreaterThanOrEqual(2);
        expect(s.scenes.length).toBeLessThanOrEqual(4);
        s.scenes.forEach((scene, j) => {
          expect(train.has(describeScene(scene))).toBe(true);
          expect(lines[j]).toBe(
            j + 1 === s.imageAt ? `Image${j + 1}:${IMAGE_PLACEHOLDER}` : `Image${j + 1}: ${describeScene(scene)}.`,
          );
        });
        const target = s.scenes[s.target - 1]!;
        for (const [j, other] of s.scenes.entries())
          if (j + 1 !== s.target) expect(other[s.attribute]).not.toBe(target[s.attribute]);
        expect(lines[s.scenes.length]).toBe(`In Image${s.target}, ${lowerFirst(QUESTIONS[s.attribute])}`);
        expect(s.gpt).toBe(
          s.form === 'plain'
            ? answerText(s.attribute, target[s.attribute])
            : mcqAnswer(s.attribute, target[s.attribute]),
        );
        if (s.form === 'mcq') expect(s.human).toContain(`. ${answerText(s.attribute, target[s.attribute])}`);
        const placeholders = s.human.split(IMAGE_PLACEHOLDER).length - 1;
        expect(placeholders).toBe(kind === 'mixed' ? 1 : 0);
        expect(s.imageAt === null).toBe(kind === 'text');
      }
  });

  it('is the same for a seed, different for another, and balanced in where the image and the target fall', () => {
    expect(draw('mixed', 50)).toEqual(draw('mixed', 50));
    expect(draw('mixed', 50, 8)).not.toEqual(draw('mixed', 50));
    const mixed = draw('mixed', 2000);
    const asked = mixed.filter((s) => s.imageAt === s.target).length / mixed.length;
    // The real image is the asked one about as often as 1 / images (2-4 images: about 0.36 in all).
    expect(asked).toBeGreaterThan(0.3);
    expect(asked).toBeLessThan(0.42);
    const mcq = mixed.filter((s) => s.form === 'mcq').length / mixed.length;
    expect(mcq).toBeGreaterThan(0.45);
    expect(mcq).toBeLessThan(0.55);
  });
});
