// Respond job suite (issue #4): the job's own cost (reading the sample, image
// decoding, attention ratios and metrics, the SQLite commit per sample, the
// job runner) over bare ResponseEngine.generate calls on the same samples with
// images already decoded, in the same run, rounds interleaved, one warm engine.
// Two models: the tiny test model (answers of 5-30 ms, where the job's fixed
// per-sample cost shows most) and a larger random one whose answers cost more.
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
import { openProject } from '../electron/db';
import { writeRandomLlava, type RandomLlavaOptions } from '../electron/engine/models/random-checkpoint';
import { peakRssMiB, type BenchTable } from './table';

interface ModelCase {
  name: string;
  model: RandomLlavaOptions;
  /** Samples per format (sequence, grid, pic-in-pic). */
  perFormat: number;
  rounds: number;
  tokens: number[];
}

const CASES: ModelCase[] = [
  { name: 'tiny', model: { seed: 3, textLayers: 2, visionLayers: 2 }, perFormat: 4, rounds: 5, tokens: [16, 64] },
  {
    name: 'medium',
    model: {
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
    },
    perFormat: 2,
    rounds: 5,
    tokens: [32, 64],
  },
];

async function baseProject(dir: string, perFormat: number): Promise<string> {
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
    await wait(
      (
        await service.handlers['dataset.import']({
          source: { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot },
          abortOnProblem: false,
        })
      ).jobId,
    );
    for (const format of ['sequence', 'grid', 'pip'] as Format[])
      await wait((await service.handlers['pipeline.augment']({ seed: 1, count: perFormat, formats: [format] })).jobId);
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
    for (const id of await store.call('pendingResponses', {
      model: engine.modelId,
      aspect: 'pad',
      template: 'model',
    })) {
      const s = (await store.call('respondSample', { id }))!;
      const seed = hashSeed(`0:${s.planId}`);
      const images = await generationImages(s, DEFAULT_SETTINGS.perturb, { perturb: false, seed });
      out.push({
        prompt: s.prompt,
        images: images.map((im) => ({ ...im, channels: 3 })),
        layer: engine.layer,
        maxNewTokens,
        temperature: 0,
        seed,
      });
    }
    return out;
  } finally {
    await store.close();
  }
}

/** Wall and CPU ms from submitting the job to its end (opening and closing the project excluded). */
async function timeJob(
  projectDir: string,
  engine: JobEngine,
  modelDir: string,
  maxNewTokens: number,
): Promise<{ wall: number; cpu: number }> {
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

/** One model's rows: per max-new-tokens setting, bare and job passes alternating. */
async function runCase(root: string, c: ModelCase): Promise<(string | number)[][]> {
  const dir = path.join(root, c.name);
  const modelDir = path.join(dir, 'model');
  await writeRandomLlava(c.model, modelDir);
  const base = await baseProject(dir, c.perFormat);
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
    for (const maxNewTokens of c.tokens) {
      const reqs = await requests(base, engine, maxNewTokens);
      for (const r of reqs.slice(0, 2)) await engine.generate(r); // sessions built, caches warm
      const bare: number[] = [];
      const job: number[] = [];
      const own: number[] = [];
      const ownMs: number[] = [];
      const cpu: number[] = [];
      let tokens = 0;
      for (let round = 0; round < c.rounds; round++) {
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
      rows.push([
        `${c.name}: ${n} samples, max ${maxNewTokens} new tokens (${(tokens / n).toFixed(1)} on average)`,
        b / n,
        j / n,
        (median(ratios) - 1) * 100,
        (median(cpu) - 1) * 100,
        median(ownMs) / n,
        median(own) * 100,
      ]);
    }
  } finally {
    await engine.close();
  }
  return rows;
}

export async function run(): Promise<BenchTable> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'respond-bench-'));
  const rows: (string | number)[][] = [];
  for (const c of CASES) rows.push(...(await runCase(root, c)));
  return {
    columns: [
      'case',
      'bare generate ms/sample',
      'respond job ms/sample',
      'job vs bare wall, %',
      'job vs bare CPU time, %',
      'job own ms/sample',
      'job own time / engine time inside the job, %',
    ],
    rows,
    notes: [
      'tiny: random llava-hf model, hidden 32, 2 text + 2 vision layers, 28 px, 4x4 patches, 32k vocabulary; 4 samples per format (sequence, grid, pic-in-pic), 5 rounds',
      'medium: random llava-hf model, text hidden 512 (8 heads of 64, MLP 1376, 4 layers), vision hidden 256 (4 heads, MLP 1024, 2 layers) at 112 px with 14 px patches (8x8 = 64 tokens per image), 32k vocabulary; 2 samples per format, 5 rounds',
      'CPU EP, greedy, fp32',
      'bare: ResponseEngine.generate on requests with images already decoded; job: JobRunner + respond job on a fresh copy of the project (sample query, image decoding, ratios, metrics incl. edit distances, one SQLite commit per sample)',
      'bare and job passes alternating, medians; per model the same warm engine serves both',
      'job vs bare compares two passes, so other jobs on the machine show as noise in wall time; CPU time of the process is steadier; own time (job wall time minus the time inside engine.generate, same pass) is the direct measure, with the next sample prefetched during generation',
      `peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    ],
  };
}
