// Export and merge of a training run's adapter from the app (train.export,
// train.merge and the model-merge job): a run trained with the fake trainer (real
// LoRA shapes, B moved far from 0) on a tiny random llava-hf model; the merged
// folder opens as a model and scores as the base with the adapter; cancel,
// a kill at each point of the job, and the refusals.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, JobRecord } from '../../../../shared/api';
import { FINAL_JOB_STATES } from '../../../../shared/api';
import { AppError } from '../../../../shared/errors';
import { TrainOptions } from '../../../../shared/pipeline/train';
import { createProject, type ProjectQueries, type ProjectStore } from '../../../../electron/db';
import { loadRunner } from '../../../../electron/engine/generate/load';
import type { LlavaRunner } from '../../../../electron/engine/generate/runner';
import { scoreResponses } from '../../../../electron/engine/generate/score';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { openModel } from '../../../../electron/engine/models/open';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PeftAdapter } from '../../../../electron/engine/models/peft';
import type { JobContext } from '../../../../electron/jobs/kind';
import { JobRunner } from '../../../../electron/jobs/runner';
import { exportAdapter, startMerge, startTraining } from '../../../../electron/pipeline/api/train-handlers';
import { mergeTempDir, modelMergeJob, type MergeCursor } from '../../../../electron/pipeline/jobs/merge-job';
import { createTrainJob, createTrainReferenceJob } from '../../../../electron/pipeline/jobs/train-job';
import type { TrainQueries } from '../../../../electron/pipeline/train/queries';
import { TINY_LLAVA as TINY } from '../../../helpers/tiny-llava';
import { fakeTrainer, trainFixture, type TrainFixture } from './fixture';

let fx: TrainFixture;
let store: ProjectStore;
let runner: JobRunner<ProjectQueries>;
const events: ApiEvent[] = [];
let nanAt: number | undefined;
let finished: { runId: number; out: string };
let failed: { runId: number };
const runners: LlavaRunner[] = [];

const project = () => ({ dir: path.join(fx.dir, 'project'), store, runner });

