// Opens a llava-hf model folder: config.json (resolved with HF defaults),
// optional generation_config.json, and the safetensors weights (single or
// sharded, either layout) behind canonical names, checked against the shapes
// the config implies before any graph is built.
import { existsSync } from 'node:fs';
import { AppError } from '../../../shared/errors';
import type { SafetensorsDType } from '../weights/dtypes';
import { openWeights, type TensorRef, type WeightSet } from '../weights/weight-set';
import { expectedShapes, isOptionalTensor } from './checkpoint-shapes';
import { loadLlavaConfig, type LlavaConfig } from './config';
import { loadGenerationConfig, type GenerationConfig } from './config-generation';
import { canonicalName, detectLayout, type WeightLayout } from './names';

export type WeightDType = 'F32' | 'F16' | 'BF16';
export const FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'F16', 'BF16'];
const EMBED = 'language_model.model.embed_tokens.weight';
const LM_HEAD = 'language_model.lm_head.weight';

export class Checkpoint {
  /** Stored names the model does not read (optimizer leftovers, rotary buffers, unused heads). */
  readonly unused: readonly string[];

  private constructor(
    readonly dir: string,
    readonly config: LlavaConfig,
    readonly generation: GenerationConfig | undefined,
    readonly weights: WeightSet,
    readonly layout: WeightLayout,
    /** The float type holding most of the weight bytes. */
    readonly dtype: WeightDType,
    /** lm_head is embed_tokens (tie_word_embeddings): no lm_head tensor is needed. */
    readonly tiedEmbeddings: boolean,
    private readonly stored: Map<string, string>,
    unused: string[],
  ) {
    this.unused = unused;
  }

  static async open(dir: string): Promise<Checkpoint> {
    if (!existsSync(dir)) throw new AppError('not-found', `${dir}: model folder does not exist`, { subject: dir });
    const config = await loadLlavaConfig(dir);
    const generation = await loadGenerationConfig(dir);
    const weights = await openWeights(dir);
    try {
      const names = weights.names();
      const layout = detectLayout(names, dir);
      const stored = new Map<string, string>();
      const unused: string[] = [];
      const expected = expectedShapes(config);
      for (const n of names) {
        const c = canonicalName(n);
        if (c !== null && expected.has(c)) stored.set(c, n);
        else unused.push(n);
      }
      const tied = config.text_config.tie_word_embeddings;
      checkTensors(dir, config, weights, expected, stored, tied);
      return new Checkpoint(
        dir,
        config,
        generation,
        weights,
        layout,
        dominantDType(weights, [...stored.values()]),
        tied,
        stored,
        unused,
      );
    } catch (e) {
      await weights.close();
      throw e;
    }
  }

  /** Whether the checkpoint provides `canonical` (lm_head counts when tied). */
  has(canonical: string): boolean {
    return this.ref(canonical) !== undefined;
  }

  /** The tensor behind a canonical name; lm_head resolves to embed_tokens when tied. */
  ref(canonical: string): TensorRef | undefined {
    const name = canonical === LM_HEAD && this.tiedEmbeddings ? EMBED : canonical;
    const s = this.stored.get(name);
    return s === undefined ? undefined : this.weights.get(s);
  }

  get(canonical: string): TensorRef {
    const r = this.ref(canonical);
    if (!r)
      throw new AppError('bad-file', `${this.dir}: the checkpoint has no tensor ${canonical}`, { subject: canonical });
    return r;
  }

  async read(canonical: string): Promise<Uint8Array> {
    return this.weights.read(this.get(canonical).name);
  }

  /** Canonical names of every tensor present. */
  names(): string[] {
    return [...this.stored.keys()];
  }

  close(): Promise<void> {
    return this.weights.close();
  }
}

function checkTensors(
  dir: string,
  config: LlavaConfig,
  weights: WeightSet,
  expected: Map<string, number[]>,
  stored: Map<string, string>,
  tied: boolean,
): void {
  const missing: string[] = [];
  for (const [name, shape] of expected) {
    const s = stored.get(name);
    if (s === undefined) {
      if (!isOptionalTensor(name, config) && !(name === LM_HEAD && tied)) missing.push(name);
      continue;
    }
    const ref = weights.get(s);
    if (ref.shape.length !== shape.length || ref.shape.some((d, i) => d !== shape[i])) {
      throw new AppError(
        'bad-file',
        `${ref.location}: tensor "${s}" has shape [${ref.shape.join(', ')}], expected [${shape.join(', ')}] from config.json`,
        { subject: s },
      );
    }
    if (!FLOAT_DTYPES.includes(ref.dtype)) {
      throw new AppError(
        'unsupported',
        `${ref.location}: tensor "${s}" has dtype ${ref.dtype}; supported weight dtypes: ${FLOAT_DTYPES.join(', ')}`,
        { subject: s },
      );
    }
  }
  if (missing.length > 0) {
    const hint = missing.includes(LM_HEAD) ? ' (no lm_head and text_config.tie_word_embeddings is false)' : '';
    const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, ... (${missing.length} in all)` : '');
    throw new AppError('bad-file', `${dir}: the checkpoint lacks tensors its config.json needs${hint}: ${shown}`, {
      subject: missing[0],
    });
  }
}

export function dominantDType(weights: WeightSet, names: string[]): WeightDType {
  const bytes = new Map<WeightDType, number>();
  for (const n of names) {
    const r = weights.get(n);
    bytes.set(r.dtype as WeightDType, (bytes.get(r.dtype as WeightDType) ?? 0) + r.byteLength);
  }
  return [...bytes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
}
