// Public surface of reverse-mode autodiff.
export { gradients } from './backward';
export type { BackwardOptions } from './backward';
export { DIFF_OPS, GRADIENTS, isDiffOp } from './rules';
export type { DiffOp, GradContext, GradRule } from './rules';
export * from './composites';
