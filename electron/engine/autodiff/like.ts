// Shape-following helpers the gradient rules share: broadcasting a value to
// another value's shape (static when known, else through a runtime Shape),
// zeros/ones of a value's shape, and reading constant inputs.
import { AppError } from '../../../shared/errors';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { isStatic } from '../onnx/shape';

/** `v` broadcast to the shape of `like` (v's shape must broadcast to it). */
export function expandLike(v: Value, like: Value): Value {
  if (isStatic(like.shape)) return op.expand(v, like.shape);
  return op.expand(v, op.shapeOf(like), like.shape);
}

export function zerosLike(x: Value): Value {
  return expandLike(x.graph.constant(0, x.dtype, []), x);
}

/** `v` reshaped to `like`'s shape (same element count). */
export function reshapeLike(v: Value, like: Value): Value {
  if (isStatic(like.shape)) return op.reshape(v, like.shape);
  return op.reshape(v, op.shapeOf(like), like.shape);
}

/** The numbers held by a constant (initializer) value: axes, perms, starts. */
export function constValues(v: Value | undefined): number[] {
  const init = v ? v.graph.initializers.get(v.name) : undefined;
  if (!init || !('data' in init.tensor))
    throw new AppError('internal', `expected a constant, got ${v ? v.name : 'nothing'}`);
  const data = init.tensor.data as unknown as ArrayLike<number | bigint>;
  return Array.from(data, Number);
}
