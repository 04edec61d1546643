// The figure commands (shared/pipeline/figures.ts), spread into the service's
// handler table: previews as SVG for the Thresholds and Evaluation pages, and
// `figures.render`, which checks that the figures' data exists (so a missing
// step is named at once) and queues the `figures` job that writes the files.
import type { ApiHandlers } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import { resolveSettings } from '../../../shared/pipeline/defaults';
import type { FIGURE_COMMANDS } from '../../../shared/pipeline/figures';
import type { JobQueries } from '../../jobs/queries';
import type { JobRunner } from '../../jobs/runner';
import { readOnlyWhy } from '../../store/read-only';
import type { Store } from '../../store/store';
import type { MetaQueries } from '../../store/queries';
import { mergePatch, settingsPatch } from '../api/handlers';
import type { EvalQueries } from '../eval/queries';
import type { PipelineQueries } from '../store/queries';
import { attentionRatioFigure, beforeAfterFigure, planBeforeAfter } from './build';
import { specToSvg } from './render';

type FigureHandlers = Pick<ApiHandlers, keyof typeof FIGURE_COMMANDS>;

export interface FiguresProject {
  dir: string;
  store: Store<MetaQueries & PipelineQueries & EvalQueries & Pick<JobQueries, 'getJob'>>;
  runner: Pick<JobRunner<JobQueries>, 'submit'>;
}

export function figureHandlers(project: () => FiguresProject): FigureHandlers {
  const settingsWith = async (p: FiguresProject, patch: Record<string, unknown>) => {
    const merged = mergePatch(await settingsPatch(p.store), patch);
    return { merged, settings: resolveSettings(merged, 'figure settings') };
  };
  return {
    'figures.attentionRatios': async ({ patch }) => {
      const p = project();
      const figure = await attentionRatioFigure(p, (await settingsWith(p, patch)).settings);
      return { svg: await specToSvg(figure.spec), answers: figure.answers };
    },
    'figures.beforeAfter': async (choice) => {
      const figure = await beforeAfterFigure(project(), choice);
      return { svg: await specToSvg(figure.spec), item: figure.item, runs: figure.runs, diff: figure.diff };
    },
    'figures.render': async ({ figures, patch, item, runs }) => {
      const p = project();
      if (p.store.readOnly)
        throw new AppError(
          'conflict',
          `${p.dir} is open read-only (${readOnlyWhy(p.store)}): figures cannot be written`,
          {
            subject: p.dir,
          },
        );
      const { merged, settings } = await settingsWith(p, patch ?? {});
      if (figures.includes('attention-ratios')) await attentionRatioFigure(p, settings);
      let chosen: { item?: number; runs?: [number, number] } = {};
      if (figures.includes('attention-before-after')) {
        const plan = await planBeforeAfter(p, {
          ...(item === undefined ? {} : { item }),
          ...(runs === undefined ? {} : { runs }),
        }).catch((e: unknown) => {
          if (!(e instanceof AppError) || e.kind !== 'not-found' || figures.length === 1) throw e;
          throw new AppError('not-found', `${e.message}; Figure 5 alone: mia-dpo figures ${p.dir} --figure 5`, {
            subject: p.dir,
            cause: e,
          });
        });
        chosen = { item: plan.a.itemId, runs: [plan.before.id, plan.after.id] };
      }
      const job = await p.runner.submit('figures', { figures, settings: merged, ...chosen });
      return { jobId: job.id };
    },
  };
}
