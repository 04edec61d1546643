// A readable text form of a graph for debugging and for tests that check
// what was emitted: one line per input, initializer, node and output.
import type { Attr, Graph } from './graph';

function attrText(a: Attr): string {
  if ('i' in a) return String(a.i);
  if ('f' in a) return String(a.f);
  if ('s' in a) return JSON.stringify(a.s);
  if ('ints' in a) return `[${a.ints.join(',')}]`;
  if ('floats' in a) return `[${a.floats.join(',')}]`;
  return `tensor ${a.t.dtype}[${a.t.dims.join(',')}]`;
}

export function dumpGraph(g: Graph): string {
  const lines: string[] = [`graph ${g.name}`];
  for (const v of g.inputs) lines.push(`  input  ${v}`);
  for (const { value, tensor } of g.initializers.values()) {
    lines.push(`  init   ${value}${'location' in tensor ? ` @ ${tensor.location}+${tensor.offset}` : ''}`);
  }
  for (const n of g.nodes) {
    const attrs = Object.entries(n.attrs).map(([k, a]) => `${k}=${attrText(a)}`);
    const ins = n.inputs.map((v) => v?.name ?? '_').join(', ');
    const outs = n.outputs.map((v) => v.toString()).join(', ');
    const op = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    lines.push(`  ${outs} = ${op}(${ins})${attrs.length ? ` {${attrs.join(', ')}}` : ''}  # ${n.name}`);
  }
  for (const v of g.outputs) lines.push(`  output ${v}`);
  return lines.join('\n') + '\n';
}
