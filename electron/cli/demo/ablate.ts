// The demo's ablations (issue 14, item 4; docs/demo.md): per seed, one demo
// project up to the base model's evaluation, then one LoRA run per variant on
// the same answers, each evaluated on the same held-out benchmark and compared
// with the base: attention-selected pairs (the demo) against as many random
// pairs and against all pairs; DPO + SFT term against DPO alone and SFT alone;
// with and without the paper's post-selection. Everything through the service API.
import { DEFAULT_SETTINGS, REFERENCE_THRESHOLDS, resolveSettings } from '../../../shared/pipeline/defaults';
import type { TrainOptionsIn } from '../../../shared/pipeline/train';
import { mulberry32 } from '../../common/mulberry32';
import type { Service } from '../../service';
import type { CliIo } from '../command';
import { compareRuns, type DemoComparison } from './compare';
import { DEMO_PIPELINE } from './defaults';
import { categoryLine, evaluate, prepareDemo, selectPairs, Stages, trainAdapter, type DemoInput } from './run';

type Selection = Record<string, unknown>;

/** The demo's post-selection: none, the demo's documented deviation from the reference (DEMO_PIPELINE). */
const POST = resolveSettings(DEMO_PIPELINE, 'DEMO_PIPELINE').selection.post;
/** The reference's post-selection (perplexity > 1.1). */
const PAPER_POST = DEFAULT_SETTINGS.selection.post;
/** The paper's thresholds and the demo's post-selection: what the demo selects with. */
const ATTENTION: Selection = { selection: { thresholds: REFERENCE_THRESHOLDS, post: POST } };
/** Every answer that passes the other checks (wrong, non-empty, post-selection), whatever its attention. */
const ALL: Selection = {
  selection: {
    thresholds: Object.fromEntries(
      Object.entries(REFERENCE_THRESHOLDS).map(([format, byCount]) => [
        format,
        Object.fromEntries(Object.keys(byCount).map((n) => [n, { op: '<=', value: Number.MAX_VALUE }])),
      ]),
    ),
    post: POST,
  },
};
const WITH_PAPER_POST: Selection = { selection: { thresholds: REFERENCE_THRESHOLDS, post: PAPER_POST } };

export interface AblationVariant {
  name: string;
  label: string;
  select: Selection;
  /** Keep a random subset of the selection, as many pairs as the attention-selected variant kept. */
  randomSubset?: boolean;
  train?: Partial<TrainOptionsIn>;
}

/** In run order: `random` needs the attention-selected count, so it comes after `mia-dpo`. */
export const ABLATION_VARIANTS: readonly AblationVariant[] = [
  { name: 'mia-dpo', label: 'DPO + SFT term, attention-selected, no post-selection (the demo)', select: ATTENTION },
  { name: 'random', label: 'DPO + SFT term, random pairs (as many)', select: ALL, randomSubset: true },
  { name: 'all', label: 'DPO + SFT term, all pairs', select: ALL },
  { name: 'dpo', label: 'DPO alone (no SFT term), attention-selected', select: ATTENTION, train: { sftWeight: 0 } },
  // beta 1e-6 leaves the DPO term constant (log 2) with a vanishing gradient: what trains is the SFT term alone.
  { name: 'sft', label: 'SFT on the chosen answers, attention-selected', select: ATTENTION, train: { beta: 1e-6 } },
  {
    name: 'paper-post',
    label: "DPO + SFT term, attention-selected, the paper's post-selection (perplexity > 1.1)",
    select: WITH_PAPER_POST,
  },
];

export interface AblationRow {
  seed: number;
  variant: string;
  label: string;
  pairs: number;
  steps: number;
  guardStep: number | null;
  comparison: DemoComparison;
}

