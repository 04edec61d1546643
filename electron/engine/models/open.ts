// Opens a llava-hf model folder for the graph builders: the validated
// checkpoint (config, generation config, weights under canonical names, shapes
// checked) plus the builders' spec derived from its config.
import { Checkpoint } from './checkpoint';
import { llavaSpec, type LlavaSpec } from './llava';

export interface OpenModel {
  dir: string;
  spec: LlavaSpec;
  checkpoint: Checkpoint;
}

export async function openModel(dir: string): Promise<OpenModel> {
  const checkpoint = await Checkpoint.open(dir);
  return { dir, spec: llavaSpec(checkpoint.config), checkpoint };
}
