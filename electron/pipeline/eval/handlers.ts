// The evaluation API handlers (shared/pipeline/eval.ts), spread into the
// service's handler table.
import type { ApiHandlers } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import type { EVAL_COMMANDS } from '../../../shared/pipeline/eval';

type EvalHandlers = Pick<ApiHandlers, keyof typeof EVAL_COMMANDS>;

const pending = (name: string) => (): Promise<never> =>
  Promise.reject(new AppError('internal', `${name} is not available yet (issue 10 in progress)`));

export function evalHandlers(): EvalHandlers {
  return {
    'eval.bench.import': pending('eval.bench.import'),
    'eval.bench.list': pending('eval.bench.list'),
    'eval.run': pending('eval.run'),
    'eval.runs': pending('eval.runs'),
    'eval.runs.get': pending('eval.runs.get'),
    'eval.items': pending('eval.items'),
    'eval.compare': pending('eval.compare'),
    'eval.table': pending('eval.table'),
    'eval.side': pending('eval.side'),
    'eval.attention.diff': pending('eval.attention.diff'),
  };
}
