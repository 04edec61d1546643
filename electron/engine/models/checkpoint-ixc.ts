// Opens an InternLM-XComposer-2.5 model folder: config.json (resolved with the
// remote code's defaults, config-ixc.ts) and the safetensors weights (single or
// sharded, fp32 / fp16 / bf16) under their official names, every tensor checked
// against the shape table its config implies (checkpoint-ixc-shapes.ts) before
// anything reads it. Missing, mis-shaped and unexpected tensors are refused
// naming the file; the mode adapters (lora_sft / lora_dpo / lora_web) are
// recognised and left unread. Weights stay in their files (TensorRef: file and
// byte range), as for llava-hf folders.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { INDEX_FILE, openWeights, type TensorRef, type WeightSet } from '../weights/weight-set';
import { dominantDType, FLOAT_DTYPES, type WeightDType } from './checkpoint';
import type { ShapeTable } from './checkpoint-shapes';
import {
  expectedIxcShapes,
  IXC_EMBED,
  IXC_OUTPUT,
  IXC_RANK_PROBE,
  isIxcIgnorable,
  isIxcModeAdapter,
  isIxcOptional,
} from './checkpoint-ixc-shapes';
import { IXC_DEFAULTS } from './arch';
import { loadIxcConfig, type IxcConfig } from './config-ixc';

const shown = (names: string[], n = 8): string =>
  names.slice(0, n).join(', ') + (names.length > n ? `, ... (${names.length} in all)` : '');

export class IxcCheckpoint {
  private constructor(
    readonly dir: string,
    readonly config: IxcConfig,
    readonly weights: WeightSet,
    /** The float type holding most of the weight bytes. */
    readonly dtype: WeightDType,
    /** The Partial LoRA rank in effect (config.json's, else the checkpoint's). */
    readonly ploraRank: number,
    /** The mode adapters present (e.g. ['lora_sft', 'lora_dpo', 'lora_web']), ignored for chat. */
    readonly modeAdapters: readonly string[],
    /** Stored names that are neither read nor a mode adapter but are known to be harmless (position_ids buffers). */
    readonly ignored: readonly string[],
    /** The table every present tensor was checked against. */
    readonly shapes: ShapeTable,
  ) {}

  static async open(dir: string): Promise<IxcCheckpoint> {
    if (!existsSync(dir)) throw new AppError('not-found', `${dir}: model folder does not exist`, { subject: dir });
    const config = await loadIxcConfig(dir);
    const weights = await openWeights(dir);
    try {
      if (!weights.has('plora_glb_GN') && !weights.has('plora_sub_GN') && weights.has(IXC_EMBED)) {
        // IXC2 (VL-7B) shares the architecture name and module tree but has no HD separators.
        throw new AppError(
          'unsupported',
          `${dir}: no plora_glb_GN / plora_sub_GN tensors: this looks like an InternLM-XComposer2 checkpoint (same architecture name, no HD crops); only InternLM-XComposer-2.5 is supported`,
          { subject: 'plora_glb_GN' },
        );
      }
      const probe = weights.has(IXC_RANK_PROBE) ? weights.get(IXC_RANK_PROBE).shape[0] : undefined;
      const rank = config.plora_rank ?? probe ?? IXC_DEFAULTS.plora_rank;
      const shapes = expectedIxcShapes(config, rank);
      const adapters = new Set<string>();
      const ignored: string[] = [];
      const unexpected: string[] = [];
      for (const n of weights.names()) {
        if (shapes.has(n)) continue;
        if (isIxcModeAdapter(n)) adapters.add(/\.(lora_[a-z]+)_[AB]\.weight$/.exec(n)?.[1] as string);
        else if (isIxcIgnorable(n)) ignored.push(n);
        else unexpected.push(n);
      }
      checkTensors(dir, config, weights, shapes);
      if (unexpected.length > 0) {
        const where = unexpected.map((n) => `"${n}" (${weights.get(n).location})`);
        throw new AppError(
          'bad-file',
          `${dir}: tensors that are not InternLM-XComposer-2.5 weights for its config.json: ${shown(where)}`,
          { subject: unexpected[0] },
        );
      }
      const read = [...shapes.keys()].filter((n) => weights.has(n));
      const order = IXC_DEFAULTS.mode_adapters as readonly string[];
      return new IxcCheckpoint(
        dir,
        config,
        weights,
        dominantDType(weights, read),
        rank,
        [...adapters].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
        ignored,
        shapes,
      );
    } catch (e) {
      await weights.close();
      throw e;
    }
  }

  /** The tensor behind an official name; `output.weight` resolves to the embeddings when tied. */
  ref(name: string): TensorRef | undefined {
    const n =
      name === IXC_OUTPUT && this.config.tie_word_embeddings && !this.weights.has(IXC_OUTPUT) ? IXC_EMBED : name;
    return this.shapes.has(n) && this.weights.has(n) ? this.weights.get(n) : undefined;
  }

  has(name: string): boolean {
    return this.ref(name) !== undefined;
  }

  get(name: string): TensorRef {
    const r = this.ref(name);
    if (!r) throw new AppError('bad-file', `${this.dir}: the checkpoint has no tensor ${name}`, { subject: name });
    return r;
  }

  async read(name: string): Promise<Uint8Array> {
    return this.weights.read(this.get(name).name);
  }

  /** Names of every tensor the model reads that is present (mode adapters and ignored buffers excluded). */
  names(): string[] {
    return [...this.shapes.keys()].filter((n) => this.weights.has(n));
  }

  /** Parameters the model reads (each stored tensor counted once). */
  parameterCount(): number {
    return this.names().reduce((n, name) => n + this.weights.get(name).shape.reduce((a, b) => a * b, 1), 0);
  }

  close(): Promise<void> {
    return this.weights.close();
  }
}

/** Where a missing tensor should have been: the shard index, or the single file. */
function weightsFile(weights: WeightSet): string {
  return existsSync(path.join(weights.dir, INDEX_FILE)) ? INDEX_FILE : weights.fileNames().join(', ');
}

function checkTensors(dir: string, config: IxcConfig, weights: WeightSet, shapes: ShapeTable): void {
  const missing: string[] = [];
  for (const [name, shape] of shapes) {
    if (!weights.has(name)) {
      if (!isIxcOptional(name) && !(name === IXC_OUTPUT && config.tie_word_embeddings)) missing.push(name);
      continue;
    }
    const ref = weights.get(name);
    if (ref.shape.length !== shape.length || ref.shape.some((d, i) => d !== shape[i])) {
      throw new AppError(
        'bad-file',
        `${path.join(dir, ref.location)}: tensor "${name}" has shape [${ref.shape.join(', ')}], expected [${shape.join(', ')}] from config.json`,
        { subject: name },
      );
    }
    if (!FLOAT_DTYPES.includes(ref.dtype)) {
      throw new AppError(
        'unsupported',
        `${path.join(dir, ref.location)}: tensor "${name}" has dtype ${ref.dtype}; supported weight dtypes: ${FLOAT_DTYPES.join(', ')}`,
        { subject: name },
      );
    }
  }
  if (missing.length > 0) {
    const hint = missing.includes(IXC_OUTPUT) ? ' (no output.weight and tie_word_embeddings is false)' : '';
    throw new AppError(
      'bad-file',
      `${dir}: the weights (${weightsFile(weights)}) lack tensors its config.json needs${hint}: ${shown(missing)}`,
      { subject: missing[0] },
    );
  }
}
