// The demo world's benchmark items scored the way the demo's evaluation
// scores them (pipeline/eval: the item's prompt from buildPrompt, greedy
// generation through LlavaSession, VLMEvalKit's answer extraction), without a
// project: the items stay in memory and their images are PNG files of the
// held-out scenes. Also says whether a wrong multi-image answer names the
// asked attribute of a distractor image (the element interference MIA-DPO
// targets).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OPTION_LETTERS } from '../../../../shared/pipeline/eval';
import type { LlavaSession } from '../../../engine/generate/session';
import { evaluateItem } from '../../eval/eval-job';
import { buildPrompt } from '../../eval/prompt';
import type { BenchItem as StoredItem } from '../../eval/queries';
import type { BenchItem } from '../plan';
import { renderPng } from '../render';
import { answerText, sceneId, type Scene } from '../world';

export interface ItemOutcome {
  index: string;
  category: 'single' | 'multi';
  correct: boolean;
  response: string;
  prediction: string | null;
  /** Wrong answers only: the predicted option is the asked attribute's value in another image of the item. */
  namesDistractor: boolean;
}

export interface Accuracy {
  items: number;
  correct: number;
  accuracy: number;
}

export interface EvalSummary {
  single: Accuracy;
  multi: Accuracy;
  /** Wrong multi-image answers, and how many name a distractor image's value. */
  multiWrong: number;
  multiWrongNamingDistractor: number;
  /** multiWrongNamingDistractor / multiWrong (0 when nothing was wrong). */
  distractorShare: number;
}

/** Writes each scene's PNG once into `dir`; returns scene id -> file. */
export async function writeScenePngs(dir: string, scenes: readonly Scene[]): Promise<Map<string, string>> {
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, string>();
  for (const s of scenes) {
    const id = sceneId(s);
    if (files.has(id)) continue;
    const file = path.join(dir, `${id}.png`);
    writeFileSync(file, await renderPng(s));
    files.set(id, file);
  }
  return files;
}

/** A world item as the eval job reads it from the store. */
export function storedItem(item: BenchItem, id: number, images: ReadonlyMap<string, string>): StoredItem {
  const options = item.options.map((text, i) => ({ letter: OPTION_LETTERS[i]!, text }));
  return {
    id,
    benchmarkId: 0,
    index: item.index,
    kind: 'mcq',
    question: item.question,
    options,
    answer: item.answer,
    category: item.category,
    imageIds: [],
    imagePaths: item.scenes.map((s) => images.get(sceneId(s))!),
    prompt: buildPrompt({ question: item.question, hint: null, options, kind: 'mcq', imageCount: item.scenes.length }),
  };
}

/** Greedy answers to `items` (images from `images`), scored as the eval job scores them. */
export async function evaluateWorldItems(
  session: Pick<LlavaSession, 'answer' | 'score' | 'modelId' | 'captureLayers' | 'close'>,
  items: readonly BenchItem[],
  images: ReadonlyMap<string, string>,
  maxNewTokens = 8,
): Promise<ItemOutcome[]> {
  const out: ItemOutcome[] = [];
  for (const [i, item] of items.entries()) {
    const r = await evaluateItem(session, storedItem(item, i + 1, images), {
      runId: 0,
      mode: 'generate',
      maxNewTokens,
    });
    const correct = r?.correct ?? false;
    const letter = r?.prediction ?? null;
    const picked = letter === null ? undefined : item.options[OPTION_LETTERS.indexOf(letter as 'A')];
    const distractorValues = item.scenes
      .filter((_, k) => k !== item.target - 1)
      .map((s) => answerText(item.attribute, s[item.attribute]));
    out.push({
      index: item.index,
      category: item.category,
      correct,
      response: r?.response ?? '',
      prediction: letter,
      namesDistractor: !correct && picked !== undefined && distractorValues.includes(picked),
    });
  }
  return out;
}

const accuracyOf = (o: readonly ItemOutcome[]): Accuracy => {
  const correct = o.filter((x) => x.correct).length;
  return { items: o.length, correct, accuracy: o.length === 0 ? 0 : correct / o.length };
};

export function summarise(outcomes: readonly ItemOutcome[]): EvalSummary {
  const single = outcomes.filter((o) => o.category === 'single');
  const multi = outcomes.filter((o) => o.category === 'multi');
  const wrong = multi.filter((o) => !o.correct);
  const naming = wrong.filter((o) => o.namesDistractor).length;
  return {
    single: accuracyOf(single),
    multi: accuracyOf(multi),
    multiWrong: wrong.length,
    multiWrongNamingDistractor: naming,
    distractorShare: wrong.length === 0 ? 0 : naming / wrong.length,
  };
}
