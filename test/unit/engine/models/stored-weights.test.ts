// Weights read as stored (fp16) under float32 compute, as the CPU's quantized
// formats read them (decision 0840): the LM head's logits equal a float64
// product of the same fp16 values, and the graph never makes a float copy of
// the whole head, only one HEAD_SLICE_ROWS slice at a time, each waiting for
// the previous slice's product; the vision tower cast layer by layer gives the
// features of the usual graph exactly, each linear's copy made after its input.
import { describe, expect, it } from 'vitest';
import { headLogits, HEAD_SLICE_ROWS } from '../../../../electron/engine/models/decoder';
import { Graph } from '../../../../electron/engine/onnx/graph';
import { floatToHalf, halfToFloat } from '../../../../electron/engine/weights/float16';
import { buildVisionGraph } from '../../../../electron/engine/models/llava';
import { openModel } from '../../../../electron/engine/models/open';
import { maxAbsDiff, runGraph } from '../../../helpers/ort';
import { TINY_LLAVA as TINY, writeTinyLlava } from '../../../helpers/tiny-llava';

const [V, D, T] = [2 * HEAD_SLICE_ROWS + 100, 8, 3];

describe('headLogits over an fp16 head under float32 compute', () => {
  it('equals the float64 product, with one slice of the head cast at a time', async () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2;
    const bits = Uint16Array.from({ length: V * D }, () => floatToHalf(rnd()));
    const hidden = Float32Array.from({ length: T * D }, rnd);
    const g = new Graph('head');
    const h = g.input('hidden', 'float32', [1, T, D]);
    const w = g.initializer('lm_head', { dtype: 'float16', dims: [V, D], data: bits });
    g.output(headLogits(w, h, { hiddenSize: D, vocabSize: V }), 'logits');

    // No node makes a float32 [V, D]: three casts of slices, the last one shorter.
    const casts = g.nodes.filter(
      (n) => n.opType === 'Cast' && n.outputs[0]!.dtype === 'float32' && n.outputs[0]!.rank === 2,
    );
    expect(casts.map((n) => n.outputs[0]!.shape)).toEqual([
      [HEAD_SLICE_ROWS, D],
      [HEAD_SLICE_ROWS, D],
      [100, D],
    ]);
    expect(
      g.nodes.some((n) => n.outputs.some((o) => o.shape[0] === V && o.shape[1] === D && o.dtype === 'float32')),
    ).toBe(false);

    const out = await runGraph(g, { hidden: { dims: [1, T, D], data: hidden } });
    expect(out['logits']!.dims).toEqual([1, T, V]);
    let worst = 0;
    for (let t = 0; t < T; t++)
      for (let v = 0; v < V; v++) {
        let ref = 0;
        for (let k = 0; k < D; k++) ref += hidden[t * D + k]! * halfToFloat(bits[v * D + k]!);
        worst = Math.max(worst, Math.abs(out['logits']!.values[t * V + v]! - ref));
      }
    expect(worst).toBeLessThan(1e-5);
  });

  it('reads a head of the compute type in one product', () => {
    const g = new Graph('head32');
    const h = g.input('hidden', 'float32', [1, T, D]);
    const w = g.input('w', 'float32', [V, D]);
    headLogits(w, h, { hiddenSize: D, vocabSize: V });
    expect(g.nodes.filter((n) => n.opType === 'Gemm')).toHaveLength(1);
    expect(g.nodes.some((n) => n.opType === 'Slice' || n.opType === 'Cast')).toBe(false);
  });
});

describe('the vision tower cast layer by layer', () => {
  it('gives the usual features exactly, every fp16 linear cast only once its input exists', async () => {
    const { dir } = await writeTinyLlava({ seed: 4, dtype: 'F16' });
    const m = await openModel(dir);
    try {
      const layerwise = buildVisionGraph(m.spec, m.checkpoint, 1, 'float32', true);
      // The tensor each Cast reads, through op.after's ordering Reshape when there is one.
      const source = (n: (typeof layerwise.nodes)[number]) => {
        const input = n.inputs[0]!;
        return input.producer?.opType === 'Reshape'
          ? { name: input.producer.inputs[0]!.name, ordered: true }
          : { name: input.name, ordered: false };
      };
      const linears = layerwise.nodes
        .filter((n) => n.opType === 'Cast')
        .map(source)
        .filter((x) => /encoder\.layers\.\d+\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12])\.weight$/.test(x.name));
      expect(linears).toHaveLength(6 * Math.max(...m.spec.featureLayers)); // the layers up to the deepest one read
      expect(linears.every((x) => x.ordered)).toBe(true);
      const pixels = {
        dims: [1, 3, TINY.image, TINY.image],
        data: Float32Array.from({ length: 3 * TINY.image ** 2 }, (_, i) => Math.sin(i)),
      };
      const opts = { externalDataFolder: dir, disableConstantFolding: true };
      const a = await runGraph(buildVisionGraph(m.spec, m.checkpoint, 1), { pixel_values: pixels }, 'cpu', opts);
      const b = await runGraph(layerwise, { pixel_values: pixels }, 'cpu', opts);
      expect(maxAbsDiff(a['image_features']!.values, b['image_features']!.values)).toBe(0);
    } finally {
      await m.checkpoint.close();
    }
  });
});
