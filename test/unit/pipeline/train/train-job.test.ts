// The train and train-reference jobs' mechanics with a fake trainer (real LoRA
// shapes, deterministic arithmetic): reference log-probs stored once and reused,
// one unit per optimizer step with its micro-batches, seeded epoch order,
// checkpoints through the checkpoint store with manifests in SQLite, the final
// PEFT adapter, pause / cancel + rerun ending byte-identical to an uninterrupted
// run, the NaN guard keeping the last good checkpoint, and bad pairs files.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent, JobRecord } from '../../../../shared/api';
import { FINAL_JOB_STATES } from '../../../../shared/api';
import { TrainOptions, type TrainOptionsIn } from '../../../../shared/pipeline/train';
import Database from 'better-sqlite3';
import { createProject, openProject, type ProjectQueries, type ProjectStore } from '../../../../electron/db';
import { TextTokenizer } from '../../../../electron/engine/text/tokenizer';
import { writeSyntheticPairs } from '../../../helpers/synthetic-pairs';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { ADAPTER_WEIGHTS, PeftAdapter } from '../../../../electron/engine/models/peft';
import { JobRunner } from '../../../../electron/jobs/runner';
import { startTraining } from '../../../../electron/pipeline/api/train-handlers';
import {
  createTrainJob,
  createTrainReferenceJob,
  runSchedule,
  stepPositions,
  type OpenTrainer,
  totalSteps,
} from '../../../../electron/pipeline/jobs/train-job';
import { readPairsFile, tokenizePairs } from '../../../../electron/pipeline/train/data';
import { fakeTrainer, trainFixture, type TrainFixture } from './fixture';

let fx: TrainFixture;
let store: ProjectStore;
let runner: JobRunner<ProjectQueries>;
const events: ApiEvent[] = [];
const calls: string[] = [];
let nanAt: number | undefined;
let onReference: (() => Promise<void>) | undefined;
let onStep: ((stepIndex: number, apply: boolean) => Promise<void>) | undefined;
const opened: Parameters<OpenTrainer>[0][] = [];

beforeAll(async () => {
  fx = await trainFixture();
  store = await createProject(path.join(fx.dir, 'project'));
  const open: OpenTrainer = (o, images) => {
    opened.push(o);
    return fakeTrainer({
      nanAt,
      calls,
      onReference: () => onReference?.() ?? Promise.resolve(),
      onStep: (i, apply) => onStep?.(i, apply) ?? Promise.resolve(),
    })(o, images);
  };
  runner = new JobRunner(store, [createTrainReferenceJob(open), createTrainJob(open)], (e) => {
    events.push(e);
  });
  await runner.start();
}, 60_000);

afterAll(async () => {
  await runner?.close();
  await store?.close();
});

const project = () => ({ dir: path.join(fx.dir, 'project'), store, runner });

function request(out: string, extra: Partial<TrainOptionsIn> = {}): TrainOptions {
  return TrainOptions.parse({
    model: fx.modelDir,
    pairs: fx.pairsFile,
    out: path.join(fx.dir, out),
    steps: 6,
    batch: 2,
    gradAccum: 2,
    loraR: 2,
    loraAlpha: 4,
    checkpointEvery: 2,
    warmupSteps: 1,
    ep: 'cpu',
    ...extra,
  });
}

