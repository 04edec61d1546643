// The eval job (issue 10, item 2): one model (with its adapter) over every
// item of one benchmark, one item per unit, each result committed with the
// cursor (a crash loses at most the item in flight; greedy decoding makes a
// resumed run store what an uninterrupted one would). Modes: `generate`
// (greedy answer, then ./extract.ts) and `likelihood` (every option's
// continuation scored in one batch after the prompt, the best predicted).
// The run key is (model id incl. adapter and format, benchmark, mode, decoding).
import { z } from 'zod';
import { AppError, type ErrorKind } from '../../../shared/errors';
import { EvalOptions, type EvalMode } from '../../../shared/pipeline/eval';
import { openModelSession, type ModelSession } from '../../engine/generate/model-session';
import type { JobKind, JobRun } from '../../jobs/kind';
import { extractAnswer } from './extract';
import type { BenchItem, EvalQueries, EvalResultRecord } from './queries';

export const EvalParams = EvalOptions.omit({ model: true, bench: true }).extend({
  modelDir: z.string().min(1),
  benchmarkId: z.int().nonnegative(),
});
export type EvalParams = z.output<typeof EvalParams>;

export const EvalCursor = z.object({
  /** Id of the last benchmark item handled. */
  after: z.int().nonnegative(),
  done: z.int().nonnegative(),
});
export type EvalCursor = z.infer<typeof EvalCursor>;

/** What a run needs of a model: the sessions' common face, whatever the family (the bench passes one already open). */
export type EvalSession = Pick<ModelSession, 'answer' | 'score' | 'modelId' | 'captureLayers' | 'close'>;
export type OpenSession = (p: EvalParams) => Promise<EvalSession>;

/** The model folder (and adapter) through the one dispatch point: llava-hf or IXC2.5 by config.json (model-session.ts). */
const openModel: OpenSession = (p) =>
  openModelSession({
    modelDir: p.modelDir,
    ep: p.ep,
    ...(p.weights === undefined ? {} : { weights: p.weights, weightBlock: p.weightBlock }),
    aspect: p.aspect,
    template: p.template,
    ...(p.adapter === undefined ? {} : { adapter: { dir: p.adapter } }),
    ...(p.layer === undefined ? {} : { attentionLayers: [p.layer] }),
  });

/** Error kinds that concern one item (an image that no longer decodes, a prompt longer than the context). */
const ITEM_ERRORS: ReadonlySet<ErrorKind> = new Set(['bad-input', 'bad-file', 'not-found']);

/** The settings besides model, benchmark and mode that change a run's answers: part of its key. */
export function decodingOf(p: EvalParams, layer: number): Record<string, unknown> {
  const prompt = { aspect: p.aspect, template: p.template };
  return p.mode === 'generate' ? { ...prompt, decoding: 'greedy', maxNewTokens: p.maxNewTokens, layer } : prompt;
}

/** The continuations likelihood mode scores: the option letters, or Yes/No; none for a short-answer item. */
export function continuations(item: Pick<BenchItem, 'kind' | 'options'>): string[] {
  if (item.kind === 'mcq') return item.options.map((o) => o.letter);
  if (item.kind === 'yesno') return ['Yes', 'No'];
  return [];
}

