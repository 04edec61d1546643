// Options shared by `mia-dpo generate` and `mia-dpo score`: the model folder,
// images, prompt, adapter and execution provider, parsed into session options
// (engine/generate/model-session.ts picks the family) and a prompt. The model, adapter and EP fields are the respond
// request's (shared/pipeline/respond.ts), so both paths accept the same values.
import type { Command } from 'commander';
import { z } from 'zod';
import { RespondOptions } from '../../../shared/pipeline/respond';
import type { LlavaSessionOptions, PromptInput } from '../../engine/generate/session';
import type { ParsedArgs } from '../command';
import { parseOptions, repeatableOption, valueOption } from '../options';

const R = RespondOptions.shape;

export const ModelArgs = z.strictObject({
  model: R.model,
  image: z.array(z.string().min(1)).default([]),
  prompt: z.string().min(1),
  raw: z.boolean().default(false),
  adapter: R.adapter,
  mergeAdapter: z.boolean().default(false),
  ep: R.ep,
  weights: R.weights,
  weightBlock: R.weightBlock,
  featureCache: z.string().min(1).optional(),
  pad: z.boolean().default(false),
});
export type ModelArgs = z.output<typeof ModelArgs>;

/** Declares the model options on `cmd` (after the command's own). */
export function defineModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <DIR>', 'model folder: llava-hf or InternLM-XComposer-2.5')
    .addOption(repeatableOption('--image <FILE>', 'an image shown with the prompt, in order'))
    .requiredOption('--prompt <TEXT>', 'the question (chat template applied), or the whole text with --raw')
    .option('--raw', 'give the prompt to the tokenizer as it is, with <image> (or <ImageHere>) placeholders')
    .option('--adapter <DIR>', 'PEFT LoRA adapter folder')
    .option('--merge-adapter', 'merge the adapter into the weights instead of running it beside them')
    .option('--pad', 'pad images to square instead of centre-cropping')
    .option('--feature-cache <DIR>', 'folder of the on-disk image-feature cache')
    .addOption(valueOption('--ep <EP>', 'execution provider', R.ep))
    .addOption(valueOption('--weights <FORMAT>', 'weight format (int8/int4 are quantized once and cached)', R.weights))
    .addOption(valueOption('--weight-block <N>', 'weights per int8/int4 scale: 32 or 128', R.weightBlock))
    .option('--json', 'print the result as JSON');
}

export function modelArgs(args: ParsedArgs): ModelArgs {
  const { model, image, prompt, raw, adapter, mergeAdapter, ep, weights, weightBlock, featureCache, pad } = args.values;
  const input = { model, image, prompt, raw, adapter, mergeAdapter, ep, weights, weightBlock, featureCache, pad };
  return parseOptions(ModelArgs, input);
}

export function sessionOptions(m: ModelArgs, extra: Partial<LlavaSessionOptions> = {}): LlavaSessionOptions {
  const o: LlavaSessionOptions = {
    modelDir: m.model,
    ep: m.ep,
    weights: m.weights,
    weightBlock: m.weightBlock,
    aspect: m.pad ? 'pad' : 'crop',
    ...extra,
  };
  if (m.adapter !== undefined) o.adapter = { dir: m.adapter, merge: m.mergeAdapter };
  if (m.featureCache !== undefined) o.featureCacheDir = m.featureCache;
  return o;
}

export function promptInput(m: ModelArgs): PromptInput {
  return { images: m.image, prompt: m.prompt, raw: m.raw };
}
