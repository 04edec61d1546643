// The evaluation API handlers (shared/pipeline/eval.ts), spread into the
// service's handler table: benchmark import, eval runs (the `eval` job) with
// their statistics, paired comparisons, the runs x benchmarks table, the
// side-by-side items and attention differences.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ApiHandlers } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import type { AttentionDiff, EVAL_COMMANDS, EvalRun } from '../../../shared/pipeline/eval';
import type { JobQueries } from '../../jobs/queries';
import type { JobRunner } from '../../jobs/runner';
import type { Store } from '../../store/store';
import { attentionDiff } from './attention-diff';
import { importBenchmark } from './bench-import';
import { compareRuns, evalTable, runSummary, sideBySide } from './compare';
import { EvalParams } from './eval-job';
import type { EvalQueries, EvalRunRow } from './queries';

type EvalHandlers = Pick<ApiHandlers, keyof typeof EVAL_COMMANDS>;

export interface EvalProject {
  dir: string;
  store: Store<EvalQueries & Pick<JobQueries, 'getJob'>>;
  runner: Pick<JobRunner<JobQueries>, 'submit' | 'unfinished'>;
}

/** What reading runs and answering items again needs (no job runner). */
export type EvalReader = Pick<EvalProject, 'dir' | 'store'>;

function writable(p: EvalProject): EvalProject {
  if (p.store.readOnly)
    throw new AppError('conflict', `${p.dir} is open read-only (damaged database): evaluation cannot write to it`, {
      subject: p.dir,
    });
  return p;
}

function folder(dir: string, what: string): string {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new AppError('not-found', `${what} folder ${abs} does not exist`, { subject: dir });
  return abs;
}

export async function runRow(p: EvalReader, id: number): Promise<EvalRunRow> {
  const run = await p.store.call('evalRun', { id });
  if (run === null)
    throw new AppError('not-found', `there is no eval run ${id} in this project`, { subject: `run ${id}` });
  return run;
}

async function summary(p: EvalProject, run: EvalRunRow): Promise<EvalRun> {
  return runSummary(run, await p.store.call('evalOutcomes', { runId: run.id }));
}

/** The params of the job that made a run: which model folders to open again. */
export async function runParams(p: EvalReader, run: EvalRunRow): Promise<EvalParams> {
  const job = await p.store.call('getJob', { id: run.jobId });
  const parsed = EvalParams.safeParse(job?.params);
  if (!parsed.success)
    throw new AppError('not-found', `eval run ${run.id}: its job ${run.jobId} and model folders are no longer known`, {
      subject: `run ${run.id}`,
    });
  return parsed.data;
}

/**
 * Both runs' models answer item `itemId` (of their common benchmark) and their
 * attention maps per image are returned with B minus A (eval.attention.diff, Figure 6).
 */
export async function attentionDiffOf(p: EvalReader, a: number, b: number, itemId: number): Promise<AttentionDiff> {
  const [ra, rb] = [await runRow(p, a), await runRow(p, b)];
  const item = await p.store.call('benchItem', { id: itemId });
  if (item === null || item.benchmarkId !== ra.benchmarkId || item.benchmarkId !== rb.benchmarkId)
    throw new AppError('not-found', `item ${itemId} is not an item of both runs' benchmark`, {
      subject: `item ${itemId}`,
    });
  const layerOf = (r: EvalRunRow) => (typeof r.decoding['layer'] === 'number' ? r.decoding['layer'] : undefined);
  const side = async (r: EvalRunRow) => {
    const params = await runParams(p, r);
    const layer = layerOf(r) ?? params.layer;
    if (layer === undefined)
      throw new AppError(
        'bad-input',
        `eval run ${r.id} recorded no attention layer (a likelihood run): use generate runs`,
        {
          subject: `run ${r.id}`,
        },
      );
    return { params, layer };
  };
  return attentionDiff(item, await side(ra), await side(rb));
}

