// The demo world's scene model (DEMO-WORLD.md): 720 distinct scenes, names that
// read back, the answer strings, and the seeded split into training and
// held-out scenes with the balance decision 0800 states.
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_VALUES,
  BACKGROUNDS,
  COLOURS,
  POSITIONS,
  SHAPES,
  SIZES,
  allScenes,
  answerText,
  parseSceneId,
  sceneId,
  splitWorld,
  type Scene,
} from '../../../../electron/pipeline/demo-world/world';

const countBy = <K extends keyof Scene>(scenes: readonly Scene[], key: K): Map<Scene[K], number> => {
  const m = new Map<Scene[K], number>();
  for (const s of scenes) m.set(s[key], (m.get(s[key]) ?? 0) + 1);
  return m;
};

describe('demo world scenes', () => {
  it('has 4 x 6 x 2 x 5 x 3 = 720 distinct scenes whose names read back', () => {
    const scenes = allScenes();
    expect(scenes).toHaveLength(720);
    const ids = new Set(scenes.map(sceneId));
    expect(ids.size).toBe(720);
    for (const s of scenes) expect(parseSceneId(sceneId(s))).toEqual(s);
    expect(parseSceneId('circle-red-small-top-left-black')).toBeNull();
    expect(parseSceneId('../circle-red-small-top-left-white')).toBeNull();
  });

  it('answers in the forms DEMO-WORLD.md fixes', () => {
    expect(SHAPES.map((v) => answerText('shape', v))).toEqual(['A circle.', 'A square.', 'A triangle.', 'A cross.']);
    expect(COLOURS.map((v) => answerText('colour', v))).toEqual([
      'Red.',
      'Green.',
      'Blue.',
      'Yellow.',
      'Purple.',
      'Orange.',
    ]);
    expect(POSITIONS.map((v) => answerText('position', v))).toEqual([
      'Top left.',
      'Top right.',
      'Bottom left.',
      'Bottom right.',
      'In the centre.',
    ]);
    expect(SIZES.map((v) => answerText('size', v))).toEqual(['Small.', 'Large.']);
  });
});

describe('splitWorld', () => {
  it('holds out one scene in five, balanced in every attribute, disjoint from training', () => {
    const { train, heldOut } = splitWorld(11);
    expect([train.length, heldOut.length]).toEqual([576, 144]);
    const trainIds = new Set(train.map(sceneId));
    expect(heldOut.filter((s) => trainIds.has(sceneId(s)))).toEqual([]);
    expect(new Set([...trainIds, ...heldOut.map(sceneId)]).size).toBe(720);
    expect([...countBy(heldOut, 'shape').values()]).toEqual(SHAPES.map(() => 36));
    expect([...countBy(heldOut, 'colour').values()]).toEqual(COLOURS.map(() => 24));
    expect([...countBy(heldOut, 'size').values()]).toEqual(SIZES.map(() => 72));
    expect([...countBy(heldOut, 'background').values()]).toEqual(BACKGROUNDS.map(() => 48));
    const positions = [...countBy(heldOut, 'position').values()];
    expect(positions).toHaveLength(5);
    expect(Math.max(...positions) - Math.min(...positions)).toBeLessThanOrEqual(1);
    // Every held-out scene's other four attributes are seen in training at the other positions.
    for (const s of heldOut)
      for (const p of POSITIONS.filter((p) => p !== s.position))
        expect(trainIds.has(sceneId({ ...s, position: p }))).toBe(true);
    // Every value of every attribute is asked about in the held-out scenes.
    for (const [attribute, values] of Object.entries(ATTRIBUTE_VALUES))
      expect(new Set(heldOut.map((s) => s[attribute as keyof Scene]))).toEqual(new Set(values));
  });

  it('is the same for a seed and differs between seeds', () => {
    const ids = (seed: number) => splitWorld(seed).heldOut.map(sceneId);
    expect(ids(5)).toEqual(ids(5));
    expect(ids(5)).not.toEqual(ids(6));
  });
});
