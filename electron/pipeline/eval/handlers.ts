// The evaluation API handlers (shared/pipeline/eval.ts), spread into the
// service's handler table: benchmark import, eval runs (the `eval` job) with
// their statistics, paired comparisons, the runs x benchmarks table, the
// side-by-side items and attention differences.
import type { ApiHandlers } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import type { EVAL_COMMANDS } from '../../../shared/pipeline/eval';
import type { JobQueries } from '../../jobs/queries';
import type { JobRunner } from '../../jobs/runner';
import type { Store } from '../../store/store';
import { importBenchmark } from './bench-import';
import type { EvalQueries } from './queries';

type EvalHandlers = Pick<ApiHandlers, keyof typeof EVAL_COMMANDS>;

export interface EvalProject {
  dir: string;
  store: Store<EvalQueries>;
  runner: Pick<JobRunner<JobQueries>, 'submit' | 'unfinished'>;
}

function writable(p: EvalProject): EvalProject {
  if (p.store.readOnly)
    throw new AppError('conflict', `${p.dir} is open read-only (damaged database): evaluation cannot write to it`, {
      subject: p.dir,
    });
  return p;
}

const pending = (name: string) => (): Promise<never> =>
  Promise.reject(new AppError('internal', `${name} is not available yet (issue 10 in progress)`));

export function evalHandlers(project: () => EvalProject): EvalHandlers {
  return {
    'eval.bench.import': async ({ file, name }) => {
      const p = writable(project());
      return importBenchmark(p.store, p.dir, file, name);
    },
    'eval.bench.list': async () => ({ benchmarks: await project().store.call('listBenchmarks') }),
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
