// The demo run's stages (issue 14, item 3), each through the service API the
// UI uses, so the served project shows every stage's results: the world's data
// written, imported, augmented, answered by the base model with attention,
// selected, LoRA-DPO trained on the kept pairs (with the collapse guard),
// base and adapter evaluated on the held-out benchmark and compared.
import path from 'node:path';
import { COMMANDS, FINAL_JOB_STATES, JOB_RESULTS, type Job } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';
import { FORMATS, type Format } from '../../../shared/pipeline/formats';
import type { EvalRun } from '../../../shared/pipeline/eval';
import { TrainOptions, type TrainOptionsIn, type TrainStepMetrics } from '../../../shared/pipeline/train';
import { writeWorld, type WorldResult } from '../../pipeline/demo-world/write';
import type { Service } from '../../service';
import type { CliIo } from '../command';
import { waitForJob } from '../wait-job';
import { compareRuns, type DemoComparison } from './compare';
import {
  DEMO_BENCH,
  DEMO_GUARD,
  DEMO_GUARD_BENCH,
  DEMO_PIPELINE,
  DEMO_TRAIN,
  DEMO_WORLD,
  EPOCHS_AT_MOST,
  type DemoSizes,
} from './defaults';

export interface DemoInput {
  /** The demo folder: the project itself, the world under `world/`, the adapter under `runs/demo-adapter/`. */
  dir: string;
  model: string;
  seed: number;
  ep: 'auto' | 'cpu' | 'webgpu' | 'cuda';
  sizes: DemoSizes;
}

export const DEMO_STAGES = [
  'world',
  'import',
  'augment',
  'respond',
  'select',
  'bench',
  'eval base',
  'train',
  'eval adapter',
  'compare',
  'figures',
] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

type PerFormat = Record<Format, number>;

export interface DemoTraining {
  runId: number;
  /** Kept pairs the run trained on. */
  pairs: number;
  /** Steps planned and steps run. */
  plannedSteps: number;
  steps: number;
  /** The adapter's step: the last step, or the guard's checkpoint. */
  adapterStep: number;
  lastLoss: number | null;
  lastMargin: number | null;
  /** The first step whose chosen log-prob fell past the guard, or whose checkpoint failed the single-image guard. */
  guardStep: number | null;
  /** The single-image guard's checks: each checkpoint's accuracy on the guard slice (the base's first, step 0). */
  guardChecks: { step: number; accuracy: number }[];
  /** Seconds the single-image guard took (its evaluations and the pauses around them). */
  guardSeconds: number;
  settings: Record<string, unknown>;
}

export interface DemoResult {
  ok: true;
  dir: string;
  project: string;
  model: string;
  adapter: string;
  seed: number;
  world: { dir: string; trainSamples: number; benchSingle: number; benchMulti: number };
  counts: {
    imported: number;
    augmented: PerFormat;
    generations: number;
    kept: number;
    keptByFormat: PerFormat;
  };
  training: DemoTraining;
  before: DemoComparison['before'];
  after: DemoComparison['after'];
  mcnemar: DemoComparison['mcnemar'];
  delta: DemoComparison['delta'];
  runs: { base: number; adapter: number };
  /** The paper's Figures 5 and 6 drawn from this project (PNG, SVG and data JSON under <project>/figures). */
  figures: { dir: string; files: string[]; item: number | null };
  /** Whether the adapter's single-image accuracy stayed within DEMO_GUARD.singleDropPoints of the base's. */
  singleHeld: boolean;
  stages: { stage: DemoStage; seconds: number; note: string }[];
  totalSeconds: number;
}

/** Runs one job to its end; a job that does not finish stops the demo with its own message. */
export async function runJob(service: Service, io: CliIo, label: string, jobId: number): Promise<Job> {
  const job = await waitForJob(service, jobId, io, label);
  if (job.state !== 'done') {
    const kind = job.state === 'cancelled' ? 'cancelled' : (job.error?.kind ?? 'runtime');
    throw new AppError(
      kind,
      `demo: the ${label} stage ended ${job.state}${job.error ? `: ${job.error.message}` : ''}`,
      {
        subject: label,
      },
    );
  }
  return job;
}

const listFormats = (counts: PerFormat): string => FORMATS.map((f) => `${f} ${counts[f]}`).join(', ');

/** Times each stage and reports it on one line: `[n/10] stage: note (s)`. */
export class Stages {
  readonly done: DemoResult['stages'] = [];
  private readonly started = performance.now();
  constructor(private readonly say: (line: string) => void) {}

