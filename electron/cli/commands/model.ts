// `mia-dpo model inspect DIR [--json]`: what a model folder is (architecture,
// sizes, dtype, image tokens per image, chat template) and whether this
// version can run it, with the reason when not.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Argument } from 'commander';
import { toAppError } from '../../../shared/errors';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';
import { openModel } from '../../engine/models/open';
import { TextTokenizer } from '../../engine/text/tokenizer';

async function inspect(dir: string): Promise<Record<string, unknown>> {
  let model;
  try {
    model = await openModel(dir);
  } catch (e) {
    const err = toAppError(e);
    return { dir, supported: false, reason: err.message, kind: err.kind };
  }
  try {
    const { spec, checkpoint } = model;
    const params = checkpoint.names().reduce((n, name) => n + checkpoint.get(name).shape.reduce((a, b) => a * b, 1), 0);
    // generate cannot run without the tokenizer, so a missing or unreadable one makes the folder unsupported.
    let tokenizer;
    try {
      tokenizer = await TextTokenizer.fromFolder(dir);
    } catch (e) {
      const err = toAppError(e);
      return { dir, supported: false, reason: `tokenizer unreadable: ${err.message}`, kind: err.kind };
    }
    return {
      dir,
      supported: true,
      architecture: { text: spec.text.modelType, vision: spec.vision.modelType },
      layout: checkpoint.layout,
      dtype: checkpoint.dtype,
      parameters: params,
      text: {
        hidden_size: spec.text.hiddenSize,
        layers: spec.text.numLayers,
        heads: spec.text.numHeads,
        kv_heads: spec.text.numKvHeads,
        vocab: spec.text.vocabSize,
        context: spec.text.maxPositions,
      },
      vision: {
        hidden_size: spec.vision.hiddenSize,
        layers: spec.vision.numLayers,
        image_size: spec.vision.imageSize,
        patch_size: spec.vision.patchSize,
        feature_layers: spec.featureLayers,
        select_strategy: spec.selectStrategy,
      },
      image_tokens_per_image: spec.tokensPerImage,
      default_attention_layer: Math.floor(spec.text.numLayers / 2),
      chat_template: tokenizer.chatTemplate !== undefined,
      preprocessor_config: existsSync(path.join(dir, 'preprocessor_config.json')),
    };
  } finally {
    await model.checkpoint.close();
  }
}

export const modelCommand: CliCommand = {
  name: 'model',
  summary: 'describe a llava-hf model folder and whether it is supported',
  define: (cmd) =>
    cmd
      .addArgument(new Argument('<ACTION>', 'what to do').choices(['inspect']))
      .argument('<DIR>', 'model folder')
      .option('--json', 'print the description as JSON'),
  async run(args, io) {
    const info = await inspect(positional(args, 1));
    if (jsonOutput(args)) writeJson(io, info);
    else
      for (const [k, v] of Object.entries(info))
        io.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
    return info['supported'] ? EXIT.ok : EXIT.failure;
  },
};
