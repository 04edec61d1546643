// Eval job suite (issue 10): the job's own cost (item query, answer
// extraction, one SQLite commit per item, the runner) over bare
// LlavaSession.answer / score calls on the same items, in the same run,
// rounds interleaved, one warm session; and likelihood mode's batched option
// scoring (all options of an item in one scoreResponses batch) against one
// score call per option. Model: the 47.6M random LLaVA of the respond suite.
// EVAL_BENCH_ROUNDS sets the rounds (default 3).
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { ApiEvent } from '../shared/api';
import { openProject } from '../electron/db';
import { LlavaSession } from '../electron/engine/generate/session';
import { writeRandomLlava } from '../electron/engine/models/random-checkpoint';
import { JobRunner } from '../electron/jobs/runner';
import { importBenchmark } from '../electron/pipeline/eval/bench-import';
import { continuations, createEvalJob, type EvalSession } from '../electron/pipeline/eval/eval-job';
import type { BenchItem } from '../electron/pipeline/eval/queries';
import { createService } from '../electron/service';
import type { BenchTable } from './table';

const MEDIUM = {
  seed: 3,
  textLayers: 4,
  visionLayers: 2,
  size: {
    hidden: 512,
    heads: 8,
    headDim: 64,
    inter: 1376,
    vHidden: 256,
    vHeads: 4,
    vInter: 1024,
    image: 112,
    patch: 14,
  },
};
const ITEMS = 12;
const ROUNDS = Number(process.env.EVAL_BENCH_ROUNDS ?? 3);
const MAX_NEW = 16;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A project holding a benchmark of ITEMS multiple-choice items with 1-3 images and 4 options. */
async function baseProject(dir: string): Promise<string> {
  const data = path.join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < ITEMS; i++) {
    const files = [];
    for (let k = 0; k <= i % 3; k++) {
      const file = `img${i}-${k}.png`;
      await sharp({
        create: { width: 160 + 8 * k, height: 120, channels: 3, background: { r: 20 * i, g: 40 * k, b: 90 } },
      })
        .png()
        .toFile(path.join(data, file));
      files.push(file);
    }
    lines.push(
      JSON.stringify({
        id: `q${i}`,
        question: `Which image shows item ${i}?`,
        options: ['the first', 'the second', 'the third', 'none'],
        answer: 'B',
        images: files,
      }),
    );
  }
  writeFileSync(path.join(data, 'bench.jsonl'), lines.join('\n'));
  const projectDir = path.join(dir, 'base');
  const service = await createService({ configDir: path.join(dir, 'config') });
  await service.handlers['project.create']({ dir: projectDir });
  await service.close();
  const store = await openProject(projectDir);
  try {
    await importBenchmark(store, projectDir, path.join(data, 'bench.jsonl'), 'bench');
  } finally {
    await store.close();
  }
  return projectDir;
}

async function items(projectDir: string): Promise<{ benchmarkId: number; items: BenchItem[] }> {
  const store = await openProject(projectDir);
  try {
    const benchmarkId = (await store.call('benchmarkId', { name: 'bench' }))!;
    return { benchmarkId, items: await store.call('benchItems', { benchmarkId }) };
  } finally {
    await store.close();
  }
}