export function evalHandlers(project: () => EvalProject): EvalHandlers {
  return {
    'eval.bench.import': async ({ file, name }) => {
      const p = writable(project());
      return importBenchmark(p.store, p.dir, file, name);
    },
    'eval.bench.list': async () => ({ benchmarks: await project().store.call('listBenchmarks') }),
    'eval.run': async ({ model, adapter, bench, ...options }) => {
      const p = writable(project());
      const benchmarkId = await p.store.call('benchmarkId', { name: bench });
      if (benchmarkId === null)
        throw new AppError('not-found', `there is no benchmark named "${bench}" in ${p.dir}: import it first`, {
          subject: bench,
        });
      const params = EvalParams.parse({
        ...options,
        modelDir: folder(model, 'model'),
        ...(adapter === undefined ? {} : { adapter: folder(adapter, 'adapter') }),
        benchmarkId,
      });
      // The same evaluation interrupted by a crash (it resumed when the project opened) is joined, not doubled.
      const same = await p.runner.unfinished('eval', (q) => isDeepStrictEqual(q, params));
      if (same !== null) return { jobId: same.id };
      return { jobId: (await p.runner.submit('eval', params)).id };
    },
    'eval.runs': async () => {
      const p = project();
      const runs: EvalRun[] = [];
      for (const run of await p.store.call('evalRuns')) runs.push(await summary(p, run));
      return { runs };
    },
    'eval.runs.get': async (request) => {
      const p = project();
      const run = await p.store.call('evalRun', request);
      if (run === null) {
        const what = 'id' in request ? `eval run ${request.id}` : `eval run of job ${request.jobId}`;
        throw new AppError('not-found', `there is no ${what} in this project`, { subject: what });
      }
      return summary(p, run);
    },
    'eval.items': async ({ run, offset, limit, category }) => {
      const p = project();
      await runRow(p, run);
      const rows = await p.store.call('evalResults', { runId: run, ...(category === undefined ? {} : { category }) });
      return {
        total: rows.length,
        items: rows.slice(offset, offset + limit).map((r) => ({
          itemId: r.itemId,
          index: r.index,
          category: r.category,
          question: r.question,
          imageIds: r.imageIds,
          answer: r.answer,
          prediction: r.prediction,
          correct: r.correct,
          prompt_ids: r.promptIds,
          response: r.response,
          response_ids: r.responseIds,
          option_ids: r.optionIds,
          option_scores: r.optionScores,
          per_image_mean: r.perImageMean,
        })),
      };
    },
    'eval.compare': async ({ a, b, seed, resamples }) => {
      const p = project();
      const [ra, rb] = [await runRow(p, a), await runRow(p, b)];
      if (ra.benchmarkId !== rb.benchmarkId)
        throw new AppError(
          'bad-input',
          `runs ${a} and ${b} are on different benchmarks (${ra.benchmark}, ${rb.benchmark}): a paired comparison needs the same items`,
          { subject: `runs ${a}, ${b}` },
        );
      return compareRuns(
        { id: a, outcomes: await p.store.call('evalOutcomes', { runId: a }) },
        { id: b, outcomes: await p.store.call('evalOutcomes', { runId: b }) },
        { seed, resamples },
      );
    },
    'eval.table': async ({ baseline }) => {
      const p = project();
      const runs: EvalRun[] = [];
      for (const run of await p.store.call('evalRuns')) runs.push(await summary(p, run));
      return evalTable(runs, baseline);
    },
    'eval.side': async ({ a, b, offset, limit, filter }) => {
      const p = project();
      await runRow(p, a);
      await runRow(p, b);
      return sideBySide(
        await p.store.call('evalResults', { runId: a }),
        await p.store.call('evalResults', { runId: b }),
        filter,
        { offset, limit },
      );
    },
    'eval.attention.diff': async ({ a, b, itemId }) => attentionDiffOf(project(), a, b, itemId),
  };
}
