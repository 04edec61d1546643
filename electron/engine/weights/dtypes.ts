// The safetensors dtype table: byte size of each element and, where the
// engine can use it, the graph dtype. Used by the reader, the writer and the
// bridge from tensor entries to ONNX external initializers.

import type { DType } from '../onnx/dtype';

/**
 * Every dtype the reference implementation knows. `graph: null` marks types
 * the file may hold (and we can read as bytes) but the engine cannot compute
 * with: float64, the 16/32/64-bit unsigned ints, int16 and the float8 variants.
 */
export const SAFETENSORS_DTYPES = {
  F64: { bytes: 8, graph: null },
  F32: { bytes: 4, graph: 'float32' },
  F16: { bytes: 2, graph: 'float16' },
  BF16: { bytes: 2, graph: 'bfloat16' },
  F8_E4M3: { bytes: 1, graph: null },
  F8_E5M2: { bytes: 1, graph: null },
  I64: { bytes: 8, graph: 'int64' },
  I32: { bytes: 4, graph: 'int32' },
  I16: { bytes: 2, graph: null },
  I8: { bytes: 1, graph: 'int8' },
  U64: { bytes: 8, graph: null },
  U32: { bytes: 4, graph: null },
  U16: { bytes: 2, graph: null },
  U8: { bytes: 1, graph: 'uint8' },
  BOOL: { bytes: 1, graph: 'bool' },
} as const satisfies Record<string, { bytes: number; graph: DType | null }>;

export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

export function isSafetensorsDType(s: string): s is SafetensorsDType {
  return Object.hasOwn(SAFETENSORS_DTYPES, s);
}

/** The safetensors dtype that stores a graph dtype (safetensors has no int4: packed pairs are stored as U8 bytes). */
export const DTYPE_OF_GRAPH: Record<DType, SafetensorsDType> = {
  int4: 'U8',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  int64: 'I64',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