async function timeJob(projectDir: string, session: EvalSession, params: Record<string, unknown>): Promise<number> {
  const store = await openProject(projectDir);
  let failure: string | null = null;
  const runner = new JobRunner(store, [createEvalJob(async () => session)], (e: ApiEvent) => {
    if (e.type === 'job.state' && e.state === 'failed') failure = e.error?.message ?? 'failed';
  });
  try {
    const t0 = performance.now();
    await runner.submit('eval', params);
    await runner.idle();
    if (failure) throw new Error(`eval job failed: ${failure}`);
    return performance.now() - t0;
  } finally {
    await runner.close();
    await store.close();
  }
}

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eval-bench-'));
  const modelDir = path.join(dir, 'model');
  await writeRandomLlava(MEDIUM, modelDir);
  const base = await baseProject(dir);
  const { benchmarkId, items: list } = await items(base);
  const session = await LlavaSession.open({ modelDir, ep: 'cpu', aspect: 'pad' });
  // The job must not close the shared session: it stays warm across rounds. Its model calls are timed, so the
  // job's own time (wall time minus time in the session) is measured directly, less exposed to machine load.
  let inSession = 0;
  const clocked =
    <A, R>(f: (a: A) => Promise<R>) =>
    async (a: A): Promise<R> => {
      const t0 = performance.now();
      try {
        return await f(a);
      } finally {
        inSession += performance.now() - t0;
      }
    };
  const shared: EvalSession = {
    answer: clocked((r) => session.answer(r)),
    score: clocked((r) => session.score(r)),
    modelId: session.modelId,
    captureLayers: session.captureLayers,
    close: async () => undefined,
  };
  const bareAnswer = async () => {
    for (const it of list) await session.answer({ prompt: it.prompt, images: it.imagePaths, maxNewTokens: MAX_NEW });
  };
  const bareScore = async () => {
    for (const it of list)
      await session.score({ prompt: it.prompt, images: it.imagePaths, responses: continuations(it) });
  };
  const perOption = async () => {
    for (const it of list)
      for (const c of continuations(it))
        await session.score({ prompt: it.prompt, images: it.imagePaths, responses: [c] });
  };
  const timed = async (f: () => Promise<void>) => {
    const t0 = performance.now();
    await f();
    return performance.now() - t0;
  };
  const rows: (string | number)[][] = [];
  try {
    await bareAnswer();
    await bareScore();
    for (const mode of ['generate', 'likelihood'] as const) {
      const bare: number[] = [];
      const job: number[] = [];
      const own: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const copy = path.join(dir, `copy-${mode}-${round}`);
        cpSync(base, copy, { recursive: true });
        bare.push(await timed(mode === 'generate' ? bareAnswer : bareScore));
        inSession = 0;
        const wall = await timeJob(copy, shared, { modelDir, benchmarkId, mode, maxNewTokens: MAX_NEW, ep: 'cpu' });
        job.push(wall);
        own.push(wall - inSession);
      }
      const ratios = job.map((x, i) => x / bare[i]!);
      rows.push([
        `${mode}: ${ITEMS} items (1-3 images, 4 options)${mode === 'generate' ? `, max ${MAX_NEW} new tokens` : ''}`,
        (ITEMS / median(bare)) * 1000,
        (ITEMS / median(job)) * 1000,
        (median(ratios) - 1) * 100,
        median(own) / ITEMS,
        (median(own) / (median(job) - median(own))) * 100,
      ]);
    }
    const batched: number[] = [];
    const single: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      batched.push(await timed(bareScore));
      single.push(await timed(perOption));
    }
    rows.push([
      `likelihood scoring: 4 options in one batch vs one call per option`,
      (ITEMS / median(single)) * 1000,
      (ITEMS / median(batched)) * 1000,
      (median(batched) / median(single) - 1) * 100,
      '-',
      '-',
    ]);
  } finally {
    await session.close();
  }
  return {
    columns: [
      'case',
      'bare items/s (per-option calls in the last row)',
      'eval job items/s (batched in the last row)',
      'time vs bare, %',
      'job own ms/item',
      'job own time / model time in the job, %',
    ],
    rows,
    notes: [
      `model: 47.6M-parameter random LLaVA (text hidden 512, 4 layers; vision 256, 2 layers, 112 px, 64 tokens per image), CPU EP`,
      `bare: LlavaSession.answer / score on the same items and prompts; job: JobRunner + eval job on a fresh copy of the project, one warm session shared`,
      `${ROUNDS} rounds interleaved, medians`,
    ],
  };
}
