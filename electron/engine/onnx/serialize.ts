// Graph -> ONNX ModelProto bytes (opset 21, IR version 10, which onnxruntime
// 1.30 reads). External initializers become ONNX external-data entries whose
// location is relative to the folder passed to the session.
import type { OnnxTypes } from './proto';
import { onnx } from './proto';
import type { Attr, ExternalTensor, Graph, InlineTensor, Value } from './graph';
import { ONNX_DTYPE } from './dtype';

export const OPSET = 21;
export const IR_VERSION = 10;
/** com.microsoft opset, for the few contrib ops we may emit. */
const MS_OPSET = 1;

export function serializeModel(g: Graph): Uint8Array {
  const domains = new Set(g.nodes.map((n) => n.domain).filter((d) => d !== ''));
  const model: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    producerName: 'mia-dpo-studio',
    producerVersion: '0.1',
    opsetImport: [{ domain: '', version: OPSET }, ...[...domains].map((domain) => ({ domain, version: MS_OPSET }))],
    graph: toGraphProto(g),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

function toGraphProto(g: Graph): OnnxTypes.IGraphProto {
  return {
    name: g.name,
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
    initializer: [...g.initializers.values()].map(({ value, tensor }) => tensorProto(value.name, tensor)),
    node: g.nodes.map((n) => ({
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      input: n.inputs.map((v) => v?.name ?? ''),
      output: n.outputs.map((v) => v.name),
      attribute: Object.entries(n.attrs).map(([name, a]) => attribute(name, a)),
    })),
  };
}

function valueInfo(v: Value): OnnxTypes.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function tensorProto(name: string, t: InlineTensor | ExternalTensor): OnnxTypes.ITensorProto {
  const base = { name, dims: [...t.dims], dataType: ONNX_DTYPE[t.dtype] };
  if ('location' in t) {
    return {
      ...base,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: t.location },
        { key: 'offset', value: String(t.offset) },
        { key: 'length', value: String(t.length) },
      ],
    };
  }
  // Raw little-endian bytes for every dtype (the host is little-endian, as ORT requires).
  return { ...base, rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
}

const A = onnx.AttributeProto.AttributeType;

function attribute(name: string, a: Attr): OnnxTypes.IAttributeProto {
  if ('i' in a) return { name, type: A.INT, i: a.i };
  if ('f' in a) return { name, type: A.FLOAT, f: a.f };
  if ('s' in a) return { name, type: A.STRING, s: new TextEncoder().encode(a.s) };
  if ('ints' in a) return { name, type: A.INTS, ints: [...a.ints] };
  if ('floats' in a) return { name, type: A.FLOATS, floats: [...a.floats] };
  return { name, type: A.TENSOR, t: tensorProto(name, a.t) };
}