  async run<T>(stage: DemoStage, work: () => Promise<{ value: T; note: string }>): Promise<T> {
    const t0 = performance.now();
    const { value, note } = await work();
    const seconds = (performance.now() - t0) / 1000;
    this.done.push({ stage, seconds, note });
    const n = DEMO_STAGES.indexOf(stage) + 1;
    this.say(`[${n}/${DEMO_STAGES.length}] ${stage}: ${note} (${seconds.toFixed(1)} s)`);
    return value;
  }

  get totalSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }
}

/** The first step whose chosen answers' log-prob fell past the guard (the batch mean against the reference's). */
export function guardStep(steps: readonly TrainStepMetrics[]): number | null {
  const bad = steps.find((s) => s.logps_chosen - s.ref_logps_chosen < -DEMO_GUARD.chosenDropNats);
  return bad?.step ?? null;
}

/** The single-image guard: a slice of the training world (`guard.tsv`) imported as `bench`, and the base's accuracy on it. */
export interface SingleGuard {
  bench: string;
  base: number;
}

/** Whether an accuracy on the guard slice is more than DEMO_GUARD.guardDropPoints below the base's. */
export const guardFails = (guard: SingleGuard, accuracy: number): boolean =>
  accuracy < guard.base - DEMO_GUARD.guardDropPoints / 100 - 1e-9;

/** Resolves with the job once it is paused or has ended. */
async function pausedOrEnded(service: Service, jobId: number): Promise<Job> {
  let settle: () => void = () => undefined;
  const changed = new Promise<void>((resolve) => (settle = resolve));
  const off = service.onEvent((e) => {
    if (e.type === 'job.state' && e.jobId === jobId && (e.state === 'paused' || FINAL_JOB_STATES.includes(e.state)))
      settle();
  });
  try {
    const now = await service.handlers['jobs.get']({ id: jobId });
    if (now.state !== 'paused' && !FINAL_JOB_STATES.includes(now.state)) await changed;
    return await service.handlers['jobs.get']({ id: jobId });
  } finally {
    off();
  }
}

/**
 * Trains, stopping the run at the first step past a guard. The chosen log-prob guard: a step's metrics measure the
 * weights before its update, so the last weights known good are those after step `guard - 2`, and the newest
 * checkpoint at or before it is the adapter. The single-image guard (with `guard`): at every checkpoint the run is
 * paused, the checkpoint answers the guard slice, and the run resumes (exactly: a checkpoint holds the optimizer's
 * state) while its accuracy stays within DEMO_GUARD.guardDropPoints of the base's; else the run stops and the last
 * checkpoint that passed is the adapter. The final weights are checked the same way.
 */
