// `mia-dpo train --model DIR (--project DIR | --pairs FILE.jsonl) --out DIR ...`:
// LoRA-DPO on a project's kept pairs or a pairs file (decision 0610). Queues the
// reference log-prob job and the train job in the project (with --pairs and no
// project, in `<out>/project`, so a rerun of the same command resumes from the
// newest checkpoint) and waits for them with a progress bar; the final adapter is
// a PEFT folder at `--out`, checkpoints under `--out/checkpoints/`. Ctrl-C
// cancels at the next step; rerunning continues. Option values, bounds and
// defaults are those of the `train.start` request (shared/pipeline/train.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { FAMILY_LORA_TARGETS, LORA_DEFAULTS, TrainOptions } from '../../../shared/pipeline/train';
import { PROJECT_DB } from '../../store/project';
import { createService } from '../../service';
import { EXIT, jsonOutput, UsageError, writeJson, type CliCommand } from '../command';
import { chooseEp } from '../ep-line';
import { parseOptions, valueOption } from '../options';
import { waitForJob } from '../wait-job';

const F = TrainOptions.shape;

/** The `train.start` request the options make (folders absolute, the target list split on commas). */
export function trainRequest(v: Record<string, unknown>): TrainOptions {
  if ((v.project === undefined) === (v.pairs === undefined))
    throw new UsageError('give the pairs to train on: --project DIR or --pairs FILE.jsonl (one of them)');
  if (v.steps !== undefined && v.epochs !== undefined)
    throw new UsageError('--steps and --epochs exclude each other: give one (default: 1 epoch)');
  if (v.warmupSteps !== undefined && v.warmupRatio !== undefined)
    throw new UsageError('--warmup-steps and --warmup-ratio exclude each other: give one');
  const abs = (x: unknown) => (typeof x === 'string' && x !== '' ? path.resolve(x) : x);
  const targets = v.loraTargets;
  return parseOptions(TrainOptions, {
    model: abs(v.model),
    pairs: abs(v.pairs),
    out: abs(v.out),
    initAdapter: abs(v.initAdapter),
    refAdapter: abs(v.refAdapter),
    steps: v.steps,
    epochs: v.epochs,
    lr: v.lr,
    beta: v.beta,
    loss: v.loss,
    sftWeight: v.sftWeight,
    labelSmoothing: v.labelSmoothing,
    batch: v.batch,
    gradAccum: v.gradAccum,
    schedule: v.schedule,
    warmupSteps: v.warmupSteps,
    warmupRatio: v.warmupRatio,
    loraR: v.loraR,
    loraAlpha: v.loraAlpha,
    loraDropout: v.loraDropout,
    loraTargets:
      typeof targets === 'string'
        ? targets
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== '')
        : targets,
    rslora: v.rslora,
    weightDecay: v.weightDecay,
    clipNorm: v.clipNorm,
    checkpointEvery: v.checkpointEvery,
    shuffle: v.shuffle,
    seed: v.seed,
    raw: v.raw,
    ep: v.ep,
    weights: v.weights,
    weightBlock: v.weightBlock,
    checkpointing: v.checkpointing,
    collapseNats: v.collapseNats,
  });
}

