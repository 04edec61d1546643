// `mia-dpo generate`: answers a prompt with images and reports what MIA-DPO
// selects on: each image's token span, attention mean and map at the chosen
// layer, and both perplexities.
import { EXIT, writeJson, type CliCommand } from '../command';
import { LlavaSession } from '../../engine/generate/session';
import { MODEL_OPTIONS, numberArg, promptInput, sessionOptions } from './model-args';

export const generateCommand: CliCommand = {
  name: 'generate',
  usage: 'generate --model DIR [--image FILE]... --prompt TEXT [--raw] [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--stop TEXT]... [--attention-layer L]... [--include-prefill-row] [--adapter DIR [--merge-adapter]] [--pad] [--feature-cache DIR] [--ep auto|cpu|webgpu|cuda] [--json]',
  summary: 'answer a prompt with images, recording attention',
  options: {
    ...MODEL_OPTIONS,
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    seed: { type: 'string' },
    stop: { type: 'string', multiple: true },
    'attention-layer': { type: 'string', multiple: true },
    'include-prefill-row': { type: 'boolean' },
  },
  async run(args, io) {
    const layers = ((args.values['attention-layer'] as unknown as string[] | undefined) ?? []).map((l) => numberArg({ values: { l }, positionals: [] }, 'l')!);
    const session = await LlavaSession.open(sessionOptions(args, layers.length ? { attentionLayers: layers } : {}));
    try {
      if (session.epFallback && !args.values.json) io.stderr.write(`mia-dpo: running on ${session.ep}: ${session.epFallback}\n`);
      const sampling = {
        temperature: numberArg(args, 'temperature') ?? 0,
        topK: numberArg(args, 'top-k') ?? 0,
        topP: numberArg(args, 'top-p') ?? 1,
        repetitionPenalty: numberArg(args, 'repetition-penalty') ?? 1,
        seed: numberArg(args, 'seed') ?? 0,
      };
      const res = await session.respond({
        ...promptInput(args),
        maxNewTokens: numberArg(args, 'max-new-tokens') ?? 512,
        sampling,
        stopStrings: (args.values['stop'] as unknown as string[] | undefined) ?? [],
        includePrefillRow: args.values['include-prefill-row'] === true,
      });
      if (args.values.json) writeJson(io, { ep: session.ep, ...res });
      else {
        io.stdout.write(`${res.text}\n`);
        io.stderr.write(`attention (layer ${res.attention.layer}) per image: ${res.attention.per_image_mean.map((m) => m.toExponential(3)).join(', ')}; ppl ${res.ppl.toFixed(3)}, max-prob ppl ${res.ppl_maxprob.toFixed(3)}\n`);
      }
      return EXIT.ok;
    } finally {
      await session.close();
    }
  },
};