/** One item's result in either mode; null when likelihood mode has nothing to score (a short-answer item). */
export async function evaluateItem(
  session: EvalSession,
  item: BenchItem,
  o: { runId: number; mode: EvalMode; maxNewTokens: number; signal?: AbortSignal },
): Promise<EvalResultRecord | null> {
  const base = { runId: o.runId, itemId: item.id };
  if (o.mode === 'generate') {
    const { generation, text } = await session.answer({
      prompt: item.prompt,
      images: item.imagePaths,
      maxNewTokens: o.maxNewTokens,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const { prediction, correct } = extractAnswer(text, item);
    return {
      ...base,
      promptIds: generation.inputIds,
      response: text,
      responseIds: generation.stopReason === 'eos' ? generation.tokens.slice(0, -1) : generation.tokens,
      prediction,
      correct,
      optionIds: null,
      optionScores: null,
      perImageMean: (generation.attention[0]?.images ?? []).map((i) => i.mean),
    };
  }
  const letters = continuations(item);
  if (letters.length === 0) return null;
  const scored = await session.score({ prompt: item.prompt, images: item.imagePaths, responses: letters });
  let best = 0;
  scored.sum_logprob.forEach((s, i) => {
    if (s > scored.sum_logprob[best]!) best = i;
  });
  const prediction = letters[best]!;
  return {
    ...base,
    promptIds: scored.input_ids,
    response: null,
    responseIds: null,
    prediction,
    correct: prediction === item.answer,
    optionIds: Object.fromEntries(letters.map((l, i) => [l, scored.response_ids[i]!])),
    optionScores: Object.fromEntries(letters.map((l, i) => [l, scored.sum_logprob[i]!])),
    perImageMean: null,
  };
}

export function createEvalJob(open: OpenSession = openModel): JobKind<EvalParams, EvalCursor, EvalQueries> {
  return {
    kind: 'eval',
    params: EvalParams,
    cursor: EvalCursor,
    label: (p) =>
      `eval ${p.modelDir}${p.adapter === undefined ? '' : ` + ${p.adapter}`} on benchmark ${p.benchmarkId} (${p.mode})`,
    async plan(params, ctx): Promise<JobRun<EvalCursor, EvalQueries>> {
      const session = await open(params);
      let runId: number;
      let pending: number[];
      try {
        runId = await ctx.store.call('ensureEvalRun', {
          jobId: ctx.jobId,
          modelId: session.modelId,
          benchmarkId: params.benchmarkId,
          mode: params.mode,
          decoding: decodingOf(params, session.captureLayers[0]!),
        });
        pending = await ctx.store.call('pendingEvalItems', { runId });
      } catch (e) {
        await session.close();
        throw e;
      }
      ctx.log(
        'info',
        `eval run ${runId}: ${session.modelId}, ${params.mode} mode, ${pending.length} item(s) to answer`,
      );
      let at = 0;
      let answered = 0;
      return {
        async runUnit(cursor) {
          const after = cursor?.after ?? 0;
          const doneBefore = cursor?.done ?? 0;
          while (at < pending.length && pending[at]! <= after) at++;
          const id = pending[at];
          if (id === undefined)
            return {
              cursor: { after, done: doneBefore },
              done: doneBefore,
              total: doneBefore,
              write: null,
              finished: true,
            };
          const done = doneBefore + 1;
          const unit = {
            cursor: { after: id, done },
            done,
            total: done + pending.length - at - 1,
            finished: at === pending.length - 1,
          };
          const item = await ctx.store.call('benchItem', { id });
          if (item === null) return { ...unit, write: null };
          let record: EvalResultRecord | null;
          try {
            record = await evaluateItem(session, item, {
              runId,
              mode: params.mode,
              maxNewTokens: params.maxNewTokens,
              signal: ctx.signal,
            });
          } catch (e) {
            if (!(e instanceof AppError) || !ITEM_ERRORS.has(e.kind)) throw e;
            ctx.log('warn', `item ${item.index} skipped: ${e.message}`);
            record = null;
          }
          if (record === null) {
            if (params.mode === 'likelihood' && item.kind === 'short')
              ctx.log('warn', `item ${item.index} is a short-answer item: likelihood mode has no options to score`);
            return { ...unit, write: null };
          }
          answered++;
          return { ...unit, write: { method: 'insertEvalResult', args: record } };
        },
        async finish() {
          ctx.log('info', `eval run ${runId}: ${answered} item(s) answered by this run`);
          return { method: 'evalJobSummary', args: { runId } };
        },
        close: () => session.close(),
      };
    },
    // Results already committed are complete answers: a cancelled run keeps them.
    discard: () => null,
  };
}

export const evalJob = createEvalJob();
