// Opens a llava-hf model folder for the graph builders: config.json resolved
// into a LlavaSpec and the safetensors (single or sharded, either layout)
// behind canonical names.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { openWeights, type WeightSet } from '../weights/weight-set';
import { checkpointSource, type WeightSource } from './params';
import { llavaSpec, type LlavaSpec } from './spec';

export interface OpenModel {
  dir: string;
  spec: LlavaSpec;
  weights: WeightSet;
  source: WeightSource;
  /** The raw config.json, for fields only the CLI shows. */
  config: Record<string, unknown>;
}

export async function openModel(dir: string): Promise<OpenModel> {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('not-found', `${file}: cannot read the model config (${(e as Error).message})`, { subject: file, cause: e });
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new AppError('bad-file', `${file}: not valid JSON (${(e as Error).message})`, { subject: file, cause: e });
  }
  const spec = llavaSpec(config);
  const weights = await openWeights(dir);
  return { dir, spec, weights, source: checkpointSource(weights), config };
}