export async function trainAdapter(
  service: Service,
  io: CliIo,
  input: DemoInput,
  pairs: number,
  variant: { name: string; train?: Partial<TrainOptionsIn> } = { name: 'demo-adapter' },
  guard?: SingleGuard,
): Promise<DemoTraining & { adapter: string }> {
  const { sizes } = input;
  const perStep = sizes.batch * sizes.gradAccum;
  const plannedSteps = Math.max(1, Math.min(sizes.steps, Math.ceil((EPOCHS_AT_MOST * pairs) / perStep)));
  const out = path.join(input.dir, 'runs', variant.name);
  const settings = { ...DEMO_TRAIN, loraTargets: [...DEMO_TRAIN.loraTargets], ...variant.train };
  const request = TrainOptions.parse({
    ...settings,
    model: input.model,
    out,
    steps: plannedSteps,
    batch: sizes.batch,
    gradAccum: sizes.gradAccum,
    checkpointEvery: sizes.checkpointEvery,
    seed: input.seed,
    ep: input.ep,
  });
  const started = await service.handlers['train.start'](request);
  let tripped: number | null = null;
  let pausedAt: number | null = null;
  const off = service.onEvent((e) => {
    if (e.type !== 'train.step' || e.runId !== started.runId || tripped !== null) return;
    if (guardStep([e.metrics]) !== null) {
      tripped = e.metrics.step;
      service.handlers['jobs.cancel']({ id: started.jobId }).catch(() => undefined);
      return;
    }
    const step = e.metrics.step;
    if (guard !== undefined && step % sizes.checkpointEvery === 0 && step < plannedSteps) {
      pausedAt = step;
      service.handlers['jobs.pause']({ id: started.jobId }).catch(() => undefined);
    }
  });
  const checks: DemoTraining['guardChecks'] = guard === undefined ? [] : [{ step: 0, accuracy: guard.base }];
  let guardSeconds = 0;
  let singleFailed: number | null = null;
  /** The guard slice's accuracy of an adapter (a checkpoint or the final one). */
  const check = async (step: number, adapter: string): Promise<boolean> => {
    const t0 = performance.now();
    const run = await evaluate(service, io, input, `guard step ${step}`, adapter, guard!.bench);
    checks.push({ step, accuracy: run.accuracy });
    guardSeconds += (performance.now() - t0) / 1000;
    if (!guardFails(guard!, run.accuracy)) return true;
    singleFailed = step;
    return false;
  };
  const checkpointDir = async (step: number): Promise<string | null> => {
    const { checkpoints } = await service.handlers['train.checkpoints']({ runId: started.runId });
    return checkpoints.find((c) => c.step === step)?.dir ?? null;
  };
  try {
    if (started.referenceJobId !== null) await runJob(service, io, 'reference log-probs', started.referenceJobId);
    let job = await pausedOrEnded(service, started.jobId);
    while (job.state === 'paused' && pausedAt !== null) {
      const step: number = pausedAt;
      const t0 = performance.now();
      const dir = await checkpointDir(step);
      guardSeconds += (performance.now() - t0) / 1000;
      if (dir !== null && !(await check(step, dir))) {
        await service.handlers['jobs.cancel']({ id: started.jobId });
        job = await waitForJob(service, started.jobId, io, 'train');
        break;
      }
      const t1 = performance.now();
      pausedAt = null;
      await service.handlers['jobs.resume']({ id: started.jobId });
      guardSeconds += (performance.now() - t1) / 1000;
      job = await pausedOrEnded(service, started.jobId);
    }
    if (job.state === 'paused') job = await waitForJob(service, started.jobId, io, 'train');
    const { steps } = await service.handlers['train.metrics']({ runId: started.runId, after: 0 });
    if (guard !== undefined && singleFailed === null && tripped === null && job.state === 'done')
      await check(steps.length, out);
    const chosenGuard = guardStep(steps);
    const last = steps[steps.length - 1];
    const common = {
      runId: started.runId,
      pairs,
      plannedSteps,
      steps: steps.length,
      lastLoss: last?.loss ?? null,
      lastMargin: last?.margin ?? null,
      guardStep: chosenGuard ?? singleFailed,
      guardChecks: checks,
      guardSeconds,
      settings: {
        ...settings,
        steps: plannedSteps,
        batch: sizes.batch,
        gradAccum: sizes.gradAccum,
        seed: input.seed,
      },
    };
    if (chosenGuard === null && singleFailed === null) {
      if (job.state !== 'done') await runJob(service, io, 'train', job.id);
      return { ...common, adapterStep: steps.length, adapter: out };
    }
    // The chosen log-prob guard: the checkpoint before the fall; the single-image guard: the last one that passed.
    const goodAt =
      chosenGuard !== null
        ? chosenGuard - 2
        : Math.max(0, ...checks.filter((c) => c.step > 0 && !guardFails(guard!, c.accuracy)).map((c) => c.step));
    const { checkpoints } = await service.handlers['train.checkpoints']({ runId: started.runId });
    const good = checkpoints.filter((c) => c.step <= goodAt && c.step > 0).sort((a, b) => b.step - a.step)[0];
    if (good === undefined)
      throw new AppError(
        'runtime',
        chosenGuard !== null
          ? `demo: the collapse guard stopped training at step ${chosenGuard} (chosen answers' log-prob more than ${DEMO_GUARD.chosenDropNats} nat below the reference's) before any checkpoint; the learning rate (${request.lr}) is too high for this model`
          : `demo: the collapse guard stopped training at step ${singleFailed}: single-image accuracy on the guard slice fell more than ${DEMO_GUARD.guardDropPoints} points below the base's before any checkpoint passed; the learning rate (${request.lr}) is too high for this model`,
        { subject: out },
      );
    return { ...common, adapterStep: good.step, adapter: good.dir };
  } finally {
    off();
  }
}

function perFormat(rows: readonly { format: Format; count: number }[]): PerFormat {
  const out = Object.fromEntries(FORMATS.map((f) => [f, 0])) as PerFormat;
  for (const r of rows) out[r.format] += r.count;
  return out;
}