async function waitFinal(id: number): Promise<JobRecord> {
  for (;;) {
    const job = await runner.get(id);
    if (FINAL_JOB_STATES.includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function train(out: string, steps: number): Promise<{ runId: number; out: string; job: JobRecord }> {
  const r = TrainOptions.parse({
    model: fx.modelDir,
    pairs: fx.pairsFile,
    out: path.join(fx.dir, out),
    steps,
    batch: 1,
    gradAccum: 1,
    loraR: 2,
    loraAlpha: 4,
    // The fake trainer moves B by about lr a step: far enough from 0 that the merge shows.
    lr: 0.5,
    schedule: 'constant',
    warmupSteps: 0,
    checkpointEvery: 2,
    ep: 'cpu',
  });
  const started = await startTraining(project(), r);
  return { runId: started.runId, out: r.out, job: await waitFinal(started.jobId) };
}

beforeAll(async () => {
  fx = await trainFixture();
  store = await createProject(path.join(fx.dir, 'project'));
  const open = (o: Parameters<ReturnType<typeof fakeTrainer>>[0], im: Parameters<ReturnType<typeof fakeTrainer>>[1]) =>
    fakeTrainer({ nanAt })(o, im);
  runner = new JobRunner(store, [createTrainReferenceJob(open), createTrainJob(open), modelMergeJob], (e) => {
    events.push(e);
  });
  await runner.start();
  const done = await train('run-done', 4);
  expect(done.job.state).toBe('done');
  finished = done;
  nanAt = 3;
  const broken = await train('run-failed', 4);
  nanAt = undefined;
  expect(broken.job.state).toBe('failed');
  failed = broken;
}, 60_000);

afterAll(async () => {
  for (const r of runners) {
    await r.release();
    await r.model.checkpoint.close();
  }
  await runner?.close();
  await store?.close();
});

const PROMPT = [1, 17, TINY.imageToken, 40, 8, 3];
const RESPONSES = [
  [29, 7, 311, 2],
  [5, 900, 2],
];
const pixels = Float32Array.from({ length: 3 * TINY.image * TINY.image }, (_, i) => Math.sin(i * 0.13));

async function logprobs(dir: string, adapter?: string): Promise<number[]> {
  const r = await loadRunner(dir, { ep: 'cpu', ...(adapter ? { adapter: { dir: adapter } } : {}) });
  runners.push(r);
  return (await scoreResponses(r, PROMPT, [await r.imageFeatures(pixels)], RESPONSES)).tokenLogprobs.flat();
}

const maxDiff = (a: number[], b: number[]): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
const temps = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

describe('train.merge: the model-merge job', () => {
  it('merges the final adapter: progress per tensor, a plain llava-hf folder scoring as base + adapter', async () => {
    const out = path.join(fx.dir, 'merged', 'final');
    const { jobId } = await startMerge(project(), { runId: finished.runId, out });
    const job = await waitFinal(jobId);
    expect(job.error).toBeNull();
    expect(job.state).toBe('done');
    expect(job.kind).toBe('model-merge');
    const result = job.result as { runId: number; step: null; out: string; tensors: number; files: string[] };
    expect(result).toMatchObject({ runId: finished.runId, step: null, out, merged: 2 * 7 });
    expect(result.files).toEqual(readdirSync(out).sort());
    const progress = events.flatMap((e) => (e.type === 'job.progress' && e.jobId === jobId ? [e.progress] : []));
    expect(progress.at(-1)).toMatchObject({ done: result.tensors, total: result.tensors });
    expect(progress.some((p) => p.done < result.tensors)).toBe(true);
    expect(temps(path.dirname(out))).toEqual([]);

    const model = await openModel(out);
    expect(model.checkpoint.names().sort()).toEqual(
      (await Checkpoint.open(fx.modelDir).then(async (c) => [c.names(), await c.close()][0] as string[])).sort(),
    );
    await model.checkpoint.close();
    const merged = await logprobs(out);
    const unmerged = await logprobs(fx.modelDir, finished.out);
    const bare = await logprobs(fx.modelDir);
    expect(maxDiff(merged, unmerged)).toBeLessThanOrEqual(1e-5);
    expect(maxDiff(merged, bare)).toBeGreaterThan(1e-3);
  });

  it("merges a checkpoint of a run that did not finish; refuses the run's missing final adapter", async () => {
    await expect(startMerge(project(), { runId: failed.runId, out: path.join(fx.dir, 'm-none') })).rejects.toThrow(
      /training run \d+ has no adapter yet: it is at step 2 of 4/,
    );
    const out = path.join(fx.dir, 'merged', 'step-2');
    const { jobId } = await startMerge(project(), { runId: failed.runId, checkpointStep: 2, out });
    const job = await waitFinal(jobId);
    expect(job.state).toBe('done');
    expect(job.result).toMatchObject({ step: 2, out });
    const [cp] = await store.call('trainCheckpoints', { runId: failed.runId });
    expect(maxDiff(await logprobs(out), await logprobs(fx.modelDir, cp!.dir))).toBeLessThanOrEqual(1e-5);
  });

  it('refuses a non-empty destination, an unknown checkpoint or run, and a read-only project, queuing nothing', async () => {
    const taken = path.join(fx.dir, 'taken');
    mkdirSync(taken, { recursive: true });
    writeFileSync(path.join(taken, 'keep.txt'), 'mine');
    const before = (await runner.list()).length;
    const refusal = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return e as AppError;
      }
      throw new Error('expected a refusal');
    };
    expect(await refusal(startMerge(project(), { runId: finished.runId, out: taken }))).toMatchObject({
      kind: 'bad-input',
      message: expect.stringMatching(/taken: already exists and is not empty/),
    });
    expect(readFileSync(path.join(taken, 'keep.txt'), 'utf8')).toBe('mine');
    expect(
      await refusal(startMerge(project(), { runId: finished.runId, checkpointStep: 3, out: path.join(fx.dir, 'x') })),
    ).toMatchObject({ kind: 'not-found', message: expect.stringMatching(/has no checkpoint at step 3/) });
    expect(await refusal(startMerge(project(), { runId: 999, out: path.join(fx.dir, 'x') }))).toMatchObject({
      kind: 'not-found',
      message: 'there is no training run 999 in this project',
    });
    const readOnly = { ...project(), store: { readOnly: true } as unknown as ProjectStore };
    expect(await refusal(startMerge(readOnly, { runId: finished.runId, out: path.join(fx.dir, 'x') }))).toMatchObject({
      kind: 'conflict',
      message: expect.stringMatching(/read-only/),
    });
    expect((await runner.list()).length).toBe(before);
    expect(existsSync(path.join(fx.dir, 'x'))).toBe(false);
  });
});

describe('train.merge while a merge into the same folder is under way', () => {
  it('joins it for the same adapter and refuses another adapter there', async () => {
    const out = path.join(fx.dir, 'busy');
    const queued = { runId: finished.runId, modelDir: fx.modelDir, adapterDir: finished.out, out };
    const submitted: unknown[] = [];
    const busy = {
      ...project(),
      runner: {
        submit: async (_k: unknown, p: unknown) => (submitted.push(p), { id: 78 }) as unknown as JobRecord,
        unfinished: async (kind: string, matches: (q: unknown) => boolean) =>
          kind === 'model-merge' && matches(queued) ? ({ id: 77 } as JobRecord) : null,
      },
    };
    expect(await startMerge(busy, { runId: finished.runId, out })).toEqual({ jobId: 77 });
    await expect(startMerge(busy, { runId: failed.runId, checkpointStep: 2, out })).rejects.toThrow(
      /busy: another merge into this folder is under way \(job 77\)/,
    );
    expect(submitted).toEqual([]);
  });
});

describe('model-merge job: cancel and kills', () => {
  const params = (out: string) => ({
    runId: finished.runId,
    modelDir: fx.modelDir,
    adapterDir: finished.out,
    out: path.join(fx.dir, out),
  });
  /** A job context of id `jobId`; `onProgress` sees each progress event. */
  function context(jobId: number, abort = new AbortController(), onProgress?: (done: number) => void) {
    const ctx: JobContext<TrainQueries> = {
      jobId,
      store: store as unknown as JobContext<TrainQueries>['store'],
      signal: abort.signal,
      log: () => undefined,
      emit: (e) => {
        if (e.type === 'job.progress') onProgress?.(e.progress.done);
      },
    };
    return ctx;
  }

  it('a cancel stops before the next tensor and leaves neither the destination nor the build', async () => {
    const p = params('cancelled');
    const abort = new AbortController();
    const ctx = context(9001, abort, () =>
      abort.abort(new AppError('cancelled', 'job 9001 was asked to cancel', { subject: 'job 9001' })),
    );
    const run = await modelMergeJob.plan(p, ctx);
    await expect(run.runUnit(null)).rejects.toMatchObject({ kind: 'cancelled' });
    expect(existsSync(mergeTempDir(p.out, 9001))).toBe(true);
    await run.close();
    expect(existsSync(mergeTempDir(p.out, 9001))).toBe(false);
    expect(existsSync(p.out)).toBe(false);
  });

  it('a kill mid-build: the rerun removes the half build and starts clean', async () => {
    const p = params('killed-building');
    const tmp = mergeTempDir(p.out, 9002);
    mkdirSync(tmp, { recursive: true });
    writeFileSync(path.join(tmp, 'model-00001-of-00002.safetensors'), 'half');
    const run = await modelMergeJob.plan(p, context(9002));
    const built = await run.runUnit(null);
    expect(built).toMatchObject({ finished: false, cursor: { phase: 'built' } });
    expect(existsSync(p.out)).toBe(false);
    expect(readdirSync(tmp).sort()).toEqual((built.cursor as MergeCursor).files);
    // Killed here (no close): the next run renames the complete build.
    const rerun = await modelMergeJob.plan(p, context(9002));
    const done = await rerun.runUnit(built.cursor);
    expect(done).toMatchObject({ finished: true, cursor: { phase: 'done' } });
    expect(existsSync(tmp)).toBe(false);
    expect(readdirSync(p.out).sort()).toEqual((built.cursor as MergeCursor).files);
    await (await Checkpoint.open(p.out)).close();
    // Killed after the rename, before the job recorded it: the folder in place is recognised, not rebuilt.
    const third = await modelMergeJob.plan(p, context(9002));
    expect(await third.runUnit(built.cursor)).toMatchObject({ finished: true, cursor: { phase: 'done' } });
    expect(await third.finish()).toMatchObject({ method: 'modelMerged', args: { out: p.out, step: null } });
    await Promise.all([run.close(), rerun.close(), third.close()]);
  });

  it('a paused build (dropped on close) is built again on resume', async () => {
    const p = params('paused');
    const run = await modelMergeJob.plan(p, context(9003));
    const built = await run.runUnit(null);
    await run.close();
    expect(existsSync(mergeTempDir(p.out, 9003))).toBe(false);
    const resumed = await modelMergeJob.plan(p, context(9003));
    expect(await resumed.runUnit(built.cursor)).toMatchObject({ finished: false, cursor: { phase: 'built' } });
    expect(await resumed.runUnit({ ...(built.cursor as MergeCursor) })).toMatchObject({ finished: true });
    await resumed.close();
    expect(readdirSync(p.out).sort()).toEqual((built.cursor as MergeCursor).files);
  });
});

describe('train.export', () => {
  it("copies the final adapter and a checkpoint's as verified PEFT folders", async () => {
    const out = path.join(fx.dir, 'exported', 'final');
    const res = await exportAdapter(project(), { runId: finished.runId, out });
    expect(res.out).toBe(out);
    expect(res.files.map((f) => f.name)).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS]);
    expect(readdirSync(out).sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS].sort());
    for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS])
      expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(finished.out, f)))).toBe(true);
    const base = await Checkpoint.open(fx.modelDir);
    const adapter = await PeftAdapter.load(out, base);
    expect(adapter.modules.size).toBe(2 * 7);
    await adapter.close();
    await base.close();

    const cps = await store.call('trainCheckpoints', { runId: failed.runId });
    const step = await exportAdapter(project(), { runId: failed.runId, checkpointStep: 2, out: out + '-step-2' });
    const manifest = cps[0]!.files.filter((f) => f.name === ADAPTER_WEIGHTS);
    expect(step.files.filter((f) => f.name === ADAPTER_WEIGHTS)).toEqual(manifest);
  });

  it('refuses a damaged checkpoint, a run without an adapter and a non-empty destination, writing nothing', async () => {
    await expect(
      exportAdapter(project(), { runId: failed.runId, out: path.join(fx.dir, 'exported', 'none') }),
    ).rejects.toThrow(/has no adapter yet/);
    await expect(exportAdapter(project(), { runId: finished.runId, out: fx.modelDir })).rejects.toThrow(
      /already exists and is not empty/,
    );
    const [cp] = await store.call('trainCheckpoints', { runId: failed.runId });
    const weights = path.join(cp!.dir, ADAPTER_WEIGHTS);
    const bytes = readFileSync(weights);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
    writeFileSync(weights, flipped);
    try {
      const out = path.join(fx.dir, 'exported', 'damaged');
      await expect(
        exportAdapter(project(), { runId: failed.runId, checkpointStep: cp!.step, out }),
      ).rejects.toMatchObject({
        kind: 'bad-file',
        message: expect.stringMatching(/differs from its checkpoint's manifest/),
      });
      expect(existsSync(out)).toBe(false);
      expect(temps(path.join(fx.dir, 'exported'))).toEqual([]);
    } finally {
      writeFileSync(weights, bytes);
    }
  });
});
