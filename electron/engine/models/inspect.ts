// What a model folder is (architecture, sizes, dtype, image tokens per image,
// chat template) and whether this version can run it, with the reason when
// not. Shared by `mia-dpo model inspect` and the API's `model.inspect`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ModelInspection } from '../../../shared/api/model';
import { toAppError } from '../../../shared/errors';
import { TextTokenizer } from '../text/tokenizer';
import { openModel } from './open';

export async function inspectModel(dir: string): Promise<ModelInspection> {
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
