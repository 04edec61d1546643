// `mia-dpo train` end to end with the real DpoTrainer on a tiny random llava-hf
// model and a pairs file: the --json document (steps with their metrics, pairs
// with prompt / chosen / rejected ids), a finite loss, the adapter at --out
// loading with PeftAdapter.load, checkpoints under --out/checkpoints, the job
// state in --out/project; a cancelled run rerun with the same command ends with
// the same adapter bytes as an uninterrupted one; bad inputs exit 1 or 2 with
// the file and line named.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { FINAL_JOB_STATES } from '../../../../shared/api';
import { TrainOptions } from '../../../../shared/pipeline/train';
import { runCli } from '../../../../electron/cli/run';
import { createService } from '../../../../electron/service';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PeftAdapter } from '../../../../electron/engine/models/peft';
import { PAIRS, trainFixture, type TrainFixture } from './fixture';

let fx: TrainFixture;

beforeAll(async () => {
  fx = await trainFixture();
}, 60_000);

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runCli(args, { stdout, stderr, tty: false });
  return { code, out, err };
}

const trainArgs = (out: string, extra: string[] = []) => [
  'train',
  '--model',
  fx.modelDir,
  '--pairs',
  fx.pairsFile,
  '--out',
  path.join(fx.dir, out),
  '--steps',
  '4',
  '--batch',
  '2',
  '--grad-accum',
  '2',
  '--lora-r',
  '4',
  '--lora-alpha',
  '8',
  '--lora-dropout',
  '0.1',
  '--lr',
  '1e-3',
  '--warmup-steps',
  '1',
  '--checkpoint-every',
  '2',
  '--ep',
  'cpu',
  ...extra,
];

interface TrainJson {
  ok: boolean;
  state: string;
  steps: Record<string, number>[];
  pairs: { prompt_ids: number[]; chosen_ids: number[]; rejected_ids: number[]; images: string[] }[];
  error: unknown;
}

describe('mia-dpo train', () => {
  it('trains on a pairs file: --json steps and pairs, finite loss, a PEFT adapter at --out', async () => {
    const r = await cli([...trainArgs('run'), '--json']);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as TrainJson;
    expect(doc).toMatchObject({ ok: true, state: 'done', error: null });
    expect(doc.steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    for (const s of doc.steps) {
      for (const k of ['loss', 'rewards_chosen', 'rewards_rejected', 'margin', 'accuracy', 'lr', 'grad_norm'])
        expect(Number.isFinite(s[k]), `${k} of step ${s.step}`).toBe(true);
      expect(s.tokens).toBeGreaterThan(0);
    }
    expect(doc.steps[0]!.lr).toBe(0);
    expect(doc.steps[1]!.lr).toBeCloseTo(1e-3, 12);
    // Step 1 trains at lr 0 (warm-up): its loss is the untrained policy's, log(2) when LoRA B starts at zero.
    expect(doc.steps[0]!.loss).toBeCloseTo(Math.log(2), 5);
    expect(doc.pairs).toHaveLength(5);
    // 2 images x 16 feature tokens (28 px / 7 px patches), and the very ids generate --json reports.
    expect(doc.pairs[1]!.prompt_ids.filter((t) => t === 32000)).toHaveLength(2 * 16);
    const gen = await cli([
      'generate',
      '--model',
      fx.modelDir,
      ...doc.pairs[1]!.images.flatMap((f) => ['--image', f]),
      '--prompt',
      PAIRS[1]!.prompt,
      '--max-new-tokens',
      '1',
      '--ep',
      'cpu',
      '--json',
    ]);
    expect((JSON.parse(gen.out) as { input_ids: number[] }).input_ids).toEqual(doc.pairs[1]!.prompt_ids);
    expect(doc.pairs[0]!.chosen_ids.at(-1)).toBe(2);
    const out = path.join(fx.dir, 'run');
    const config = JSON.parse(readFileSync(path.join(out, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8 });
    const base = await Checkpoint.open(fx.modelDir);
    try {
      const adapter = await PeftAdapter.load(out, base);
      expect(adapter.modules.size).toBe(2 * 7);
      await adapter.close();
    } finally {
      await base.close();
    }
    expect(existsSync(path.join(out, 'checkpoints', 'step-000004'))).toBe(true);
    expect(existsSync(path.join(out, 'project', 'project.sqlite'))).toBe(true);
  }, 240_000);

  it('cancelled after 3 of 4 steps, the same command again ends with the uninterrupted adapter bytes', async () => {
    const out = path.join(fx.dir, 'cut');
    const service = await createService({ configDir: path.join(fx.dir, 'config') });
    try {
      await service.handlers['project.create']({ dir: path.join(out, 'project'), name: 'training' });
      const request = TrainOptions.parse({
        model: fx.modelDir,
        pairs: fx.pairsFile,
        out,
        steps: 4,
        batch: 2,
        gradAccum: 2,
        loraR: 4,
        loraAlpha: 8,
        loraDropout: 0.1,
        lr: 1e-3,
        warmupSteps: 1,
        checkpointEvery: 2,
        ep: 'cpu',
      });
      const started = await service.handlers['train.start'](request);
      service.onEvent((e) => {
        if (e.type === 'train.step' && e.metrics.step === 3)
          void service.handlers['jobs.cancel']({ id: started.jobId }).catch(() => undefined);
      });
      for (;;) {
        const job = await service.handlers['jobs.get']({ id: started.jobId });
        if (FINAL_JOB_STATES.includes(job.state)) {
          expect(job.state).toBe('cancelled');
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const { checkpoints } = await service.handlers['train.checkpoints']({ runId: started.runId });
      expect(checkpoints.map((c) => c.step)).toEqual([2]);
      expect(existsSync(path.join(out, ADAPTER_WEIGHTS))).toBe(false);
    } finally {
      await service.close();
    }
    const again = await cli(trainArgs('cut'));
    expect(again.err).not.toMatch(/mia-dpo:/);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/trained 4 step\(s\), last loss .*adapter in/);
    const cut = readFileSync(path.join(out, ADAPTER_WEIGHTS));
    expect(cut.equals(readFileSync(path.join(fx.dir, 'run', ADAPTER_WEIGHTS)))).toBe(true);
  }, 240_000);

  it('refuses bad input with the file and line and exits 1; usage errors exit 2', async () => {
    const bad = path.join(fx.dir, 'data', 'bad.jsonl');
    writeFileSync(
      bad,
      `${JSON.stringify({ images: ['gone.png'], prompt: '<image> q', chosen: 'a', rejected: 'b' })}\n`,
    );
    const r = await cli(['train', '--model', fx.modelDir, '--pairs', bad, '--out', path.join(fx.dir, 'bad')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.jsonl:1: image .*gone\.png does not exist/);
    const both = await cli(['train', '--model', fx.modelDir, '--out', path.join(fx.dir, 'x')]);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--project DIR or --pairs FILE/);
    const loss = await cli([...trainArgs('y'), '--loss', 'kto']);
    expect(loss.code).toBe(2);
    expect(loss.err).toMatch(/--loss/);
  }, 60_000);
});
