// The pipeline's API handlers (shared/pipeline/commands.ts), spread into the
// service's handler table: settings, augmentation and selection jobs, pairs
// with their review, statistics and exports, and the composite images the
// image route serves by id. The project's settings patch is
// kept in the meta table so selection, pairs and stats agree.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ApiHandlers } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import type { PIPELINE_COMMANDS, PipelineStats } from '../../../shared/pipeline/commands';
import { resolveSettings } from '../../../shared/pipeline/defaults';
import type { PipelineSettings } from '../../../shared/pipeline/settings';
import { z } from 'zod';
import type { JobQueries } from '../../jobs/queries';
import type { JobRunner } from '../../jobs/runner';
import { parseJsonColumn } from '../../store/json-column';
import type { MetaQueries } from '../../store/queries';
import { readOnlyWhy } from '../../store/read-only';
import type { Store } from '../../store/store';
import { exportPairs } from '../export/export-pairs';
import { COMPOSITE_DIR } from '../jobs/augment-job';
import { modeDisagreement, reselect } from '../select/decide';
import { attentionHistograms, metricHistograms, summarize } from '../stats/histogram';
import { attentionCurves, previewSelection } from '../select/preview';
import type { PipelineQueries } from '../store/queries';

export const SETTINGS_META_KEY = 'pipeline.settings';

type PipelineHandlers = Pick<ApiHandlers, keyof typeof PIPELINE_COMMANDS>;

/** The queries the handlers use: the project's meta (settings) and the pipeline's tables. */
export type PipelineStore = Store<MetaQueries & PipelineQueries>;

export interface PipelineProject {
  dir: string;
  store: PipelineStore;
  runner: Pick<JobRunner<JobQueries>, 'submit'>;
}

/** The project's stored settings patch (defaults fill the rest: resolveSettings). */
export async function settingsPatch(store: PipelineStore): Promise<Record<string, unknown>> {
  const raw = (await store.call('getMeta'))[SETTINGS_META_KEY];
  return raw === undefined
    ? {}
    : parseJsonColumn(z.record(z.string(), z.unknown()), raw, {
        table: 'meta',
        row: SETTINGS_META_KEY,
        column: 'value',
      });
}

