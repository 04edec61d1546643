// The bridge from checkpoint tensors to graph weights: an ONNX external
// initializer pointing at the tensor's byte range inside the .safetensors
// file (no copy, no conversion). bf16 is cast inside the graph because the
// ORT Node binding cannot hand bf16 tensors across its boundary.
import { AppError } from '../../../shared/errors';
import type { DType } from '../onnx/dtype';
import type { Graph, Value } from '../onnx/graph';
import { cast } from '../onnx/ops/elementwise';
import { SAFETENSORS_DTYPES } from './dtypes';
import type { TensorRef } from './weight-set';

/** The float type a graph computes in: float32, or float16 on GPU EPs (weights stored as fp16 then read as stored). */
export type ComputeType = 'float32' | 'float16';

export interface WeightOptions {
  /**
   * Float type the graph computes in. Float weights stored otherwise are cast
   * right after the initializer; bf16 defaults to float32 since no EP here
   * computes in bf16.
   */
  compute?: ComputeType;
}

/** `ref` as a graph value named `name` (the raw initializer; a Cast follows when dtypes differ). */
export function weightInitializer(g: Graph, name: string, ref: TensorRef, options: WeightOptions = {}): Value {
  const dtype: DType | null = SAFETENSORS_DTYPES[ref.dtype].graph;
  if (dtype === null) {
    throw new AppError(
      'unsupported',
      `tensor "${ref.name}" in ${ref.location} has dtype ${ref.dtype}, which the engine cannot compute with`,
      { subject: ref.location },
    );
  }
  const raw = g.externalInitializer(name, {
    dtype,
    dims: ref.shape,
    location: ref.location,
    offset: ref.offset,
    length: ref.byteLength,
  });
  const isFloat = dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16';
  if (!isFloat) return raw;
  const target = options.compute ?? (dtype === 'bfloat16' ? 'float32' : dtype);
  return cast(raw, target);
}
