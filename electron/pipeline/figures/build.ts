// The figures' data from a project: Figure 5 from the stored generation
// metrics and the selection settings, Figure 6 from two eval runs answering
// one multi-image item again (eval.attention.diff's maps). Used by the preview
// commands and by the `figures` job, so a preview and a saved file agree.
import sharp from 'sharp';
import { AppError } from '../../../shared/errors';
import type { PipelineSettings } from '../../../shared/pipeline/settings';
import type { AttentionDiff } from '../../../shared/pipeline/eval';
import type { BeforeAfterChoice } from '../../../shared/pipeline/figures';
import { familyOf } from '../../engine/models/arch';
import { readConfigJson } from '../../engine/models/config';
import { loadIxcConfig } from '../../engine/models/config-ixc';
import { hdGeometry } from '../../engine/vision/hd-transform';
import { attentionDiffOf, runParams, runRow, type EvalReader } from '../eval/handlers';
import type { EvalResultRow, EvalRunRow } from '../eval/queries';
import { attentionHistograms } from '../stats/histogram';
import type { PipelineQueries } from '../store/queries';
import type { Store } from '../../store/store';
import { beforeAfterSpec, PANEL_PX, type BeforeAfterInput } from './attention-before-after';
import { attentionRatioData, attentionRatioSpec } from './attention-ratios';
import type { TopLevelSpec } from 'vega-lite';

/** Bins of Figure 5 on [0, 1] (0.05 wide, as the paper's histograms). */
export const RATIO_BINS = 20;

export interface Figure {
  spec: TopLevelSpec;
  /** What the figure draws, saved beside it as JSON. */
  data: unknown;
}

/** Figure 5 under `settings` (its thresholds and attention mode). No answers: a not-found error naming the step to run. */
export async function attentionRatioFigure(
  p: { dir: string; store: Store<Pick<PipelineQueries, 'generationMetrics'>> },
  settings: PipelineSettings,
): Promise<Figure & { answers: number }> {
  const all = await p.store.call('generationMetrics');
  if (all.length === 0)
    throw new AppError(
      'not-found',
      `${p.dir} has no answers yet: Figure 5 plots the attention of the model's answers, so run the respond step first (mia-dpo respond ${p.dir} --model MODEL, or Pipeline > Respond)`,
      { subject: p.dir },
    );
  const groups = attentionHistograms(all, settings.selection, RATIO_BINS);
  return {
    spec: attentionRatioSpec(groups),
    data: { attentionMode: settings.selection.attentionMode, ...attentionRatioData(groups) },
    answers: all.length,
  };
}

const isAdapter = (r: EvalRunRow) => r.modelId.includes('+');
const baseOf = (r: EvalRunRow) => r.modelId.split('+')[0];

/**
 * Before and after runs: the newest generate run of a model with an adapter,
 * and the newest generate run of its base model on the same benchmark.
 */
async function chooseRuns(p: EvalReader): Promise<[EvalRunRow, EvalRunRow]> {
  const runs = (await p.store.call('evalRuns')).filter((r) => r.mode === 'generate');
  const after = runs.filter(isAdapter).sort((x, y) => y.createdAt - x.createdAt || y.id - x.id)[0];
  const before =
    after === undefined
      ? undefined
      : runs
          .filter((r) => !isAdapter(r) && r.benchmarkId === after.benchmarkId)
          .sort((x, y) => Number(baseOf(y) === baseOf(after)) - Number(baseOf(x) === baseOf(after)) || y.id - x.id)[0];
  if (after === undefined || before === undefined)
    throw new AppError(
      'not-found',
      `${p.dir} has no ${after === undefined ? 'eval run of an adapter' : `eval run of the base model on ${after.benchmark}`}: Figure 6 compares the base model with the DPO adapter on one benchmark, so evaluate both first (mia-dpo eval ${p.dir} --model MODEL --bench NAME, then again with --adapter ADAPTER), or name two runs`,
      { subject: p.dir },
    );
  return [before, after];
}

/** The item drawn: the given one, else the first multi-image item the adapter got right and the base wrong (then any). */
function chooseItem(
  a: readonly EvalResultRow[],
  b: readonly EvalResultRow[],
  item: number | undefined,
  bench: string,
): [EvalResultRow, EvalResultRow] {
  const byId = new Map(b.map((r) => [r.itemId, r]));
  const both = a.flatMap((r) =>
    byId.has(r.itemId) ? [[r, byId.get(r.itemId)!] as [EvalResultRow, EvalResultRow]] : [],
  );
  if (item !== undefined) {
    const hit = both.find(([r]) => r.itemId === item);
    if (hit === undefined)
      throw new AppError('not-found', `item ${item} was not answered by both runs on ${bench}`, {
        subject: `item ${item}`,
      });
    return hit;
  }
  const multi = both.filter(([r]) => r.imageIds.length > 1);
  const rank = ([x, y]: [EvalResultRow, EvalResultRow]) =>
    !x.correct && y.correct ? 0 : x.correct && y.correct ? 1 : 2;
  const best = multi.sort((u, v) => rank(u) - rank(v) || u[0].itemId - v[0].itemId)[0];
  if (best === undefined)
    throw new AppError(
      'not-found',
      `${bench} has no multi-image item both runs answered: Figure 6 shows attention across images (name one with --item)`,
      { subject: bench },
    );
  return best;
}

/** The image the question asks about: `In Image{k}, ...` (DEMO-WORLD.md, the augment step's sequence prompts). */
export function targetIndex(question: string, images: number): number | null {
  const k = Number(/\bImage\s?(\d+)\b/.exec(question)?.[1]);
  return Number.isInteger(k) && k >= 1 && k <= images ? k : null;
}

