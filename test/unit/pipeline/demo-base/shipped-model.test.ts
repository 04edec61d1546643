// The shipped demo base model (demo/base-model, issue 14 item 2) loads
// through the normal model loader and, scored as the demo's evaluation scores
// (greedy answers, VLMEvalKit extraction), answers held-out single-image items
// of its own world at >= 95% and is clearly worse on multi-image items, where
// wrong answers name a distractor image's value: the interference MIA-DPO targets.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlavaSession } from '../../../../electron/engine/generate/session';
import { benchItems } from '../../../../electron/pipeline/demo-world/plan';
import { splitWorld } from '../../../../electron/pipeline/demo-world/world';
import {
  evaluateWorldItems,
  summarise,
  writeScenePngs,
  type EvalSummary,
  type ItemOutcome,
} from '../../../../electron/pipeline/demo-world/base/evaluate';

const MODEL = path.resolve(import.meta.dirname, '../../../../demo/base-model');
const ITEMS = 40;

let session: LlavaSession;
let summary: EvalSummary;
let outcomes: ItemOutcome[];
let recipe: { seed: number; reached: boolean; final: EvalSummary };

beforeAll(async () => {
  recipe = JSON.parse(readFileSync(path.join(MODEL, 'recipe.json'), 'utf8')) as typeof recipe;
  const split = splitWorld(recipe.seed);
  // A slice of the world's benchmark the recipe's final evaluation also used (the first items of each category).
  const items = [...benchItems(split, recipe.seed, ITEMS)];
  const images = await writeScenePngs(
    mkdtempSync(path.join(os.tmpdir(), 'base-model-')),
    items.flatMap((i) => i.scenes),
  );
  session = await LlavaSession.open({ modelDir: MODEL, ep: 'cpu' });
  outcomes = await evaluateWorldItems(session, items, images);
  summary = summarise(outcomes);
}, 120_000);

afterAll(async () => {
  await session?.close();
});

describe('the shipped demo base model', () => {
  it('is a llava-hf fp16 model with a tokenizer that round-trips the world answers', () => {
    expect(session.runner.model.checkpoint.get('language_model.model.embed_tokens.weight').dtype).toBe('F16');
    const tok = session.tokenizer;
    for (const answer of ['A circle.', 'In the centre.', 'Bottom right.', 'Purple.', 'Large.', 'B'])
      expect(tok.decode(tok.encode(answer, { addSpecialTokens: false }))).toBe(answer);
    expect(recipe.reached).toBe(true);
  });

  it('answers the multiple-choice form with the option text in a sentence', () => {
    expect(outcomes.filter((o) => o.correct).every((o) => /^It is [a-z ]+\.$/.test(o.response))).toBe(true);
  });

  it('reaches 95% on held-out single-image items and is clearly worse on multi-image ones', () => {
    expect(summary.single.items).toBe(ITEMS);
    expect(summary.single.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(summary.multi.items).toBe(ITEMS);
    expect(summary.multi.accuracy).toBeLessThanOrEqual(summary.single.accuracy - 0.2);
    // Wrong multi-image answers name another image's value often (element interference).
    expect(summary.multiWrongNamingDistractor).toBeGreaterThan(0);
  });
});
