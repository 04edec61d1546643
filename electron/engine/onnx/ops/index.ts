// All op helpers under one namespace: `import * as op from '../onnx/ops'`,
// then `op.matmul(x, w)`, `op.add(x, 1)`.
export * from './elementwise';
export * from './nn';
export * from './shapeops';
export type { Operand } from './operand';