/** `patch` over `base`, objects merged key by key. */
export function mergePatch(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    out[k] =
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      typeof b === 'object' &&
      b !== null &&
      !Array.isArray(b)
        ? mergePatch(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** Validates and stores `patch` on top of the project's settings. */
export async function applySettingsPatch(
  store: PipelineStore,
  patch: Record<string, unknown>,
  source: string,
): Promise<{ patch: Record<string, unknown>; settings: PipelineSettings }> {
  const merged = mergePatch(await settingsPatch(store), patch);
  const settings = resolveSettings(merged, source);
  await store.call('setMeta', { values: { [SETTINGS_META_KEY]: JSON.stringify(merged) } });
  return { patch: merged, settings };
}

/** A composite's file name in the cache: content-addressed (composite/cache-file.ts), so no name can leave the folder. */
const COMPOSITE_NAME = /^[0-9a-f]{64}\.png$/;

/**
 * The rendered composite of augmented sample `augmentedId`, for the image
 * route. Only the stored file's name is used, resolved in this project's
 * composites folder: a moved project still serves, and no path reaches disk.
 */
export async function compositeImage(
  p: PipelineProject,
  augmentedId: number,
): Promise<{ path: string; mime: 'image/png' }> {
  const stored = Number.isSafeInteger(augmentedId) ? await p.store.call('compositePath', { augmentedId }) : null;
  const name = stored === null ? '' : path.basename(stored);
  const file = path.join(p.dir, COMPOSITE_DIR, name);
  if (!COMPOSITE_NAME.test(name) || !existsSync(file)) {
    throw new AppError('not-found', `augmented sample ${augmentedId} has no composite image in ${p.dir}`, {
      subject: `composite ${augmentedId}`,
    });
  }
  return { path: file, mime: 'image/png' };
}

function writable(p: PipelineProject): PipelineProject {
  if (p.store.readOnly)
    throw new AppError(
      'conflict',
      `${p.dir} is open read-only (${readOnlyWhy(p.store)}): the pipeline cannot write to it`,
      {
        subject: p.dir,
      },
    );
  return p;
}

export function pipelineHandlers(project: () => PipelineProject): PipelineHandlers {
  const settingsOf = async (store: PipelineStore) =>
    resolveSettings(await settingsPatch(store), `${SETTINGS_META_KEY} in the project`);
  return {
    'pipeline.settings': async () => ({ settings: await settingsOf(project().store) }),
    'pipeline.settings.set': async ({ patch }) => ({
      settings: (await applySettingsPatch(writable(project()).store, patch, 'settings patch')).settings,
    }),
    'pipeline.augment': async ({ seed, count, formats }) => {
      const p = writable(project());
      const patch = await settingsPatch(p.store);
      const job = await p.runner.submit('augment', {
        seed,
        settings: patch,
        ...(count === undefined ? {} : { count }),
        ...(formats === undefined ? {} : { formats }),
      });
      return { jobId: job.id };
    },
    'pipeline.respond': async ({ model, adapter, ...options }) => {
      const p = writable(project());
      const modelDir = path.resolve(model);
      if (!existsSync(modelDir))
        throw new AppError('not-found', `model folder ${modelDir} does not exist`, { subject: model });
      const adapterDir = adapter === undefined ? undefined : path.resolve(adapter);
      if (adapterDir !== undefined && !existsSync(adapterDir))
        throw new AppError('not-found', `adapter folder ${adapterDir} does not exist`, { subject: adapter });
      const job = await p.runner.submit('respond', {
        modelDir,
        ...(adapterDir === undefined ? {} : { adapter: adapterDir }),
        ...options,
        settings: await settingsPatch(p.store),
      });
      return { jobId: job.id };
    },
    'pipeline.select': async ({ patch }) => {
      const p = writable(project());
      const stored =
        patch === undefined
          ? await settingsPatch(p.store)
          : (await applySettingsPatch(p.store, patch, 'selection settings')).patch;
      const job = await p.runner.submit('select', { settings: stored });
      return { jobId: job.id };
    },
    'pipeline.overview': async () => project().store.call('pipelineOverview'),
    'pipeline.augmented': async (request) => project().store.call('augmentedPage', request),
    'pipeline.pairs': async (request) => project().store.call('pairsPage', request),
    'pipeline.pairs.get': async ({ id }) => {
      const detail = await project().store.call('pairDetail', { id });
      if (detail === null)
        throw new AppError('not-found', `there is no pair ${id} in this project`, { subject: `pair ${id}` });
      return detail;
    },
    'pipeline.pairs.review': async ({ id, action, chosen, rejected }) => ({
      changed: await writable(project()).store.call('reviewPair', {
        pairId: id,
        action,
        ...(chosen === undefined ? {} : { chosen }),
        ...(rejected === undefined ? {} : { rejected }),
      }),
    }),
    'pipeline.pairs.reviewMany': async ({ filter, action, dryRun }) =>
      (dryRun ? project() : writable(project())).store.call('reviewMany', { filter, action, dryRun }),
    'pipeline.pairs.undo': async () => ({ op: await writable(project()).store.call('undoReview') }),
    'pipeline.pairs.redo': async () => ({ op: await writable(project()).store.call('redoReview') }),
    'pipeline.pairs.undoState': async () => project().store.call('reviewUndoState'),
    'pipeline.select.preview': async ({ patch, examples }) => {
      const p = project();
      const settings = resolveSettings(mergePatch(await settingsPatch(p.store), patch), 'selection settings');
      const [all, stored] = [await p.store.call('generationMetrics'), await p.store.call('storedDecisions')];
      return previewSelection(all, stored, settings.selection, examples);
    },
    'pipeline.select.curves': async () => {
      const p = project();
      const settings = await settingsOf(p.store);
      const all = await p.store.call('generationMetrics');
      return { total: all.length, curves: attentionCurves(all, settings.selection) };
    },
    'pipeline.stats': async ({ bins }): Promise<PipelineStats> => {
      const p = project();
      const settings = await settingsOf(p.store);
      const all = await p.store.call('generationMetrics');
      const summary = summarize(all, reselect(all, settings.selection));
      return {
        augmented: await p.store.call('augmentedCounts'),
        generations: all.length,
        kept: summary.kept,
        byFormat: summary.byFormat,
        failedBy: summary.failedBy,
        attention: attentionHistograms(all, settings.selection, bins),
        post: metricHistograms(all, settings.selection, bins),
        modeDisagreement: modeDisagreement(all, settings.selection),
      };
    },
    'pipeline.export': async ({ format, out }) => {
      const p = project();
      const pairs = await p.store.call('pairsForExport');
      const dir = path.resolve(p.dir, out);
      const files = await exportPairs(
        pairs.map((v) => ({ ...v, id: `pair-${v.id}` })),
        format,
        dir,
      );
      return { pairs: pairs.length, files };
    },
  };
}
