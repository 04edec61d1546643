// `mia-dpo demo --quick --no-serve --json` end to end as a user runs it (the
// real bin in a child process): every stage runs and leaves its results in the
// project the UI serves. On a tiny random llava-hf model through --model (it
// answers wrongly and unsurely, so a quick run keeps pairs); the assertions are
// about structure, not accuracy.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../electron/cli/command';
import { demoModel } from '../../../electron/cli/demo/folders';
import { DEMO_GUARD, DEMO_GUARD_BENCH, DEMO_SIZES } from '../../../electron/cli/demo/defaults';
import { clearRejections, keepRandom } from '../../../electron/cli/demo/ablate';
import {
  DEMO_STAGES,
  guardFails,
  prepareDemo,
  Stages,
  trainAdapter,
  type DemoInput,
  type DemoResult,
  type Prepared,
} from '../../../electron/cli/demo/run';
import { runCli } from '../../../electron/cli/run';
import { createService, type Service } from '../../../electron/service';
import { FORMATS } from '../../../shared/pipeline/formats';
import { writeTinyLlava } from '../../helpers/tiny-llava';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'bin', 'mia-dpo.mjs');
const SHIPPED = path.join(ROOT, 'demo', 'base-model');
const home = mkdtempSync(path.join(os.tmpdir(), 'demo-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');
afterAll(() => rmSync(home, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function memoryIo(): CliIo & { err(): string } {
  let err = '';
  const sink = (write: (s: string) => void) =>
    new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
  return { stdout: sink(() => undefined), stderr: sink((s) => (err += s)), tty: false, err: () => err };
}

/** A tiny random model with a chat template: it answers wrongly and unsurely, so every quick run keeps pairs. */
async function tinyModel(): Promise<string> {
  const dir = path.join(home, 'tiny-llava');
  if (!existsSync(path.join(dir, 'config.json')))
    await writeTinyLlava({ seed: 7, textLayers: 2, visionLayers: 2, chatTemplate: true }, dir);
  return dir;
}

describe('mia-dpo demo', () => {
  it('--quick runs every stage end to end and leaves each stage browsable in the project', async () => {
    // The tiny random model: the shipped one is confident and right on most of a quick run's 24 answers, so the
    // paper's perplexity filter keeps none of them now that the world's multiple-choice answers are in its form.
    const model = await tinyModel();
    const dir = path.join(home, 'demos', 'quick');
    // An earlier demo's folder: the run replaces it rather than adding to it.
    await mkdir(path.join(dir, 'world'), { recursive: true });
    await writeFile(path.join(dir, 'stale.txt'), 'from an earlier run');
    const run = await cli('demo', dir, '--model', model, '--quick', '--no-serve', '--json');
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as DemoResult;
    const q = DEMO_SIZES.quick;
    expect(r).toMatchObject({ ok: true, model, project: dir, dir });
    // One progress line per stage, in order, each with its wall time.
    expect(r.stages.map((s) => s.stage)).toEqual([...DEMO_STAGES]);
    for (const s of r.stages) expect(s.seconds).toBeGreaterThanOrEqual(0);
    const lines = run.stderr.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l));
    expect(lines.map((l) => l.replace(/^\[(\d+)\/(\d+)\] ([a-z ]+):.*\(\d+\.\d s\)$/, '$1/$2 $3'))).toEqual(
      DEMO_STAGES.map((s, i) => `${i + 1}/${DEMO_STAGES.length} ${s}`),
    );
    // The trained adapter is a PEFT folder.
    const config = JSON.parse(await readFile(path.join(r.adapter, 'adapter_config.json'), 'utf8')) as {
      peft_type: string;
      r: number;
    };
    expect(config).toMatchObject({ peft_type: 'LORA', r: 8 });
    expect(existsSync(path.join(r.adapter, 'adapter_model.safetensors'))).toBe(true);
    // Counts: every augmented sample answered, the kept pairs trained on.
    const augmented = FORMATS.reduce((n, f) => n + r.counts.augmented[f], 0);
    expect(augmented).toBe(q.augment);
    expect(r.counts.generations).toBe(augmented);
    expect(r.counts.kept).toBeGreaterThan(0);
    expect(r.training.pairs).toBe(r.counts.kept);
    expect(r.training.steps).toBeGreaterThan(0);
    // Before and after on single, multi and all, with intervals that hold the accuracy; McNemar p in [0, 1].
    for (const side of [r.before, r.after])
      for (const [c, n] of [
        ['single', q.benchItems],
        ['multi', q.benchItems],
        ['all', 2 * q.benchItems],
      ] as const) {
        const a = side[c]!;
        expect([c, a.n]).toEqual([c, n]);
        expect(a.ci95[0]).toBeLessThanOrEqual(a.accuracy);
        expect(a.ci95[1]).toBeGreaterThanOrEqual(a.accuracy);
      }
    for (const p of Object.values(r.mcnemar)) expect(p >= 0 && p <= 1).toBe(true);
    // The paper's Figures 5 and 6, drawn from this project into <project>/figures.
    expect(r.figures.dir).toBe(path.join(dir, 'figures'));
    for (const stem of ['figure5-attention-ratios', 'figure6-attention-before-after']) {
      const png = path.join(r.figures.dir, `${stem}.png`);
      expect(r.figures.files).toContain(png);
      expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
    }

    // What the UI browses: the same service the server runs, on the finished project.
    const service = await createService({ projectDir: dir });
    try {
      const { jobs } = await service.handlers['jobs.list']({});
      const kinds = jobs.map((j) => [j.kind, j.state]);
      for (const k of ['import', 'augment', 'respond', 'select', 'train', 'eval', 'figures'])
        expect(kinds).toContainEqual([k, 'done']);
      expect(
        (
          await service.handlers['pipeline.pairs']({
            offset: 0,
            limit: 1,
            filter: { decision: ['keep'] },
            sort: { by: 'id', dir: 'asc' },
          })
        ).total,
      ).toBe(r.counts.kept);
      expect((await service.handlers['train.runs']({})).runs.map((x) => x.id)).toEqual([r.training.runId]);
      // Base and adapter on the benchmark; the rest are the collapse guard's answers to its slice (base and checkpoints).
      const { runs } = await service.handlers['eval.runs']({});
      expect(
        runs
          .filter((x) => x.benchmark !== DEMO_GUARD_BENCH)
          .map((x) => x.id)
          .sort(),
      ).toEqual([r.runs.base, r.runs.adapter].sort());
      expect(runs.filter((x) => x.benchmark === DEMO_GUARD_BENCH).length).toBe(r.training.guardChecks.length);
    } finally {
      await service.close();
    }

    expect(existsSync(path.join(dir, 'stale.txt'))).toBe(false);
    // A folder that is not a demo's is left alone.
    const other = path.join(home, 'precious');
    await mkdir(other);
    await writeFile(path.join(other, 'thesis.tex'), 'keep me');
    const io = memoryIo();
    expect(await runCli(['demo', other, '--model', model, '--quick', '--no-serve'], io)).toBe(1);
    expect(io.err()).toMatch(/not a demo folder/);
    expect(await readFile(path.join(other, 'thesis.tex'), 'utf8')).toBe('keep me');
  }, 120_000);

  describe("on a demo project prepared up to the base model's evaluation", () => {
    let service: Service;
    let input: DemoInput;
    let kept = 0;
    let prepared: Prepared;
    let steps3: DemoInput;
    beforeAll(async () => {
      const dir = path.join(home, 'demos', 'prepared');
      // The guard and the ablation's subsets are mechanics: the tiny random model keeps pairs in any quick run (the
      // shipped one is confident, and the paper's perplexity filter leaves a quick run few or none).
      input = { dir, model: await tinyModel(), seed: 1, ep: 'cpu', sizes: { ...DEMO_SIZES.quick, steps: 10 } };
      service = await createService();
      prepared = await prepareDemo(service, input, memoryIo(), new Stages(() => undefined));
      kept = prepared.stats.kept;
      steps3 = { ...input, sizes: { ...input.sizes, steps: 3, checkpointEvery: 1 } };
    }, 120_000);
    afterAll(() => service.close());

    it('the collapse guard stops a run whose chosen answers fall and takes the checkpoint before the fall', async () => {
      // Far too hot for DPO alone: both answers' likelihoods fall within a few steps.
      const hot = { lr: 0.05, sftWeight: 0, warmupRatio: 0 };
      const t = await trainAdapter(service, memoryIo(), input, kept, { name: 'hot', train: hot });
      const { steps } = await service.handlers['train.metrics']({ runId: t.runId, after: 0 });
      const first = steps.find((s) => s.logps_chosen - s.ref_logps_chosen < -DEMO_GUARD.chosenDropNats);
      expect(first, 'the run should have collapsed').toBeDefined();
      expect(t.guardStep).toBe(first!.step);
      // Stopped at the next step boundary, not run to the end.
      expect(t.steps).toBeLessThan(t.plannedSteps);
      // The adapter is the newest checkpoint whose weights were measured good (a checkpoint every step here).
      expect(t.adapterStep).toBe(first!.step - 2);
      const step = `step-${String(t.adapterStep).padStart(6, '0')}`;
      expect(t.adapter).toBe(path.join(input.dir, 'runs', 'hot', 'checkpoints', step));
      expect(existsSync(path.join(t.adapter, 'adapter_model.safetensors'))).toBe(true);
    }, 90_000);

    it('the single-image guard pauses at every checkpoint, answers the guard slice, and resumes exactly', async () => {
      const { guard } = prepared;
      expect(guard.bench).toBe(DEMO_GUARD_BENCH);
      const q = DEMO_SIZES.quick;
      const { benchmarks } = await service.handlers['eval.bench.list']({});
      expect(benchmarks.find((b) => b.name === DEMO_GUARD_BENCH)?.items).toBe(q.guardItems);
      const plain = await trainAdapter(service, memoryIo(), steps3, kept, { name: 'plain' });
      // A guard that cannot fail (base 0): every checkpoint is answered and the run goes on to its end.
      const watched = await trainAdapter(service, memoryIo(), steps3, kept, { name: 'watched' }, { ...guard, base: 0 });
      expect(watched.guardStep).toBeNull();
      expect(watched.steps).toBe(plain.steps);
      expect(watched.guardChecks.map((c) => c.step)).toEqual([0, 1, 2, 3].slice(0, plain.steps + 1));
      expect(watched.adapter).toBe(path.join(input.dir, 'runs', 'watched'));
      // Paused and resumed from each checkpoint (optimizer state included): the same weights as the unpaused run.
      const weights = (dir: string) => readFile(path.join(dir, 'adapter_model.safetensors'));
      expect((await weights(watched.adapter)).equals(await weights(plain.adapter))).toBe(true);
      const { runs } = await service.handlers['eval.runs']({});
      expect(runs.filter((r) => r.benchmark === DEMO_GUARD_BENCH).length).toBeGreaterThanOrEqual(plain.steps);
    }, 90_000);

    it('the single-image guard stops at the first checkpoint below the base and names it when none passed', async () => {
      // A base above any accuracy: the first checkpoint fails, and no earlier one passed.
      const impossible = { ...prepared.guard, base: 2 };
      await expect(trainAdapter(service, memoryIo(), steps3, kept, { name: 'strict' }, impossible)).rejects.toThrow(
        /stopped training at step 1: single-image accuracy on the guard slice fell more than 5 points/,
      );
      const { runs } = await service.handlers['train.runs']({});
      const strict = runs.reduce((a, b) => (b.id > a.id ? b : a));
      const { steps } = await service.handlers['train.metrics']({ runId: strict.id, after: 0 });
      // Stopped at the checkpoint that failed: the run did not go on to its planned steps.
      expect(steps.length).toBeLessThan(3);
      expect(guardFails(impossible, 1)).toBe(true);
      expect(guardFails({ ...impossible, base: 0.9 }, 0.86)).toBe(false);
      expect(guardFails({ ...impossible, base: 0.9 }, 0.84)).toBe(true);
    }, 90_000);

    it("the ablation's random subset leaves exactly as many pairs to train on, drawn by the seed, and is undone", async () => {
      const exportable = async () => (await service.handlers['pipeline.overview']({})).exportable;
      expect(await exportable()).toBe(kept);
      const keep = Math.floor(kept / 2);
      expect(await keepRandom(service, keep, 1)).toBe(kept - keep);
      expect(await exportable()).toBe(keep);
      const rejected = await service.handlers['pipeline.pairs']({
        offset: 0,
        limit: 500,
        filter: { review: ['rejected'] },
        sort: { by: 'id', dir: 'asc' },
      });
      await clearRejections(service);
      expect(await exportable()).toBe(kept);
      // The same seed draws the same subset.
      await keepRandom(service, keep, 1);
      const again = await service.handlers['pipeline.pairs']({
        offset: 0,
        limit: 500,
        filter: { review: ['rejected'] },
        sort: { by: 'id', dir: 'asc' },
      });
      expect(again.items.map((p) => p.id)).toEqual(rejected.items.map((p) => p.id));
      await clearRejections(service);
    });
  });

  it('names the missing model folder and how to build the shipped one', async () => {
    const io = memoryIo();
    const missing = path.join(home, 'no-model');
    expect(await runCli(['demo', path.join(home, 'demos', 'none'), '--model', missing, '--no-serve'], io)).toBe(1);
    expect(io.err()).toContain(`--model ${missing} is not a model folder`);
    if (!existsSync(path.join(SHIPPED, 'config.json')))
      expect(() => demoModel(undefined)).toThrow(
        `the demo's base model is missing: ${SHIPPED} holds no config.json; build it with \`npm run demo:base\``,
      );
  });
});
