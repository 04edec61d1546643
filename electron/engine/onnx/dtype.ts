// Element types of graph values: the same strings as onnxruntime's Tensor types,
// their ONNX TensorProto codes and byte sizes. Shared by the graph builder,
// the serialiser and the weights layer (safetensors dtypes map onto these).
import { onnx } from './proto';

export const DTYPES = ['float32', 'float16', 'bfloat16', 'int32', 'int64', 'int8', 'uint8', 'bool', 'int4'] as const;
export type DType = (typeof DTYPES)[number];

const CODE = onnx.TensorProto.DataType;
export const ONNX_DTYPE: Record<DType, number> = {
  float32: CODE.FLOAT,
  float16: CODE.FLOAT16,
  bfloat16: CODE.BFLOAT16,
  int32: CODE.INT32,
  int64: CODE.INT64,
  int8: CODE.INT8,
  uint8: CODE.UINT8,
  bool: CODE.BOOL,
  // TensorProto.INT4 (IR 10); onnx-proto 8's enum predates it.
  int4: 22,
};

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int32: 4,
  int64: 8,
  int8: 1,
  uint8: 1,
  bool: 1,
  /** Two per byte, the first in the low nibble (ONNX's packing); see `byteLength`. */
  int4: 0.5,
};

/** Bytes of `count` elements of `dtype` (int4 packs two per byte, rounded up). */
export function byteLength(dtype: DType, count: number): number {
  return Math.ceil(count * DTYPE_BYTES[dtype]);
}

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float16' || d === 'bfloat16';
}

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}