export const trainCommand: CliCommand = {
  name: 'train',
  summary: 'LoRA-DPO training on pairs: a PEFT adapter in --out, resumable from its checkpoints',
  define: (cmd) =>
    cmd
      .requiredOption('--model <DIR>', 'base model folder: llava-hf or InternLM-XComposer-2.5')
      .option('--project <DIR>', "train on this project's kept pairs that no person rejected (edits applied)")
      .option('--pairs <FILE>', 'train on a JSONL file of {images, prompt, chosen, rejected}')
      .requiredOption('--out <DIR>', 'folder of the final PEFT adapter; checkpoints go to DIR/checkpoints')
      .option('--init-adapter <DIR>', 'start from this PEFT adapter instead of a fresh LoRA')
      .option('--ref-adapter <DIR>', 'reference policy = base + this adapter (default: the bare base)')
      .addOption(valueOption('--steps <N>', 'optimizer steps (default: 1 epoch)', F.steps))
      .addOption(valueOption('--epochs <E>', 'passes over the pairs', F.epochs))
      .addOption(valueOption('--lr <X>', 'peak learning rate', F.lr))
      .addOption(valueOption('--beta <B>', 'DPO beta', F.beta))
      .addOption(valueOption('--loss <LOSS>', 'DPO loss as TRL defines it', F.loss))
      .addOption(valueOption('--sft-weight <G>', 'weight of the SFT term on the chosen answer', F.sftWeight))
      .addOption(valueOption('--label-smoothing <E>', 'label smoothing (robust / conservative DPO)', F.labelSmoothing))
      .addOption(valueOption('--batch <N>', 'pairs per micro-batch', F.batch))
      .addOption(valueOption('--grad-accum <N>', 'micro-batches per optimizer step', F.gradAccum))
      .addOption(valueOption('--schedule <S>', 'learning-rate schedule after warm-up', F.schedule))
      .addOption(valueOption('--warmup-steps <N>', 'warm-up steps (instead of --warmup-ratio)'))
      .addOption(valueOption('--warmup-ratio <R>', 'warm-up as a share of the steps (default: 0.1)'))
      .addOption(
        valueOption('--lora-r <R>', `LoRA rank (default: ${LORA_DEFAULTS.loraR}, or the --init-adapter's)`, F.loraR),
      )
      .addOption(
        valueOption('--lora-alpha <A>', `LoRA alpha (default: ${LORA_DEFAULTS.loraAlpha}, or the --init-adapter's)`),
      )
      .addOption(valueOption('--lora-dropout <P>', 'LoRA dropout', F.loraDropout))
      .option(
        '--lora-targets <LIST>',
        `comma-separated LM linears, the model's names (default: llava-hf ${LORA_DEFAULTS.loraTargets.join(',')}; IXC2.5 ${FAMILY_LORA_TARGETS.ixc.join(',')}; or the --init-adapter's)`,
      )
      .option('--rslora', 'rsLoRA scaling alpha/sqrt(r)')
      .addOption(valueOption('--weight-decay <W>', 'AdamW weight decay', F.weightDecay))
      .addOption(valueOption('--clip-norm <C>', 'global gradient-norm clip, 0 = off', F.clipNorm))
      .addOption(
        valueOption('--checkpoint-every <N>', 'a checkpoint every N steps (and at the end)', F.checkpointEvery),
      )
      .option('--no-shuffle', 'keep the pairs in file / project order instead of a seeded shuffle per epoch')
      .addOption(valueOption('--seed <S>', 'seed of the shuffle, LoRA init and dropout', F.seed))
      .option('--raw', "use the prompt verbatim instead of the model's chat template")
      .addOption(
        valueOption(
          '--collapse-nats <N>',
          'warn when chosen log-probs fall this far below the reference',
          F.collapseNats,
        ),
      )
      .addOption(valueOption('--ep <EP>', 'execution provider', F.ep))
      .addOption(
        valueOption(
          '--weights <FORMAT>',
          'frozen base format: int8/int4 quantized once and cached (QLoRA); auto by the memory plan (default: fp32)',
          F.weights,
        ),
      )
      .addOption(valueOption('--weight-block <N>', 'weights per int8/int4 scale: 32 or 128', F.weightBlock))
      .option('--checkpointing', 'recompute each decoder layer in the backward: less memory, a longer step')
      .option('--json', 'print the run (steps, pairs) as JSON'),
  async run(args, io) {
    const request = trainRequest(args.values);
    const json = jsonOutput(args);
    const projectDir = path.resolve(
      typeof args.values.project === 'string' ? args.values.project : path.join(request.out, 'project'),
    );
    const ep = json ? null : await chooseEp(request.ep);
    if (ep) io.stderr.write(ep.line);
    const service = await createService();
    try {
      if (typeof args.values.project === 'string' || existsSync(path.join(projectDir, PROJECT_DB)))
        await service.handlers['project.open']({ dir: projectDir });
      else await service.handlers['project.create']({ dir: projectDir, name: 'training' });
      const started = await service.handlers['train.start'](request);
      if (started.referenceJobId !== null) {
        const ref = await waitForJob(service, started.referenceJobId, io, 'reference log-probs');
        if (ref.state !== 'done' && !json)
          io.stderr.write(`mia-dpo: reference log-probs ${ref.state}${ref.error ? `: ${ref.error.message}` : ''}\n`);
      }
      const job = await waitForJob(service, started.jobId, io, 'train');
      const { steps } = await service.handlers['train.metrics']({ runId: started.runId, after: 0 });
      const ok = job.state === 'done';
      if (json) {
        const { items } = await service.handlers['train.pairs']({ runId: started.runId, offset: 0, limit: 100_000 });
        writeJson(io, {
          ok,
          jobId: job.id,
          runId: started.runId,
          state: job.state,
          out: request.out,
          project: projectDir,
          steps,
          pairs: items,
          error: job.error,
        });
      } else if (ok) {
        const last = steps[steps.length - 1];
        io.stdout.write(
          `trained ${steps.length} step(s)${last ? `, last loss ${last.loss.toFixed(4)}, reward margin ${last.margin.toFixed(4)}` : ''}; adapter in ${request.out}\n`,
        );
      } else io.stderr.write(`mia-dpo: train ${job.state}${job.error ? `: ${job.error.message}` : ''}\n`);
      return ok ? EXIT.ok : EXIT.failure;
    } finally {
      await service.close();
      await ep?.release();
    }
  },
};
