// Public surface of the graph builder.
export type { DType } from './dtype';
export { DTYPES, DTYPE_BYTES, ONNX_DTYPE, byteLength, isDType, isFloat } from './dtype';
export type { Dim, Shape } from './shape';
export { broadcastShapes, broadcastAxes, sameShape, shapeToString } from './shape';
export type { Attr, ExternalTensor, InlineTensor, Node, ValueKind } from './graph';
export { Graph, Value, typedArray } from './graph';
export { serializeModel, OPSET, IR_VERSION } from './serialize';
export { dumpGraph } from './dump';
export * as op from './ops';