async function waitFinal(id: number): Promise<JobRecord> {
  for (;;) {
    const job = await runner.get(id);
    if (FINAL_JOB_STATES.includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const adapterBytes = (out: string) => readFileSync(path.join(fx.dir, out, ADAPTER_WEIGHTS));

const LONG_LINE = JSON.stringify({ images: [], prompt: 'word '.repeat(3000), chosen: 'a', rejected: 'b' });

describe('training data', () => {
  it('tokenizes with one image token per image and EOS-ended answers; images resolve relative to the file', async () => {
    const pairs = await readPairsFile(fx.pairsFile);
    expect(pairs.map((p) => p.images.length)).toEqual([1, 2, 1, 1, 1]);
    for (const p of pairs) for (const im of p.images) expect(existsSync(im)).toBe(true);
    const ex = await tokenizePairs(fx.modelDir, pairs, { raw: false, aspect: 'pad' });
    expect(ex[1]!.promptIds.filter((t) => t === 32000)).toHaveLength(2);
    for (const e of ex) {
      expect(e.chosenIds.at(-1)).toBe(2);
      expect(e.rejectedIds.at(-1)).toBe(2);
    }
    const raw = await tokenizePairs(fx.modelDir, pairs, { raw: true, aspect: 'pad' });
    expect(raw[0]!.promptIds.length).toBeLessThan(ex[0]!.promptIds.length);
  });

  it.each([
    ['{"images": [], "prompt": "hi", "chosen": "a"', /pairs-bad\.jsonl:2: not valid JSON/],
    ['[1, 2]', /pairs-bad\.jsonl:2: a line must be a JSON object/],
    [
      '{"images": [], "prompt": "hi", "rejected": "b"}',
      /pairs-bad\.jsonl:2: "chosen" must be a string \(it is missing\)/,
    ],
    [
      '{"images": ["nope.png"], "prompt": "<image> hi", "chosen": "a", "rejected": "b"}',
      /pairs-bad\.jsonl:2: image .*nope\.png does not exist/,
    ],
    [
      '{"images": [], "prompt": "hi", "chosen": "  ", "rejected": "b"}',
      /pairs-bad\.jsonl:2: the chosen answer is empty/,
    ],
    [
      '{"images": [], "prompt": "<image> hi", "chosen": "a", "rejected": "b"}',
      /pairs-bad\.jsonl:2: the prompt has 1 <image> placeholder\(s\) for 0 image\(s\)/,
    ],
    [LONG_LINE, /pairs-bad\.jsonl:2: the prompt .* more than the model's context of/],
  ])('a bad line is refused naming the file and line: %#', async (line, message) => {
    const file = path.join(fx.dir, 'data', 'pairs-bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ images: [], prompt: 'ok', chosen: 'a', rejected: 'b' })}\n${line}\n`);
    const before = await store.call('trainRuns');
    await expect(startTraining(project(), request('bad', { pairs: file }))).rejects.toThrow(message);
    expect(await store.call('trainRuns')).toEqual(before);
  });

  it('seeded epoch order: every pair once per epoch, reshuffled per epoch, file order with --no-shuffle', () => {
    const p = { batch: 2, gradAccum: 2, shuffle: true, seed: 7 };
    const seen = [0, 1, 2, 3, 4].flatMap((s) => stepPositions(p, 5, s).micro.flat());
    expect([...seen.slice(0, 5)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect([...seen.slice(5, 10)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(seen.slice(0, 5)).not.toEqual(seen.slice(5, 10));
    expect(stepPositions({ ...p, shuffle: false }, 5, 1).micro).toEqual([
      [4, 0],
      [1, 2],
    ]);
    expect(totalSteps({ epochs: 2, batch: 2, gradAccum: 2 }, 5)).toBe(3);
  });

  it('the run schedule: explicit warm-up steps (0 included) win over the ratio', () => {
    const lrs = (o: Partial<TrainOptions>) =>
      [0, 1, 2, 3, 4].map((s) =>
        runSchedule({ schedule: 'linear', lr: 1, warmupRatio: 0.1, totalSteps: 5, ...o }).at(s),
      );
    expect(lrs({ warmupSteps: 1 })).toEqual([0, 1, 0.75, 0.5, 0.25]);
    expect(lrs({ warmupSteps: 0 })).toEqual([1, 0.8, 0.6, 0.4, 0.2]);
    expect(lrs({})[0]).toBe(0); // ratio 0.1 of 5 steps: ceil = 1 warm-up step
  });
});

describe('train job', () => {
  it('scores the reference once, trains one step per unit, checkpoints with manifests and writes the adapter', async () => {
    const r = request('full');
    const started = await startTraining(project(), r);
    expect(started.referenceJobId).not.toBeNull();
    const job = await waitFinal(started.jobId);
    expect(job.error).toBeNull();
    expect(job.state).toBe('done');
    expect(job.result).toMatchObject({ runId: started.runId, steps: 6, out: r.out });
    const steps = await store.call('trainMetrics', { runId: started.runId });
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(steps[0]!.lr).toBe(0);
    expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true);
    expect(events.filter((e) => e.type === 'train.step' && e.jobId === started.jobId)).toHaveLength(6);
    // gradAccum 2 x batch 2: two micro-batches per unit, the second applies.
    expect(calls.filter((c) => c.startsWith('step 0 '))).toEqual(['step 0 2 false', 'step 0 2 true']);
    const cps = await store.call('trainCheckpoints', { runId: started.runId });
    expect(cps.map((c) => c.step)).toEqual([2, 4, 6]);
    expect(cps[2]!.files.map((f) => f.name)).toContain(ADAPTER_WEIGHTS);
    const base = await Checkpoint.open(fx.modelDir);
    try {
      const adapter = await PeftAdapter.load(r.out, base);
      expect(adapter.modules.size).toBe(2 * 7);
      await adapter.close();
    } finally {
      await base.close();
    }
    // A second run with the same pairs and reference reuses the stored log-probs.
    const again = await startTraining(project(), request('full-2', { steps: 1 }));
    expect(again.referenceJobId).toBeNull();
    expect((await waitFinal(again.jobId)).state).toBe('done');
  });

  it('--init-adapter: the LoRA shape comes from the adapter unless given; a given value that disagrees is refused at start', async () => {
    const source = request('init-source', { steps: 1, loraR: 3, loraAlpha: 5, loraTargets: ['q_proj', 'v_proj'] });
    expect((await waitFinal((await startTraining(project(), source)).jobId)).state).toBe('done');
    const { loraR: _r, loraAlpha: _a, loraTargets: _t, ...rest } = request('from-init', { steps: 1 });
    const fromInit = { ...rest, initAdapter: source.out };
    const started = await startTraining(project(), fromInit);
    const job = await waitFinal(started.jobId);
    expect(job.error).toBeNull();
    expect((await store.call('trainRun', { id: started.runId }))?.options).toMatchObject({
      loraR: 3,
      loraAlpha: 5,
      rslora: false,
      loraTargets: ['q_proj', 'v_proj'],
    });
    await expect(startTraining(project(), { ...fromInit, out: path.join(fx.dir, 'x'), loraR: 8 })).rejects.toThrow(
      /init-source.adapter_config\.json: the adapter has --lora-r 3 but 8 was asked/,
    );
    // Without an init adapter, the reference run's shape.
    const fresh = await startTraining(project(), { ...rest, out: path.join(fx.dir, 'fresh-shape'), steps: 1 });
    expect((await store.call('trainRun', { id: fresh.runId }))?.options).toMatchObject({
      loraR: 128,
      loraAlpha: 256,
      rslora: false,
    });
    await waitFinal(fresh.jobId);
  });

  it('pause, then cancel and rerun: the adapter is byte-identical to the uninterrupted run', async () => {
    const r = request('interrupted');
    const act = async (action: 'pause' | 'cancel') => {
      const running = (await runner.list()).find((job) => job.kind === 'train' && job.state === 'running');
      await runner.act(running!.id, action);
    };
    // Asked while steps 1 and 3 run: the job pauses after step 1 and is cancelled after step 3.
    // A resumed job recomputes the steps after its checkpoint: each action is asked once.
    const pending = new Map([
      [0, 'pause' as const],
      [2, 'cancel' as const],
    ]);
    onStep = async (i, apply) => {
      const action = apply ? pending.get(i) : undefined;
      if (action === undefined) return;
      pending.delete(i);
      await act(action);
    };
    const started = await startTraining(project(), r);
    for (;;) {
      const job = await runner.get(started.jobId);
      if (job.state === 'paused') break;
      await new Promise((res) => setTimeout(res, 5));
    }
    expect((await store.call('trainMetrics', { runId: started.runId })).map((m) => m.step)).toEqual([1]);
    await runner.act(started.jobId, 'resume');
    expect((await waitFinal(started.jobId)).state).toBe('cancelled');
    onStep = undefined;
    const cps = await store.call('trainCheckpoints', { runId: started.runId });
    expect(cps.map((c) => c.step)).toEqual([2]);
    const rerun = await startTraining(project(), r);
    expect(rerun.runId).toBe(started.runId);
    expect(rerun.jobId).not.toBe(started.jobId);
    expect((await waitFinal(rerun.jobId)).state).toBe('done');
    expect(adapterBytes('interrupted').equals(adapterBytes('full'))).toBe(true);
  });

  it('a cancelled reference job keeps its units; the train job behind it says why it cannot start; a rerun scores the rest', async () => {
    const r = request('ref-cancel', { loraR: 3 });
    // Forget the log-probs earlier tests stored, so this run has all five pairs to score.
    calls.length = 0;
    const dbFile = path.join(fx.dir, 'project', 'project.sqlite');
    const db = new Database(dbFile);
    db.prepare('DELETE FROM train_reference').run();
    db.close();
    // The first unit asks for the cancel while it scores: it commits, and the job stops at that boundary.
    onReference = async () => {
      onReference = undefined;
      const running = (await runner.list()).find((j) => j.kind === 'train-reference' && j.state === 'running');
      await runner.act(running!.id, 'cancel');
    };
    const started = await startTraining(project(), r);
    expect(started.referenceJobId).not.toBeNull();
    expect((await waitFinal(started.referenceJobId!)).state).toBe('cancelled');
    const blocked = await waitFinal(started.jobId);
    expect(blocked.state).toBe('failed');
    expect(blocked.error?.message).toMatch(/1 of 5 pair\(s\) have no reference log-probs/);
    const rerun = await startTraining(project(), r);
    expect(rerun.runId).toBe(started.runId);
    expect((await waitFinal(rerun.jobId)).state).toBe('done');
    expect(calls.filter((c) => c.startsWith('reference'))).toEqual(['reference 4', 'reference 1']);
  });

  it('a non-finite loss fails the job with a clear error and keeps the last good checkpoint', async () => {
    nanAt = 3;
    try {
      const started = await startTraining(project(), request('nan'));
      const job = await waitFinal(started.jobId);
      expect(job.state).toBe('failed');
      expect(job.error?.message).toMatch(/step 3: the loss is NaN .* the last good checkpoint is .*step-000002/);
      expect(existsSync(path.join(fx.dir, 'nan', 'checkpoints', 'step-000002'))).toBe(true);
      expect(existsSync(path.join(fx.dir, 'nan', ADAPTER_WEIGHTS))).toBe(false);
    } finally {
      nanAt = undefined;
    }
  });

  it('--project: trains on the kept pairs no person rejected, with their edits', async () => {
    const dir = path.join(fx.dir, 'synthetic');
    await (await createProject(dir)).close();
    const rows = writeSyntheticPairs(path.join(dir, 'project.sqlite'), 30, 5);
    // Real image files, and sequence prompts with one placeholder per image as augmentation writes them.
    const db = new Database(path.join(dir, 'project.sqlite'));
    try {
      for (let i = 1; i <= 20; i++) {
        const file = path.join(dir, `image-${i}.png`);
        copyFileSync(fx.images[i % 3]!, file);
        db.prepare('UPDATE images SET path = ? WHERE id = ?').run(file, i);
      }
      db.prepare('UPDATE augmented_samples SET composite_path = ? WHERE composite_path IS NOT NULL').run(fx.images[0]);
      for (const r of db.prepare("SELECT id, image_count FROM augmented_samples WHERE format = 'sequence'").all() as {
        id: number;
        image_count: number;
      }[])
        db.prepare('UPDATE augmented_samples SET prompt = ? WHERE id = ?').run(
          `${'<image>\n'.repeat(r.image_count)}Which one?`,
          r.id,
        );
    } finally {
      db.close();
    }
    const other = await openProject(dir);
    const open: OpenTrainer = (o, images) => fakeTrainer()(o, images);
    const own = new JobRunner(other, [createTrainReferenceJob(open), createTrainJob(open)], () => undefined);
    try {
      await own.start();
      const started = await startTraining(
        { dir, store: other, runner: own },
        request('from-project', { pairs: undefined, steps: 2 }),
      );
      const kept = rows.filter((r) => r.decision === 'keep' && r.review !== 'rejected');
      const examples = await other.call('trainExamples', {
        datasetId: (await other.call('trainRun', { id: started.runId }))!.datasetId,
      });
      expect(examples.map((e) => e.key)).toEqual(kept.map((r) => `pair-${r.id}`));
      const tokenizer = await TextTokenizer.fromFolder(fx.modelDir);
      kept.forEach((r, i) => {
        expect(examples[i]!.rejectedIds).toEqual([...tokenizer.encode(r.rejected, { addSpecialTokens: false }), 2]);
      });
      for (;;) {
        const job = await own.get(started.jobId);
        if (FINAL_JOB_STATES.includes(job.state)) {
          expect(job.state).toBe('done');
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await own.close();
      await other.close();
    }
  });

  it('--weights int4 --checkpointing reach the trainer, the format keys the reference log-probs, fp16 is refused', async () => {
    const started = await startTraining(project(), request('q4', { steps: 1, weights: 'int4', checkpointing: true }));
    expect(started.referenceJobId).not.toBeNull(); // an int4 base scores the pairs anew
    expect((await waitFinal(started.jobId)).state).toBe('done');
    expect(opened[opened.length - 1]).toMatchObject({ weights: { format: 'int4', block: 32 }, checkpointing: true });
    await expect(startTraining(project(), request('f16', { weights: 'fp16' }))).rejects.toThrow(/--weights fp16/);
  });

  it('a run whose planned memory does not fit is refused before anything is queued, with what would fit', async () => {
    const plan = (budget: number) =>
      startTraining({ ...project(), memoryBudget: () => budget }, request('tight', { weights: 'fp32' }));
    await expect(plan(50 * 2 ** 20)).rejects.toThrow(
      /a DPO step of 2 pair\(s\) at \d+ tokens in fp32 needs about .* GiB \(.*\), but only 0\.05 GiB is available; no format, checkpointing or length tried fits/,
    );
    const tight = path.join(fx.dir, 'tight');
    expect(await runner.unfinished('train', (q) => (q as { out?: string }).out === tight)).toBeNull();
  });

  it('refuses to resume checkpoints of another configuration in the same --out', async () => {
    const started = await startTraining(project(), request('full', { lr: 1e-3 }));
    const job = await waitFinal(started.jobId);
    expect(job.state).toBe('failed');
    expect(job.error?.message).toMatch(/holds checkpoints of another training run/);
  });
});