export async function evaluate(
  service: Service,
  io: CliIo,
  input: DemoInput,
  label: string,
  adapter?: string,
  bench: string = DEMO_BENCH,
): Promise<EvalRun> {
  const request = COMMANDS['eval.run'].request.parse({
    model: input.model,
    adapter,
    bench,
    maxNewTokens: input.sizes.maxNewTokens,
    ep: input.ep,
  });
  const job = await runJob(service, io, label, (await service.handlers['eval.run'](request)).jobId);
  return service.handlers['eval.runs.get']({ jobId: job.id });
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
export const categoryLine = (run: EvalRun): string =>
  run.perCategory.map((c) => `${c.category} ${pct(c.accuracy)} (n=${c.n})`).join(', ');

/** What the stages before training leave: the world, the answers and their selection, the base model's eval run. */
export interface Prepared {
  world: WorldResult;
  imported: number;
  augmented: PerFormat;
  stats: { generations: number; kept: number; byFormat: PerFormat };
  base: EvalRun;
  /** The single-image guard slice and the base's accuracy on it. */
  guard: SingleGuard;
}

/** The stages up to the base model's evaluation (shared by the demo and its ablations). */
export async function prepareDemo(service: Service, input: DemoInput, io: CliIo, stages: Stages): Promise<Prepared> {
  const { dir, sizes } = input;
  const worldDir = path.join(dir, 'world');
  const world = await stages.run('world', async () => {
    // First, while the folder is empty (a project is created in a new or empty folder).
    await service.handlers['project.create']({ dir, name: 'MIA-DPO demo' });
    const w = await writeWorld({
      out: worldDir,
      seed: input.seed,
      train: sizes.worldSamples,
      bench: sizes.benchItems,
      guard: sizes.guardItems,
      ...DEMO_WORLD,
    });
    return {
      value: w,
      note: `project ${dir}; world seed ${w.seed}: ${w.train.samples} single-image samples, ${w.bench.single} + ${w.bench.multi} held-out benchmark items in ${worldDir}`,
    };
  });
  const imported = await stages.run('import', async () => {
    const source = { kind: 'llava' as const, file: world.train.file, imagesRoot: world.train.imagesRoot };
    const { jobId } = await service.handlers['dataset.import'](COMMANDS['dataset.import'].request.parse({ source }));
    const r = JOB_RESULTS.import.parse((await runJob(service, io, 'import', jobId)).result);
    const n = r.imported ?? r.samples ?? 0;
    return { value: n, note: `${n} samples imported` };
  });
  const augmented = await stages.run('augment', async () => {
    await service.handlers['pipeline.settings.set']({ patch: DEMO_PIPELINE });
    const request = COMMANDS['pipeline.augment'].request.parse({ count: sizes.augment, seed: input.seed });
    await runJob(service, io, 'augment', (await service.handlers['pipeline.augment'](request)).jobId);
    const counts = perFormat((await service.handlers['pipeline.stats']({ bins: 1 })).augmented);
    return { value: counts, note: `${listFormats(counts)} multi-image samples` };
  });
  await stages.run('respond', async () => {
    const request = COMMANDS['pipeline.respond'].request.parse({
      model: input.model,
      ep: input.ep,
      maxNewTokens: sizes.maxNewTokens,
      seed: input.seed,
    });
    await runJob(service, io, 'respond', (await service.handlers['pipeline.respond'](request)).jobId);
    const { generations } = await service.handlers['pipeline.overview']({});
    return { value: generations, note: `${generations} answers by the base model, attention recorded` };
  });
  const stats = await stages.run('select', async () => {
    const s = await selectPairs(service, io);
    return {
      value: s,
      note: `kept ${s.kept} of ${s.generations} answers as pairs (${selectionLine()}): ${listFormats(s.byFormat)}`,
    };
  });
  if (stats.kept === 0)
    throw new AppError(
      'bad-input',
      `demo: the selection kept no pairs from ${stats.generations} answers, so there is nothing to train on; the model in ${input.model} answered every multi-image sample as the ground truth or never looked away from the target image`,
      { subject: input.model },
    );
  await stages.run('bench', async () => {
    const { benchmark, problems } = await service.handlers['eval.bench.import']({
      file: world.bench.file,
      name: DEMO_BENCH,
    });
    const g = await service.handlers['eval.bench.import']({ file: world.guard!.file, name: DEMO_GUARD_BENCH });
    return {
      value: benchmark,
      note: `${benchmark.items} items imported as "${benchmark.name}", ${problems.length} problems; the collapse guard's ${g.benchmark.items} single-image items over training scenes as "${DEMO_GUARD_BENCH}"`,
    };
  });
  const { base, guard } = await stages.run('eval base', async () => {
    const run = await evaluate(service, io, input, 'eval base');
    const g = await evaluate(service, io, input, 'eval base (guard slice)', undefined, DEMO_GUARD_BENCH);
    return {
      value: { base: run, guard: { bench: DEMO_GUARD_BENCH, base: g.accuracy } },
      note: `run ${run.id}: ${categoryLine(run)}; guard slice ${pct(g.accuracy)} (n=${g.answered})`,
    };
  });
  return { world, imported, augmented, stats, base, guard };
}

/** The demo's selection in words: the paper's attention thresholds and its perplexity bound, or the demo's. */
function selectionLine(): string {
  const selection = DEMO_PIPELINE['selection'] as { post?: { perplexity?: { min?: number | null } } } | undefined;
  const min = selection?.post?.perplexity?.min;
  const ppl = min === undefined ? DEFAULT_SETTINGS.selection.post.perplexity.min : min;
  return `paper thresholds, ${ppl === null ? 'no perplexity bound' : `perplexity > ${ppl}`}`;
}

/** A selection job with the project's settings after `patch`; the kept counts it leaves. */
export async function selectPairs(
  service: Service,
  io: CliIo,
  patch?: Record<string, unknown>,
): Promise<Prepared['stats']> {
  await runJob(service, io, 'select', (await service.handlers['pipeline.select'](patch ? { patch } : {})).jobId);
  const s = await service.handlers['pipeline.stats']({ bins: 1 });
  const byFormat = Object.fromEntries(FORMATS.map((f) => [f, s.byFormat[f].kept])) as PerFormat;
  return { generations: s.generations, kept: s.kept, byFormat };
}

/** The whole run in an open service; `say` hears one line per stage. The project is created in `input.dir`. */
export async function runDemo(
  service: Service,
  input: DemoInput,
  io: CliIo,
  say: (line: string) => void,
): Promise<DemoResult> {
  const stages = new Stages(say);
  const { world, imported, augmented, stats, base, guard: singleGuard } = await prepareDemo(service, input, io, stages);
  const training = await stages.run('train', async () => {
    const t = await trainAdapter(service, io, input, stats.kept, undefined, singleGuard);
    const checks = `guard slice ${t.guardChecks.map((c) => `${c.step}: ${pct(c.accuracy)}`).join(', ')} (${t.guardSeconds.toFixed(1)} s)`;
    const guard =
      t.guardStep === null
        ? `; ${checks}`
        : `; the collapse guard stopped it at step ${t.guardStep}, adapter = step ${t.adapterStep}; ${checks}`;
    return {
      value: t,
      note: `LoRA-DPO on ${t.pairs} pairs, ${t.steps} of ${t.plannedSteps} steps, last loss ${t.lastLoss?.toFixed(4) ?? '-'}${guard}; adapter ${t.adapter}`,
    };
  });
  const tuned = await stages.run('eval adapter', async () => {
    const run = await evaluate(service, io, input, 'eval adapter', training.adapter);
    return { value: run, note: `run ${run.id}: ${categoryLine(run)}` };
  });
  const comparison = await stages.run('compare', async () => {
    const c = await compareRuns(service, base, tuned);
    return {
      value: c,
      note: `exact McNemar p: ${Object.entries(c.mcnemar)
        .map(([k, p]) => `${k} ${p.toPrecision(3)}`)
        .join(', ')}`,
    };
  });
  const figures = await stages.run('figures', async () => {
    const { jobId } = await service.handlers['figures.render']({
      figures: ['attention-ratios', 'attention-before-after'],
      runs: [base.id, tuned.id],
    });
    const r = JOB_RESULTS.figures.parse((await runJob(service, io, 'figures', jobId)).result);
    const pngs = r.files.filter((f) => f.endsWith('.png')).map((f) => path.basename(f));
    return {
      value: { dir: r.dir, files: r.files, item: r.item },
      note: `${pngs.join(', ')} in ${r.dir} (Figure 6: item ${r.item ?? '-'})`,
    };
  });
  const { adapter, ...trainingReport } = training;
  const singleBefore = comparison.before.single?.accuracy ?? 0;
  const singleAfter = comparison.after.single?.accuracy ?? 0;
  return {
    ok: true,
    dir: input.dir,
    project: input.dir,
    model: input.model,
    adapter,
    seed: input.seed,
    world: {
      dir: world.dir,
      trainSamples: world.train.samples,
      benchSingle: world.bench.single,
      benchMulti: world.bench.multi,
    },
    counts: { imported, augmented, generations: stats.generations, kept: stats.kept, keptByFormat: stats.byFormat },
    training: trainingReport,
    before: comparison.before,
    after: comparison.after,
    mcnemar: comparison.mcnemar,
    delta: comparison.delta,
    runs: { base: base.id, adapter: tuned.id },
    figures,
    singleHeld: singleAfter >= singleBefore - DEMO_GUARD.singleDropPoints / 100,
    stages: stages.done,
    totalSeconds: stages.totalSeconds,
  };
}
