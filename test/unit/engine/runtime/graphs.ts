// Tiny graphs the runtime tests run (built with the engine's own builder).
import { Graph } from '../../../../electron/engine/onnx/graph';
import { add, matmul, mul } from '../../../../electron/engine/onnx/ops';
import { serializeModel } from '../../../../electron/engine/onnx/serialize';
import { weightInitializer } from '../../../../electron/engine/weights/external';
import type { TensorRef } from '../../../../electron/engine/weights/weight-set';

/** y = a + b, z = a * b over float32 [n]. */
export function addMulModel(n: number): Uint8Array {
  const g = new Graph('add_mul');
  const a = g.input('a', 'float32', [n]);
  const b = g.input('b', 'float32', [n]);
  g.output(add(a, b), 'y');
  g.output(mul(a, b), 'z');
  return serializeModel(g);
}

/** state' = state + delta: the shape of a KV-cache or optimizer update fed back each step. */
export function accumulateModel(n: number): Uint8Array {
  const g = new Graph('accumulate');
  const state = g.input('state', 'float32', [n]);
  const delta = g.input('delta', 'float32', [n]);
  g.output(add(state, delta), 'next');
  return serializeModel(g);
}

/** y = x @ W with W an external initializer inside a safetensors file. */
export function projectModel(w: TensorRef): Uint8Array {
  const g = new Graph('project');
  const x = g.input('x', 'float32', [1, w.shape[0] as number]);
  g.output(matmul(x, weightInitializer(g, 'w', w)), 'y');
  return serializeModel(g);
}

/** y = x^(2^k) by k chained [n, n] matmuls: a run that takes a while on CPU. */
export function slowModel(n: number, k: number): Uint8Array {
  const g = new Graph('slow');
  let x = g.input('x', 'float32', [n, n]);
  for (let i = 0; i < k; i++) x = matmul(x, x);
  g.output(x, 'y');
  return serializeModel(g);
}
