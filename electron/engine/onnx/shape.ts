// Static shapes with named symbolic dims ('batch', 'seq'): numbers are known
// sizes, strings are sizes fixed only at run time. Broadcasting and reshape
// rules follow ONNX/numpy; autodiff uses them to undo broadcasting.
import { AppError } from '../../../shared/errors';

export type Dim = number | string;
export type Shape = readonly Dim[];

export function shapeToString(s: Shape): string {
  return `[${s.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function isStatic(s: Shape): s is readonly number[] {
  return s.every((d) => typeof d === 'number');
}

export function numel(s: readonly number[]): number {
  return s.reduce((p, d) => p * d, 1);
}

/** Numpy broadcasting of two shapes; a symbolic dim meeting 1 wins, two different symbols are an error. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else
      throw new AppError(
        'internal',
        `shapes ${shapeToString(a)} and ${shapeToString(b)} do not broadcast (dim ${i}: ${da} vs ${db})`,
      );
  }
  return out;
}

/**
 * The axes of `out` along which a value of shape `input` was broadcast, so that
 * ReduceSum over them (keepdims) followed by a reshape gives back `input`'s shape.
 */
export function broadcastAxes(input: Shape, out: Shape): number[] {
  const lead = out.length - input.length;
  if (lead < 0)
    throw new AppError('internal', `cannot unbroadcast ${shapeToString(input)} from smaller ${shapeToString(out)}`);
  const axes: number[] = [];
  for (let i = 0; i < out.length; i++) {
    if (i < lead) {
      axes.push(i);
      continue;
    }
    const d = input[i - lead]!;
    if (d === out[i]) continue;
    if (d === 1) axes.push(i);
    else
      throw new AppError(
        'internal',
        `cannot unbroadcast ${shapeToString(input)} from ${shapeToString(out)} (dim ${i})`,
      );
  }
  return axes;
}

/** Normalises a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new AppError('internal', `axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Product of dims as a Dim: a number when all are static, else a symbolic product like 'batch*seq*4'. */
export function productDim(dims: readonly Dim[]): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else syms.push(d);
  }
  if (syms.length === 0) return n;
  return n === 1 ? syms.join('*') : [...syms, String(n)].join('*');
}

/** Output shape of Reshape with a static target (ONNX: 0 copies the input dim, -1 is inferred). */
export function reshapeShape(input: Shape, target: readonly number[]): Dim[] {
  const out: Dim[] = target.map((t, i) => (t === 0 ? input[i]! : t));
  const inferred = out.indexOf(-1);
  if (inferred < 0) return out;
  const symsIn: string[] = [];
  let nIn = 1;
  for (const d of input) {
    if (typeof d === 'number') nIn *= d;
    else symsIn.push(d);
  }
  let nOut = 1;
  for (const [i, d] of out.entries()) {
    if (i === inferred) continue;
    if (typeof d === 'number') nOut *= d;
    else {
      const k = symsIn.indexOf(d);
      if (k < 0)
        throw new AppError(
          'internal',
          `reshape ${shapeToString(input)} -> [${target.join(', ')}]: symbolic dim ${d} not in input`,
        );
      symsIn.splice(k, 1);
    }
  }
  if (nIn % nOut !== 0) {
    if (symsIn.length === 0)
      throw new AppError('internal', `reshape ${shapeToString(input)} -> [${target.join(', ')}]: sizes do not divide`);
    out[inferred] = `${productDim([...symsIn, nIn])}/${nOut}`;
    return out;
  }
  out[inferred] = productDim([...symsIn, ...(nIn / nOut === 1 ? [] : [nIn / nOut])]);
  return out;
}
