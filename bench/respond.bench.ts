// Respond job suite (issue #4): the job's own cost (reading the sample, image
// decoding, attention ratios and metrics, the SQLite commit per sample, the
// job runner) over bare ResponseEngine.generate calls on the same samples with
// images already decoded, in the same run, rounds interleaved, one warm engine.
import { cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FINAL_JOB_STATES, type ApiEvent } from '../shared/api';
import { DEFAULT_SETTINGS } from '../shared/pipeline/defaults';
import type { Format } from '../shared/pipeline/formats';
import { makeDemoDataset } from '../electron/io/demo-dataset';
import { JobRunner } from '../electron/jobs/runner';
import { createRespondJob, type JobEngine } from '../electron/pipeline/jobs/respond-job';
import { generationImages } from '../electron/pipeline/perturb/generation-images';
import { hashSeed } from '../electron/pipeline/random';
import type { ResponseRequest } from '../electron/pipeline/respond/engine-interface';
import { ModelEngine } from '../electron/pipeline/respond/model-engine';
import { createService } from '../electron/service';
import { openProject } from '../electron/store/project';
import { writeTinyLlava } from '../test/helpers/tiny-llava';
import { peakRssMiB, type BenchTable } from './table';

const PER_FORMAT = 4;
const ROUNDS = 5;
const TOKENS = [16, 64];

async function baseProject(dir: string): Promise<string> {
  const projectDir = path.join(dir, 'base');
  const service = await createService({ configDir: path.join(dir, 'config') });
  const wait = async (id: number) => {
    for (;;) {
      const job = await service.handlers['jobs.get']({ id });
      if (FINAL_JOB_STATES.includes(job.state)) return job;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await service.handlers['project.create']({ dir: projectDir });
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 16, images: 12, bad: false });
    await wait((await service.handlers['dataset.import']({ source: { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot }, abortOnProblem: false })).jobId);
    for (const format of ['sequence', 'grid', 'pip'] as Format[]) await wait((await service.handlers['pipeline.augment']({ seed: 1, count: PER_FORMAT, formats: [format] })).jobId);
  } finally {
    await service.close();
  }
  return projectDir;
}

/** The requests the job will make, images decoded up front (the bare side pays no decoding). */
async function requests(projectDir: string, engine: ModelEngine, maxNewTokens: number): Promise<ResponseRequest[]> {
  const store = await openProject(projectDir);
  try {
    const out: ResponseRequest[] = [];
    for (const id of await store.call('pendingResponses', { model: engine.modelId })) {
      const s = (await store.call('respondSample', { id }))!;
      const seed = hashSeed(`0:${s.planId}`);
      const images = await generationImages(s, DEFAULT_SETTINGS.perturb, { perturb: false, seed });
      out.push({ prompt: s.prompt, images: images.map((im) => ({ ...im, channels: 3 })), layer: engine.layer, maxNewTokens, temperature: 0, seed });
    }
    return out;
  } finally {
    await store.close();
  }
}

/** Wall and CPU ms from submitting the job to its end (opening and closing the project excluded). */
async function timeJob(projectDir: string, engine: JobEngine, modelDir: string, maxNewTokens: number): Promise<{ wall: number; cpu: number }> {
  const store = await openProject(projectDir);
  let failure: string | null = null;
  const runner = new JobRunner(store, [createRespondJob(async () => engine)], (e: ApiEvent) => {
    if (e.type === 'job.state' && e.state === 'failed') failure = e.error?.message ?? 'failed';
  });
  try {
    const t0 = performance.now();
    const c0 = cpuMs();
    await runner.submit('respond', { modelDir, ep: 'cpu', maxNewTokens });
    await runner.idle();
    const times = { wall: performance.now() - t0, cpu: cpuMs() - c0 };
    if (failure) throw new Error(`respond job failed: ${failure}`);
    return times;
  } finally {
    await runner.close();
    await store.close();
  }
}

/** CPU time of the whole process (all threads: ORT, sharp, the store worker), less sensitive to other jobs on the machine than wall time. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'respond-bench-'));
  const modelDir = path.join(dir, 'tiny-llava');
  await writeTinyLlava({ seed: 3, textLayers: 2, visionLayers: 2 }, modelDir);
  const base = await baseProject(dir);
  const engine = await ModelEngine.open({ modelDir, ep: 'cpu' });
  // The job must not close the shared engine: it stays warm across rounds.
  // Its generate calls are timed, so the job's own time is measured directly too (job wall time minus engine time).
  let inEngine = 0;
  const shared: JobEngine = {
    modelId: engine.modelId,
    layer: engine.layer,
    ep: engine.ep,
    tokenize: (t) => engine.tokenize(t),
    generate: async (r) => {
      const t0 = performance.now();
      try {
        return await engine.generate(r);
      } finally {
        inEngine += performance.now() - t0;
      }
    },
    close: async () => undefined,
  };
  const rows: (string | number)[][] = [];
  try {
    for (const maxNewTokens of TOKENS) {
      const reqs = await requests(base, engine, maxNewTokens);
      for (const r of reqs.slice(0, 2)) await engine.generate(r); // sessions built, caches warm
      const bare: number[] = [];
      const job: number[] = [];
      const own: number[] = [];
      const ownMs: number[] = [];
      const cpu: number[] = [];
      let tokens = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const copy = path.join(dir, `copy-${maxNewTokens}-${round}`);
        cpSync(base, copy, { recursive: true });
        const t0 = performance.now();
        const c0 = cpuMs();
        tokens = 0;
        for (const r of reqs) tokens += (await engine.generate(r)).tokens.length;
        bare.push(performance.now() - t0);
        const bareCpu = cpuMs() - c0;
        inEngine = 0;
        const { wall, cpu: jobCpu } = await timeJob(copy, shared, modelDir, maxNewTokens);
        cpu.push(jobCpu / bareCpu);
        job.push(wall);
        own.push((wall - inEngine) / inEngine);
        ownMs.push(wall - inEngine);
      }
      const n = reqs.length;
      const b = median(bare);
      const j = median(job);
      const ratios = job.map((x, i) => x / bare[i]!);
      rows.push([`${n} samples, max ${maxNewTokens} new tokens (${(tokens / n).toFixed(1)} on average)`, b / n, j / n, (median(ratios) - 1) * 100, (median(cpu) - 1) * 100, median(ownMs) / n, median(own) * 100]);
    }
  } finally {
    await engine.close();
  }
  return {
    columns: ['case', 'bare generate ms/sample', 'respond job ms/sample', 'job vs bare wall, %', 'job vs bare CPU time, %', 'job own ms/sample', 'job own time / engine time inside the job, %'],
    rows,
    notes: [
      `tiny random llava-hf model (hidden 32, 2 text + 2 vision layers, 28 px, 4x4 patches, 32k vocabulary), CPU EP, greedy; ${PER_FORMAT} samples per format (sequence, grid, pic-in-pic)`,
      'bare: ResponseEngine.generate on requests with images already decoded; job: JobRunner + respond job on a fresh copy of the project (sample query, image decoding, ratios, metrics incl. edit distances, one SQLite commit per sample)',
      `${ROUNDS} rounds, bare and job alternating, medians; the same warm engine serves both`,
      'job vs bare compares two passes, so other jobs on the machine show as noise in wall time; CPU time of the process is steadier; own time (job wall time minus the time inside engine.generate, same pass) is the direct measure, with the next sample prefetched during generation',
      `peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    ],
  };
}
