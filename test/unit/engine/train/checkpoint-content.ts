// Deterministic checkpoint content for a step, shared by the checkpoint-store
// tests and the child process they SIGKILL: whatever step a checkpoint claims,
// its adapter, tensors and state must be exactly this.
import { createRng } from '../../../../electron/engine/generate/sampling';
import { initLora } from '../../../../electron/engine/models/lora';
import type { OpenModel } from '../../../../electron/engine/models/open';
import type { AdapterSettings } from '../../../../electron/engine/models/peft-export';
import type { CheckpointContent } from '../../../../electron/engine/train/checkpoint-store';

export const SETTINGS: AdapterSettings = {
  r: 2,
  alpha: 4,
  dropout: 0.1,
  rslora: true,
  targets: ['q_proj', 'down_proj'],
};

/** `moments` floats per optimizer tensor: large enough that a write takes a while. */
export function contentFor(model: OpenModel, step: number, moments = 1 << 18): CheckpointContent {
  const rng = createRng(1000 + step);
  const lora = initLora(
    model.spec.text,
    { rank: SETTINGS.r, alpha: SETTINGS.alpha, rslora: SETTINGS.rslora, targets: SETTINGS.targets },
    rng,
  );
  for (const m of lora.modules.values()) m.b = Float32Array.from(m.b, () => rng() - 0.5);
  const tensors = new Map([
    ['adamw.m', { dims: [moments], data: Float32Array.from({ length: moments }, (_, i) => step + i * 1e-3) }],
    ['adamw.v', { dims: [moments / 2, 2], data: Float32Array.from({ length: moments }, (_, i) => step * i) }],
  ]);
  return {
    step,
    adapter: { baseDir: model.dir, lora, settings: SETTINGS },
    tensors,
    state: { epoch: step % 3, order: [step, 3, 1, 2], rng: { seed: 7, draws: step * 10 }, config: { lr: 5e-5 } },
  };
}
