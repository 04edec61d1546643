// What a model folder is (family, architecture, sizes, dtype, image tokens per
// image, tokenizer, chat template) and whether this version can run it, with
// the reason when not. Shared by `mia-dpo model inspect` and the API's
// `model.inspect`. One describe path: config.json's family (arch.ts) picks how
// the folder is opened; the result type is the same for every family.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ModelInspection } from '../../../shared/api/model';
import { toAppError } from '../../../shared/errors';
import { TextTokenizer } from '../text/tokenizer';
import { hdTokenCount } from '../vision/hd-layout';
import { familyOf } from './arch';
import { IxcCheckpoint } from './checkpoint-ixc';
import { readConfigJson } from './config';
import { openModel } from './open';

type Tokenizer = 'tokenizer.json' | 'tokenizer.model' | 'none';

/** The tokenizer file a folder ships (tokenizer.json first, as transformers prefers the fast one). */
function tokenizerKind(dir: string): Tokenizer {
  if (existsSync(path.join(dir, 'tokenizer.json'))) return 'tokenizer.json';
  if (existsSync(path.join(dir, 'tokenizer.model'))) return 'tokenizer.model';
  return 'none';
}

const unsupported = (dir: string, e: unknown): ModelInspection => {
  const err = toAppError(e);
  return { dir, supported: false, reason: err.message, kind: err.kind };
};

export async function inspectModel(dir: string): Promise<ModelInspection> {
  let family;
  try {
    family = familyOf((await readConfigJson(dir)).json);
  } catch (e) {
    // No readable config.json: the llava path gives the same error, naming the folder first when it is missing.
    family = 'llava' as const;
    if (existsSync(dir)) return unsupported(dir, e);
  }
  return family === 'ixc' ? inspectIxc(dir) : inspectLlava(dir);
}

async function inspectLlava(dir: string): Promise<ModelInspection> {
  let model;
  try {
    model = await openModel(dir);
  } catch (e) {
    return unsupported(dir, e);
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
      family: 'llava',
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
      tokenizer: tokenizerKind(dir),
    };
  } finally {
    await model.checkpoint.close();
  }
}

/** The most tokens one image can take at `hdNum` crops (a 1 x hdNum strip: the most separator rows). */
function maxImageTokens(hdNum: number, side: number): number {
  let most = 0;
  for (let rows = 1; rows <= hdNum; rows++)
    for (let cols = 1; rows * cols <= hdNum; cols++) most = Math.max(most, hdTokenCount({ rows, cols }, side));
  return most;
}

/** Whether tokenizer_config.json carries a chat_template (IXC2.5 builds its prompt in code; forks may ship one). */
function hasChatTemplate(dir: string): boolean {
  try {
    const c = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    return typeof c.chat_template === 'string' || Array.isArray(c.chat_template);
  } catch {
    return existsSync(path.join(dir, 'chat_template.json'));
  }
}

async function inspectIxc(dir: string): Promise<ModelInspection> {
  let ck;
  try {
    ck = await IxcCheckpoint.open(dir);
  } catch (e) {
    return unsupported(dir, e);
  }
  try {
    const c = ck.config;
    const v = c.vision_config;
    const side = v.merged_side;
    const rope = c.rope_scaling.type === 'none' ? 'none' : `${c.rope_scaling.type} x${c.rope_scaling.factor}`;
    return {
      dir,
      supported: true,
      family: 'ixc',
      architecture: { text: 'internlm2', vision: v.model_type },
      layout: 'ixc',
      dtype: ck.dtype,
      parameters: ck.parameterCount(),
      text: {
        hidden_size: c.hidden_size,
        layers: c.num_hidden_layers,
        heads: c.num_attention_heads,
        kv_heads: c.num_key_value_heads,
        vocab: c.vocab_size,
        context: c.max_position_embeddings,
      },
      vision: {
        hidden_size: v.hidden_size,
        layers: v.num_hidden_layers,
        image_size: v.image_size,
        patch_size: v.patch_size,
        // The last encoder layer's output (hidden_states[-1]), class token dropped.
        feature_layers: [v.num_hidden_layers],
        select_strategy: 'default',
      },
      image_tokens_per_image: hdTokenCount({ rows: 1, cols: 1 }, side),
      default_attention_layer: Math.floor(c.num_hidden_layers / 2),
      chat_template: hasChatTemplate(dir),
      preprocessor_config: existsSync(path.join(dir, 'preprocessor_config.json')),
      tokenizer: tokenizerKind(dir),
      can_generate: true,
      ixc: {
        crop_size: v.image_size,
        merge: c.merge,
        hd_num: c.hd_num,
        hd_num_multi: c.hd_num_multi,
        plora_rank: ck.ploraRank,
        mode_adapters: [...ck.modeAdapters],
        rope_scaling: rope,
        image_tokens: {
          min: hdTokenCount({ rows: 1, cols: 1 }, side),
          max: maxImageTokens(c.hd_num, side),
          max_multi: maxImageTokens(c.hd_num_multi, side),
        },
      },
    };
  } finally {
    await ck.close();
  }
}
