// One call from a model folder (and optionally a PEFT adapter folder) to a
// ready LlavaRunner: the checkpoint opened and checked, the adapter matched
// against it and wired in unmerged or merged.
import type { ExplicitEp } from '../runtime/local';
import type { EngineRuntime } from '../runtime/runtime';
import { loraFromPeft, mergedLora, unmergedLora } from '../models/lora';
import { openModel } from '../models/open';
import { externalParams } from '../models/params';
import { PeftAdapter } from '../models/peft';
import { LlavaRunner, type RunnerOptions } from './runner';

export interface LoadOptions {
  ep: ExplicitEp;
  /** The session host; default the process's shared one. */
  runtime?: EngineRuntime;
  captureLayers?: readonly number[];
  adapter?: { dir: string; merge?: boolean };
  disablePrepacking?: boolean;
}

export async function loadRunner(modelDir: string, o: LoadOptions): Promise<LlavaRunner> {
  const model = await openModel(modelDir);
  const options: RunnerOptions = { ep: o.ep };
  if (o.runtime) options.runtime = o.runtime;
  if (o.captureLayers) options.captureLayers = o.captureLayers;
  if (o.disablePrepacking) options.disablePrepacking = true;
  try {
    if (o.adapter) {
      const adapter = await PeftAdapter.load(o.adapter.dir, model.checkpoint);
      const weights = await loraFromPeft(adapter).finally(() => adapter.close());
      options.textGraph = o.adapter.merge
        ? { params: mergedLora(weights, (g) => externalParams(g, model.checkpoint)) }
        : unmergedLora(weights);
    }
    return new LlavaRunner(model, options);
  } catch (e) {
    await model.checkpoint.close();
    throw e;
  }
}
