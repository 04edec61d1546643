// The ONNX protobuf classes. onnx-proto is CommonJS, so it is imported whole
// and the namespace taken from it (a named ESM import fails at run time).
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from 'onnx-proto';