/** How an IXC2.5 model sees an image under its attention map: the HD settings of its config (crop size, hd_num). */
export interface HdView {
  cropSize: number;
  hdNum: number;
}

/** The HD view of run A's model when it is an IXC2.5 folder (its maps cover the global view), else undefined. */
async function hdViewOf(p: EvalReader, run: EvalRunRow, images: number): Promise<HdView | undefined> {
  const dir = (await runParams(p, run)).modelDir;
  if (familyOf((await readConfigJson(dir)).json) !== 'ixc') return undefined;
  const c = await loadIxcConfig(dir);
  return { cropSize: c.vision_config.image_size, hdNum: images > 1 ? c.hd_num_multi : c.hd_num };
}

/**
 * The image as the attention map covers it, PANEL_PX square. llava-hf: padded (centred) or centre-cropped to a
 * square. IXC2.5: the global view, i.e. the HD canvas (the image resized at its top-left, white below or to the
 * right up to whole crops) squeezed to a square, so each map cell lies over the pixels it attended.
 */
export async function figureThumbnail(file: string, aspect: unknown, hd?: HdView): Promise<string> {
  const fail = (e: unknown): never => {
    throw new AppError('bad-file', `image ${file} cannot be read for Figure 6: ${(e as Error).message}`, {
      subject: file,
      cause: e,
    });
  };
  let png: Buffer;
  if (hd) {
    const image = sharp(file).autoOrient();
    const { width, height } = await image
      .clone()
      .toBuffer({ resolveWithObject: true })
      .then((r) => r.info)
      .catch(fail);
    const g = hdGeometry(width, height, hd.hdNum, { cropSize: hd.cropSize });
    const canvas = await image
      .resize(g.resized.width, g.resized.height, { fit: 'fill' })
      .extend({
        top: g.offset.y,
        left: g.offset.x,
        bottom: g.padded.height - g.resized.height - g.offset.y,
        right: g.padded.width - g.resized.width - g.offset.x,
        background: { r: 255, g: 255, b: 255 },
      })
      .png()
      .toBuffer()
      .catch(fail);
    png = await sharp(canvas).resize(PANEL_PX, PANEL_PX, { fit: 'fill' }).png().toBuffer().catch(fail);
  } else {
    png = await sharp(file)
      .resize(PANEL_PX, PANEL_PX, {
        fit: aspect === 'crop' ? 'cover' : 'contain',
        background: { r: 255, g: 255, b: 255 },
      })
      .png()
      .toBuffer()
      .catch(fail);
  }
  return `data:image/png;base64,${png.toString('base64')}`;
}

export interface BeforeAfterPlan {
  before: EvalRunRow;
  after: EvalRunRow;
  /** The item's stored results in each run. */
  a: EvalResultRow;
  b: EvalResultRow;
}

/** Figure 6's runs and item, from the stored runs alone (no model runs): fails at once, naming what to do. */
export async function planBeforeAfter(p: EvalReader, choice: BeforeAfterChoice): Promise<BeforeAfterPlan> {
  const [ra, rb] =
    choice.runs === undefined
      ? await chooseRuns(p)
      : [await runRow(p, choice.runs[0]), await runRow(p, choice.runs[1])];
  const [a, b] = chooseItem(
    await p.store.call('evalResults', { runId: ra.id }),
    await p.store.call('evalResults', { runId: rb.id }),
    choice.item,
    ra.benchmark,
  );
  return { before: ra, after: rb, a, b };
}

/** Figure 6: both runs' models answer the item again and their per-image attention maps are drawn. */
export async function beforeAfterFigure(
  p: EvalReader,
  choice: BeforeAfterChoice,
): Promise<Figure & { item: number; runs: [number, number]; diff: AttentionDiff }> {
  const { before: ra, after: rb, a: resA, b: resB } = await planBeforeAfter(p, choice);
  const diff = await attentionDiffOf(p, ra.id, rb.id, resA.itemId);
  const item = await p.store.call('benchItem', { id: resA.itemId });
  const target = targetIndex(resA.question, diff.images.length);
  const hd = await hdViewOf(p, ra, diff.images.length);
  const images = await Promise.all(
    diff.images.map(async (im, i) => ({
      label: `Image${i + 1}`,
      thumbnail: await figureThumbnail(item!.imagePaths[i]!, ra.decoding['aspect'], hd),
      before: im.map_a,
      after: im.map_b,
      target: target === i + 1,
    })),
  );
  const input: BeforeAfterInput = {
    question: resA.question,
    answer: resA.answer,
    side: diff.side,
    layer: diff.layer,
    images,
    before: {
      title: `Before: ${isAdapter(ra) ? 'model' : 'base'} (eval run ${ra.id})`,
      response: resA.response ?? '',
      correct: resA.correct,
    },
    after: {
      title: `After: ${isAdapter(rb) ? 'adapter' : 'model'} (eval run ${rb.id})`,
      response: resB.response ?? '',
      correct: resB.correct,
    },
  };
  const data = {
    item: { id: resA.itemId, index: resA.index, question: resA.question, answer: resA.answer, target },
    runs: { before: { id: ra.id, model: ra.modelId }, after: { id: rb.id, model: rb.modelId } },
    layer: diff.layer,
    side: diff.side,
    images: diff.images.map((im, i) => ({
      label: `Image${i + 1}`,
      imageId: im.imageId,
      before: im.map_a,
      after: im.map_b,
    })),
    responses: { before: input.before, after: input.after },
  };
  return { spec: beforeAfterSpec(input), data, item: resA.itemId, runs: [ra.id, rb.id], diff };
}
