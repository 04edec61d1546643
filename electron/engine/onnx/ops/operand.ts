// Shared plumbing of the op helpers: turning JS numbers into constants of the
// right dtype, and appending single-output nodes.
import { AppError } from '../../../../shared/errors';
import type { DType } from '../dtype';
import type { Attr, Graph, NodeOptions, Value } from '../graph';
import type { Shape } from '../shape';

export type Operand = Value | number;

/** The graph of the first Value operand (at least one operand must be a Value). */
export function graphOf(...xs: Operand[]): Graph {
  for (const x of xs) if (typeof x !== 'number') return x.graph;
  throw new AppError('internal', 'an op needs at least one graph value among its operands');
}

/** A number becomes a scalar constant of `dtype`; a Value passes through. */
export function lift(g: Graph, x: Operand, dtype: DType): Value {
  return typeof x === 'number' ? g.constant(x, dtype, []) : x;
}

/** Lifts numbers to the dtype of the first Value operand. */
export function liftAll(...xs: Operand[]): Value[] {
  const g = graphOf(...xs);
  const first = xs.find((x): x is Value => typeof x !== 'number')!;
  return xs.map((x) => lift(g, x, first.dtype));
}

export function node1(
  g: Graph,
  opType: string,
  inputs: readonly (Value | undefined)[],
  attrs: Record<string, Attr>,
  dtype: DType,
  shape: Shape,
  options?: NodeOptions,
): Value {
  return g.addNode(opType, inputs, attrs, [{ dtype, shape }], options)[0]!;
}

/** An int64 1-D constant: the form ONNX wants for axes, shapes, starts/ends. */
export function ints64(g: Graph, values: readonly number[]): Value {
  return g.constant(values, 'int64', [values.length]);
}
