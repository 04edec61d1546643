// `mia-dpo generate`: answers a prompt with images and reports what MIA-DPO
// selects on: each image's token span, attention mean and map at the chosen
// layer, and both perplexities. Sampling bounds are checked by the engine
// (engine/generate/sampling.ts); here only that the values are numbers.
import { z } from 'zod';
import { RespondOptions } from '../../../shared/pipeline/respond';
import { EXIT, jsonOutput, writeJson, type CliCommand } from '../command';
import { openModelSession } from '../../engine/generate/model-session';
import { epLine } from '../ep-line';
import { parseOptions, repeatableOption, valueOption } from '../options';
import { defineModelOptions, modelArgs, promptInput, sessionOptions } from './model-args';

const R = RespondOptions.shape;
const Options = z.strictObject({
  maxNewTokens: R.maxNewTokens,
  temperature: R.temperature,
  topK: z.number().default(0),
  topP: z.number().default(1),
  repetitionPenalty: z.number().default(1),
  seed: R.seed,
  stop: z.array(z.string()).default([]),
  attentionLayer: z.array(z.int().nonnegative()).default([]),
  includePrefillRow: z.boolean().default(false),
});

export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'answer a prompt with images, recording attention',
  define: (cmd) =>
    defineModelOptions(cmd)
      .addOption(valueOption('--max-new-tokens <N>', 'tokens generated at most', R.maxNewTokens))
      .addOption(valueOption('--temperature <T>', 'sampling temperature, 0 = greedy', R.temperature))
      .addOption(valueOption('--top-k <K>', 'keep the K likeliest tokens, 0 = all', Options.shape.topK))
      .addOption(valueOption('--top-p <P>', 'nucleus sampling mass', Options.shape.topP))
      .addOption(
        valueOption('--repetition-penalty <R>', 'penalty on tokens already generated', Options.shape.repetitionPenalty),
      )
      .addOption(valueOption('--seed <S>', 'sampling seed', R.seed))
      .addOption(repeatableOption('--stop <TEXT>', 'stop when the answer contains TEXT'))
      .addOption(
        repeatableOption('--attention-layer <L>', 'decoder layer to record attention at (default: the middle layer)'),
      )
      .option('--include-prefill-row', "also record the prompt's last row of attention"),
  async run(args, io) {
    const m = modelArgs(args);
    const v = args.values;
    const o = parseOptions(Options, {
      maxNewTokens: v['maxNewTokens'],
      temperature: v['temperature'],
      topK: v['topK'],
      topP: v['topP'],
      repetitionPenalty: v['repetitionPenalty'],
      seed: v['seed'],
      stop: v['stop'],
      attentionLayer: v['attentionLayer'],
      includePrefillRow: v['includePrefillRow'],
    });
    const opened = performance.now();
    const session = await openModelSession(
      sessionOptions(m, o.attentionLayer.length ? { attentionLayers: o.attentionLayer } : {}),
    );
    const loadMs = performance.now() - opened;
    try {
      if (!jsonOutput(args)) {
        io.stderr.write(epLine(m.ep, { ep: session.ep, fallbackReason: session.epFallback }));
        io.stderr.write(`weights: ${session.weights}\n`);
      }
      const res = await session.respond({
        ...promptInput(m),
        maxNewTokens: o.maxNewTokens,
        sampling: {
          temperature: o.temperature,
          topK: o.topK,
          topP: o.topP,
          repetitionPenalty: o.repetitionPenalty,
          seed: o.seed,
        },
        stopStrings: o.stop,
        includePrefillRow: o.includePrefillRow,
      });
      // load_ms: opening the model (config, tokenizer, checkpoint index; building the int8/int4 cache the first time).
      if (jsonOutput(args)) writeJson(io, { ep: session.ep, load_ms: loadMs, ...res });
      else {
        io.stdout.write(`${res.text}\n`);
        io.stderr.write(
          `attention (layer ${res.attention.layer}) per image: ${res.attention.per_image_mean.map((x) => x.toExponential(3)).join(', ')}; ppl ${res.ppl.toFixed(3)}, max-prob ppl ${res.ppl_maxprob.toFixed(3)}\n`,
        );
      }
      return EXIT.ok;
    } finally {
      await session.close();
    }
  },
};
