// LoRA dropout with masks seeded per step, computed in the graph: PEFT drops
// the branch input (y += s * B A dropout(x)), a mask the size of every adapted
// layer's input, far too large to send from the host each step. The mask is a
// counter-based hash of (row, feature, module, step seed): the host feeds one
// scalar `dropout_seed` per micro-step (derived from the run's seed and the
// step index), so the same seed and step give the same masks, on resume too.
import type { Graph, Value } from '../../onnx/graph';
import * as op from '../../onnx/ops';
import { node1 } from '../../onnx/ops/operand';
import { AppError } from '../../../../shared/errors';
import { staticDim } from '../../models/nn';

export const DROPOUT_SEED = 'dropout_seed';

const frac = (x: Value): Value => op.sub(x, node1(x.graph, 'Floor', [x], {}, x.dtype, x.shape));

/**
 * Uniform [0, 1) noise [n, f] from row and column counters: R2-sequence offsets per row and column
 * (small arguments, so float32 keeps them exact enough), then two rounds of the sin-fract hash.
 */
function hashNoise(g: Graph, n: number, f: number, seed: Value): Value {
  const rows = g.constant(
    Array.from({ length: n }, (_, i) => (i * 0.7548776662466927) % 1),
    'float32',
    [n, 1],
  );
  const cols = g.constant(
    Array.from({ length: f }, (_, j) => (j * 0.5698402909980532) % 1),
    'float32',
    [1, f],
  );
  const h1 = frac(
    op.mul(op.sin(op.add(op.add(op.mul(rows, 12.9898), op.mul(cols, 78.233)), op.mul(seed, 37.719))), 43758.5453),
  );
  return frac(op.mul(op.sin(op.add(op.mul(h1, 91.3458), op.mul(op.add(rows, cols), 47.4309))), 23421.631));
}

/**
 * The hook for loraBranch: inverted dropout with probability `p` on x [N, in] (N static: train graphs
 * fix the sequence), one independent stream per module (its ordinal shifts the step seed).
 */
export function seededDropout(g: Graph, p: number): { dropout: (x: Value, name: string) => Value; seed: Value } {
  if (!(p >= 0 && p < 1))
    throw new AppError('bad-input', `LoRA dropout ${p} must be in [0, 1)`, { subject: 'dropout' });
  const seed = g.input(DROPOUT_SEED, 'float32', []);
  const ordinals = new Map<string, number>();
  return {
    seed,
    dropout(x, name) {
      const k = ordinals.get(name) ?? ordinals.size;
      ordinals.set(name, k);
      const s = frac(op.add(seed, (k * 0.6180339887498949) % 1));
      const noise = hashNoise(g, staticDim(x, 0), staticDim(x, 1), s);
      const keep = op.div(op.cast(op.greaterOrEqual(noise, p), 'float32'), 1 - p);
      return op.mul(x, keep);
    },
  };
}

/** The micro-step's seed in [0, 1): a hash of (run seed, optimizer step, micro-step), the same on every rerun. */
export function dropoutSeed(seed: number, step: number, micro: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(micro + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}