/** Rejects (as a reviewer would) all but `keep` of the kept pairs, drawn with the seed; returns how many it rejected. */
export async function keepRandom(service: Service, keep: number, seed: number): Promise<number> {
  const ids: number[] = [];
  for (;;) {
    const page = await service.handlers['pipeline.pairs']({
      offset: ids.length,
      limit: 500,
      filter: { decision: ['keep'] },
      sort: { by: 'id', dir: 'asc' },
    });
    ids.push(...page.items.map((p) => p.id));
    if (page.items.length === 0 || ids.length >= page.total) break;
  }
  const rand = mulberry32(seed);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const drop = ids.slice(keep);
  for (const id of drop) await service.handlers['pipeline.pairs.review']({ id, action: 'reject' });
  return drop.length;
}

/** Undoes the random subset's rejections (accepted pairs train like pending ones). */
export async function clearRejections(service: Service): Promise<void> {
  await service.handlers['pipeline.pairs.reviewMany']({
    filter: { review: ['rejected'] },
    action: 'accept',
    dryRun: false,
  });
}

/** One seed: the shared stages, then each variant's run; `say` hears a line per stage and per variant. */
export async function ablateSeed(
  service: Service,
  input: DemoInput,
  variants: readonly AblationVariant[],
  io: CliIo,
  say: (line: string) => void,
): Promise<AblationRow[]> {
  const { base, stats, guard } = await prepareDemo(service, input, io, new Stages(say));
  const rows: AblationRow[] = [];
  let attentionKept = stats.kept;
  for (const v of variants) {
    const t0 = performance.now();
    let { kept } = await selectPairs(service, io, v.select);
    if (v.name === 'mia-dpo') attentionKept = kept;
    if (v.randomSubset === true) kept -= await keepRandom(service, attentionKept, input.seed);
    const t = await trainAdapter(service, io, input, kept, { name: v.name, train: v.train }, guard);
    if (v.randomSubset === true) await clearRejections(service);
    const run = await evaluate(service, io, input, `eval ${v.name}`, t.adapter);
    const comparison = await compareRuns(service, base, run);
    rows.push({
      seed: input.seed,
      variant: v.name,
      label: v.label,
      pairs: t.pairs,
      steps: t.adapterStep,
      guardStep: t.guardStep,
      comparison,
    });
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    say(`[seed ${input.seed}] ${v.name}: ${t.pairs} pairs, step ${t.adapterStep}; ${categoryLine(run)} (${s} s)`);
  }
  await selectPairs(service, io, ATTENTION);
  return rows;
}

const pct = (x: number): string => (100 * x).toFixed(1);
const pts = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;

/** The markdown tables: every run, then each variant's mean over the seeds. */
export function ablationTable(rows: readonly AblationRow[]): string {
  const out = [
    '| variant | seed | pairs | step | single: base -> adapter | multi: base -> adapter | multi difference [95% CI] | McNemar p (single, multi) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const c = r.comparison;
    const m = c.delta['multi'];
    out.push(
      `| ${r.label} | ${r.seed} | ${r.pairs} | ${r.steps}${r.guardStep === null ? '' : ` (guard at ${r.guardStep})`} | ` +
        `${pct(c.before['single']!.accuracy)} -> ${pct(c.after['single']!.accuracy)} | ` +
        `${pct(c.before['multi']!.accuracy)} -> ${pct(c.after['multi']!.accuracy)} | ` +
        `${m ? `${pts(m.delta)} [${pts(m.ci95[0])}, ${pts(m.ci95[1])}]` : '-'} | ` +
        `${c.mcnemar['single']!.toPrecision(2)}, ${c.mcnemar['multi']!.toPrecision(2)} |`,
    );
  }
  out.push(
    '',
    '| variant | seeds | mean single difference (points) | mean multi difference (points) |',
    '|---|---|---|---|',
  );
  const names = [...new Set(rows.map((r) => r.variant))];
  for (const name of names) {
    const of = rows.filter((r) => r.variant === name);
    const mean = (c: string) => of.reduce((s, r) => s + r.comparison.delta[c]!.delta, 0) / of.length;
    out.push(`| ${of[0]!.label} | ${of.length} | ${pts(mean('single'))} | ${pts(mean('multi'))} |`);
  }
  return out.join('\n');
}
