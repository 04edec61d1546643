// The graph builder: a Graph owns named Values (graph inputs, initializers,
// node outputs) with tracked dtype and shape, and the Nodes that produce them.
// Op helpers (ops/*.ts) add nodes; serialize.ts turns a Graph into ONNX bytes.
import { AppError } from '../../../shared/errors';
import { floatToBf16, floatToHalf } from '../weights/float16';
import type { DType } from './dtype';
import { byteLength } from './dtype';
import type { Shape } from './shape';
import { numel, shapeToString } from './shape';

/** A node attribute, tagged by its ONNX attribute type. */
export type Attr =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { t: InlineTensor };

export interface InlineTensor {
  dtype: DType;
  dims: readonly number[];
  data: ArrayBufferView;
}

export interface ExternalTensor {
  dtype: DType;
  dims: readonly number[];
  /** File name relative to the weights folder given to the session. */
  location: string;
  offset: number;
  length: number;
}

export type ValueKind = 'input' | 'initializer' | 'node';

export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: ValueKind,
    /** The node that computes this value (undefined for inputs and initializers). */
    readonly producer: Node | undefined = undefined,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${shapeToString(this.shape)}`;
  }
}

export interface Node {
  readonly name: string;
  readonly opType: string;
  /** '' for the default ONNX domain. */
  readonly domain: string;
  /** `undefined` marks an omitted optional input. */
  readonly inputs: readonly (Value | undefined)[];
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

export interface OutputSpec {
  dtype: DType;
  shape: Shape;
}

export interface NodeOptions {
  domain?: string;
  /** Node name; defaults to `<scope>/<OpType>_<n>`. */
  name?: string;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<string, { value: Value; tensor: InlineTensor | ExternalTensor }>();
  private readonly names = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly constCache = new Map<string, Value>();
  private scopes: string[] = [];

  constructor(readonly name = 'graph') {}

  /** A graph input; symbolic dims (strings) are bound at run time. */
  input(name: string, dtype: DType, shape: Shape): Value {
    const v = new Value(this, this.claim(name), dtype, shape, 'input');
    this.inputs.push(v);
    return v;
  }

  /** Marks `v` as a graph output named `name` (an Identity is inserted when the name differs or `v` is not a node output). */
  output(v: Value, name: string = v.name): Value {
    this.own(v);
    let out = v;
    if (v.kind !== 'node' || v.name !== name || this.outputs.includes(v)) {
      out = this.addNode('Identity', [v], {}, [{ dtype: v.dtype, shape: v.shape }], { name: `output/${name}` }, [
        name,
      ])[0]!;
    }
    this.outputs.push(out);
    return out;
  }

  initializer(name: string, t: { dtype: DType; dims: readonly number[]; data: ArrayBufferView }): Value {
    const expected = byteLength(t.dtype, numel(t.dims));
    if (t.data.byteLength !== expected) {
      throw new AppError(
        'internal',
        `initializer ${name}: ${t.dtype}[${t.dims.join(', ')}] needs ${expected} bytes, got ${t.data.byteLength}`,
      );
    }
    const v = new Value(this, this.claim(name), t.dtype, [...t.dims], 'initializer');
    this.initializers.set(v.name, { value: v, tensor: { dtype: t.dtype, dims: [...t.dims], data: t.data } });
    return v;
  }

  externalInitializer(
    name: string,
    t: { dtype: DType; dims: readonly number[]; location: string; offset: number; length: number },
  ): Value {
    const expected = byteLength(t.dtype, numel(t.dims));
    if (t.length !== expected) {
      throw new AppError(
        'internal',
        `initializer ${name}: ${t.dtype}[${t.dims.join(', ')}] needs ${expected} bytes, external data has ${t.length}`,
      );
    }
    const v = new Value(this, this.claim(name), t.dtype, [...t.dims], 'initializer');
    this.initializers.set(v.name, { value: v, tensor: { ...t, dims: [...t.dims] } });
    return v;
  }

  /** A small constant (deduplicated by content): a scalar when `dims` is [], a 1-D tensor by default. */
  constant(values: number | readonly number[], dtype: DType, dims?: readonly number[]): Value {
    const list = typeof values === 'number' ? [values] : values;
    const shape = dims ?? (typeof values === 'number' ? [] : [list.length]);
    const key = `${dtype}|${shape.join(',')}|${list.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const v = this.initializer(this.fresh('const'), { dtype, dims: shape, data: typedArray(dtype, list) });
    this.constCache.set(key, v);
    return v;
  }

  /** Runs `fn` with node names prefixed by `scope/` (nested scopes join with '/'). */
  withScope<T>(scope: string, fn: () => T): T {
    this.scopes.push(scope);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** Low-level: appends a node computing outputs of the given dtypes and shapes. Op helpers call this. */
  addNode(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attrs: Record<string, Attr>,
    outputs: readonly OutputSpec[],
    options: NodeOptions = {},
    outputNames?: readonly string[],
  ): Value[] {
    for (const v of inputs) if (v) this.own(v);
    const nodeName = this.claim(options.name ?? this.fresh(opType));
    const outs: Value[] = [];
    const node: Node = {
      name: nodeName,
      opType,
      domain: options.domain ?? '',
      inputs: [...inputs],
      outputs: outs,
      attrs,
    };
    outputs.forEach((o, i) => {
      const vname = this.claim(outputNames?.[i] ?? (outputs.length === 1 ? `${nodeName}:0` : `${nodeName}:${i}`));
      outs.push(new Value(this, vname, o.dtype, o.shape, 'node', node));
    });
    this.nodes.push(node);
    return outs;
  }

  /** A new unique name under the current scope, e.g. 'layer0/attn/MatMul_3'. */
  fresh(base: string): string {
    const prefix = this.scopes.length ? `${this.scopes.join('/')}/${base}` : base;
    let n = this.counters.get(prefix) ?? 0;
    let name = `${prefix}_${n}`;
    while (this.names.has(name)) name = `${prefix}_${++n}`;
    this.counters.set(prefix, n + 1);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new AppError('internal', `graph ${this.name}: name ${name} is already used`);
    this.names.add(name);
    return name;
  }

  private own(v: Value): void {
    if (v.graph !== this) throw new AppError('internal', `value ${v.name} belongs to another graph`);
  }
}

/** A typed array of `dtype` holding `values` (bool as 0/1 bytes, float16/bfloat16 converted from numbers). */
export function typedArray(dtype: DType, values: readonly number[]): ArrayBufferView {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'int64':
      return BigInt64Array.from(values, (x) => BigInt(x));
    case 'int8':
      return Int8Array.from(values);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(values, (x) => (dtype === 'bool' ? (x ? 1 : 0) : x));
    case 'float16':
      return Uint16Array.from(values, floatToHalf);
    case 'bfloat16':
      return Uint16Array.from(values, floatToBf16);
    case 'int4':
      return Uint8Array.from({ length: Math.ceil(values.length / 2) }, (_, i) => {
        const [lo, hi] = [values[2 * i]!, values[2 * i + 1] ?? 0];
        return (lo & 15) | ((hi & 15) << 4);
      });
  }
}
