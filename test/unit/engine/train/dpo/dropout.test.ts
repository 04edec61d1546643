// The in-graph LoRA dropout mask: inverted dropout (0 or 1/(1-p)), the keep
// rate near 1 - p, independent streams per module and per step seed, the same
// mask for the same seed; and the weight-decay exemption rule.
import { describe, expect, it } from 'vitest';
import { Graph, op } from '../../../../../electron/engine/onnx';
import { DROPOUT_SEED, dropoutSeed, seededDropout } from '../../../../../electron/engine/train/dpo/dropout';
import { noDecay } from '../../../../../electron/engine/train/dpo/graph';
import { runGraph } from '../../../../helpers/ort';

const [N, F, P] = [96, 80, 0.3];

async function masks(seed: number): Promise<{ q: Float32Array; k: Float32Array }> {
  const g = new Graph('dropout');
  const x = g.input('x', 'float32', [N, F]);
  const d = seededDropout(g, P);
  g.output(d.dropout(op.add(x, 0), 'q_proj'), 'q');
  g.output(d.dropout(op.add(x, 0), 'k_proj'), 'k');
  const out = await runGraph(
    g,
    { x: { dims: [N, F], data: new Float32Array(N * F).fill(1) }, [DROPOUT_SEED]: { dims: [], data: [seed] } },
    'cpu',
  );
  return { q: out['q']!.values as unknown as Float32Array, k: out['k']!.values as unknown as Float32Array };
}

const kept = (m: ArrayLike<number>): number => Array.from(m).filter((v) => v !== 0).length / m.length;
const same = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).filter((v, i) => (v === 0) === (b[i] === 0)).length / a.length;

describe('seeded LoRA dropout', () => {
  it('inverted dropout with the keep rate of 1 - p, per module and per seed independent, reproducible', async () => {
    const s1 = dropoutSeed(1, 0, 0);
    const a = await masks(s1);
    const b = await masks(s1);
    const c = await masks(dropoutSeed(1, 1, 0));
    expect(Array.from(b.q)).toEqual(Array.from(a.q));
    for (const m of [a.q, a.k, c.q]) {
      expect(new Set(Array.from(m).map((v) => v.toFixed(5)))).toEqual(new Set(['0.00000', (1 / (1 - P)).toFixed(5)]));
      expect(Math.abs(kept(m) - (1 - P))).toBeLessThan(0.03);
    }
    // Independent masks agree on about p^2 + (1-p)^2 = 0.58 of the elements.
    for (const [x, y] of [
      [a.q, a.k],
      [a.q, c.q],
    ] as const)
      expect(Math.abs(same(x, y) - (P * P + (1 - P) * (1 - P)))).toBeLessThan(0.04);
    // Rows and columns are not copies of each other.
    const row = (m: ArrayLike<number>, r: number): string =>
      Array.from(m)
        .slice(r * F, (r + 1) * F)
        .join(',');
    expect(new Set(Array.from({ length: N }, (_, r) => row(a.q, r))).size).toBe(N);
  });

  it('step seeds differ by run seed, step and micro-step, and repeat', () => {
    const seeds = [dropoutSeed(1, 0, 0), dropoutSeed(2, 0, 0), dropoutSeed(1, 1, 0), dropoutSeed(1, 0, 1)];
    expect(new Set(seeds).size).toBe(4);
    expect(dropoutSeed(1, 0, 1)).toBe(seeds[3]);
    for (const s of seeds) expect(s >= 0 && s < 1).toBe(true);
  });

  it('weight decay spares norms and biases only', () => {
    expect(noDecay('language_model.model.layers.0.input_layernorm.weight')).toBe(true);
    expect(noDecay('language_model.model.layers.0.self_attn.q_proj.bias')).toBe(true);
    expect(noDecay('lora.language_model.model.layers.0.self_attn.q_proj.A')).toBe(false);
  });
});
