// Comparison data for the CLI and the UI (issue 10, items 3 and 4), pure over
// stored outcomes: a run's summary with intervals, the paired comparison of
// two runs on their shared items, the runs x benchmarks table with deltas
// (the paper's Table 1 layout) and the side-by-side items with filters.
import type {
  Agreement,
  EvalRun,
  EvalTable,
  PairedComparison,
  SideBySideFilter,
  SideBySideItem,
} from '../../../shared/pipeline/eval';
import type { EvalResultRow, EvalRunRow } from './queries';
import { accuracy, byCategory, paired } from './stats';

type Outcome = { itemId: number; category: string; correct: boolean };

export function runSummary(run: EvalRunRow, outcomes: readonly Outcome[]): EvalRun {
  const all = accuracy(outcomes.map((o) => o.correct));
  return {
    id: run.id,
    jobId: run.jobId,
    modelId: run.modelId,
    benchmarkId: run.benchmarkId,
    benchmark: run.benchmark,
    mode: run.mode,
    decoding: run.decoding,
    items: run.items,
    answered: all.n,
    correct: all.correct,
    accuracy: all.accuracy,
    ci95: all.ci95,
    perCategory: byCategory(outcomes),
    createdAt: run.createdAt,
  };
}

/** A and B on the items both answered (A's item order). */
export function compareRuns(
  a: { id: number; outcomes: readonly Outcome[] },
  b: { id: number; outcomes: readonly Outcome[] },
  o: { seed: number; resamples: number },
): PairedComparison {
  const bBy = new Map(b.outcomes.map((x) => [x.itemId, x.correct]));
  const shared = a.outcomes.filter((x) => bBy.has(x.itemId));
  const pa = shared.map((x) => x.correct);
  const pb = shared.map((x) => bBy.get(x.itemId)!);
  const cats = byCategory(shared).map(({ category }) => {
    const rows = shared.filter((x) => x.category === category);
    const accA = rows.filter((x) => x.correct).length / rows.length;
    const accB = rows.filter((x) => bBy.get(x.itemId)).length / rows.length;
    return { category, n: rows.length, accuracy_a: accA, accuracy_b: accB, delta: accB - accA };
  });
  return { a: a.id, b: b.id, ...paired(pa, pb, o), per_category: cats };
}

/** Rows per (model, mode) in order of first run; cells the latest run per benchmark; deltas to the baseline model's row of the same mode. */
export function evalTable(runs: readonly EvalRun[], baseline?: string): EvalTable {
  const benchmarks = [...new Map(runs.map((r) => [r.benchmarkId, r.benchmark])).entries()]
    .sort(([x], [y]) => x - y)
    .map(([id, name]) => ({ id, name }));
  const rowKeys = [...new Set(runs.map((r) => `${r.mode}\0${r.modelId}`))];
  const latest = (modelId: string, mode: string, benchmarkId: number): EvalRun | undefined =>
    runs.filter((r) => r.modelId === modelId && r.mode === mode && r.benchmarkId === benchmarkId).at(-1);
  const base = baseline ?? runs[0]?.modelId;
  const rows = rowKeys.map((key) => {
    const [mode, modelId] = key.split('\0') as [EvalRun['mode'], string];
    return {
      modelId,
      mode,
      cells: benchmarks.map((b) => {
        const run = latest(modelId, mode, b.id);
        if (run === undefined) return null;
        const ref = modelId === base ? undefined : base === undefined ? undefined : latest(base, mode, b.id);
        return {
          benchmarkId: b.id,
          runId: run.id,
          n: run.answered,
          accuracy: run.accuracy,
          ci95: run.ci95,
          delta: ref === undefined ? null : run.accuracy - ref.accuracy,
        };
      }),
    };
  });
  return { benchmarks, rows };
}

function agreementOf(a: boolean, b: boolean): Agreement {
  return a && b ? 'both_right' : a ? 'a_only' : b ? 'b_only' : 'both_wrong';
}

/** Items both runs answered, side by side, filtered; `total` counts every match. */
export function sideBySide(
  a: readonly EvalResultRow[],
  b: readonly EvalResultRow[],
  filter: SideBySideFilter,
  page: { offset: number; limit: number },
): { total: number; items: SideBySideItem[] } {
  const bBy = new Map(b.map((x) => [x.itemId, x]));
  const items: SideBySideItem[] = [];
  for (const x of a) {
    const y = bBy.get(x.itemId);
    if (y === undefined) continue;
    const agreement = agreementOf(x.correct, y.correct);
    if (filter.category !== undefined && x.category !== filter.category) continue;
    if (filter.disagree === true && agreement !== 'a_only' && agreement !== 'b_only') continue;
    if (filter.disagree === false && (agreement === 'a_only' || agreement === 'b_only')) continue;
    if (filter.agreement !== undefined && !filter.agreement.includes(agreement)) continue;
    const side = (r: EvalResultRow) => ({
      prediction: r.prediction,
      response: r.response,
      correct: r.correct,
    });
    items.push({
      itemId: x.itemId,
      index: x.index,
      category: x.category,
      question: x.question,
      imageIds: x.imageIds,
      answer: x.answer,
      agreement,
      a: side(x),
      b: side(y),
    });
  }
  return { total: items.length, items: items.slice(page.offset, page.offset + page.limit) };
}
