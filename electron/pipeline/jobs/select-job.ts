// Re-selection as a job (issue #4, step 5): reads every stored generation's
// metrics, decides with the current settings (no re-generation), and commits
// all decisions and new pairs in one transaction with the job's end.
import { z } from 'zod';
import { resolveSettings } from '../../../shared/pipeline/defaults';
import type { JobKind, JobRun } from '../../jobs/kind';
import { decide } from '../select/decide';
import type { PipelineQueries } from '../store/queries';

export const SelectParams = z.strictObject({
  /** A partial PipelineSettings; only `selection` and `attention` matter here. */
  settings: z.record(z.string(), z.unknown()).default({}),
});
export type SelectParams = z.output<typeof SelectParams>;

const SelectCursor = z.object({ done: z.boolean() });
type SelectCursor = z.infer<typeof SelectCursor>;

export const selectJob: JobKind<SelectParams, SelectCursor, PipelineQueries> = {
  kind: 'select',
  params: SelectParams,
  cursor: SelectCursor,
  label: () => 'select pairs with the current thresholds',
  async plan(params, ctx): Promise<JobRun<SelectCursor, PipelineQueries>> {
    const settings = resolveSettings(params.settings, 'selection settings');
    let decisions: { generationId: number; decision: ReturnType<typeof decide> }[] = [];
    return {
      async runUnit() {
        const all = await ctx.store.call('generationMetrics');
        decisions = all.map((m) => ({ generationId: Number(m.id), decision: decide(m, settings.selection) }));
        return { cursor: { done: true }, done: all.length, total: all.length, write: null, finished: true };
      },
      finish: async () => ({ method: 'saveDecisions', args: { decisions } }),
      close: async () => undefined,
    };
  },
  discard: () => null,
};
