// The engine side of the API: one implementation of ApiHandlers shared by
// Electron IPC, the local web server and the CLI. Holds the open project
// (its store worker and job runner) and fans events out to listeners.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  THUMBNAIL_SIZES,
  parseJob,
  type ApiEvent,
  type ApiHandlers,
  type EventListener,
  type ImportSource,
  type ProjectInfo,
} from '../../shared/api';
import { AppError } from '../../shared/errors';
import { inspectModel } from '../engine/models/inspect';
import { sourceFingerprint } from '../io/source-hash';
import { makeThumbnail } from '../io/thumbnail';
import { JobRunner } from '../jobs/runner';
import { filesWritable } from '../store/database';
import { projectDbPath } from '../store/project';
import { readOnlyWhy } from '../store/read-only';
import { compositeImage, pipelineHandlers } from '../pipeline/api/handlers';
import { seenImage } from '../pipeline/api/seen-image';
import { evalHandlers } from '../pipeline/eval/handlers';
import { figureHandlers } from '../pipeline/figures/handlers';
import { trainHandlers } from '../pipeline/api/train-handlers';
import {
  createProjectExclusive,
  openProjectExclusive,
  openProjectReadOnly,
  type ProjectQueries,
  type ProjectStore,
} from '../db';
import { JOB_KINDS } from './job-kinds';
import { RecentProjects, defaultConfigDir } from './recent';
import type { CompositeImage, SeenImageFile, Service, ServiceOptions, Thumbnail } from './types';

interface OpenProject {
  dir: string;
  store: ProjectStore;
  runner: JobRunner<ProjectQueries>;
}

function checkSource(source: ImportSource): void {
  const paths = source.kind === 'llava' ? [source.file, source.imagesRoot] : [source.root];
  for (const p of paths) {
    if (!existsSync(p)) throw new AppError('not-found', `${path.resolve(p)} does not exist`, { subject: p });
  }
}

export async function createService(options: ServiceOptions = {}): Promise<Service> {
  const listeners = new Set<EventListener>();
  const emit = (event: ApiEvent) => {
    for (const l of listeners) {
      try {
        l(event);
      } catch {
        // A failing listener (a closed socket) must not stop the job that emitted.
      }
    }
  };
  const recent = new RecentProjects(options.configDir ?? defaultConfigDir());
  let project: OpenProject | null = null;

  const required = (): OpenProject => {
    if (project === null) throw new AppError('conflict', 'no project is open: create or open a project first');
    return project;
  };

  const infoOf = async (p: OpenProject): Promise<ProjectInfo> => {
    // A damaged (read-only) project may fail even these reads: show what can be read.
    const tolerant = <T>(read: Promise<T>, fallback: T): Promise<T> =>
      p.store.readOnly ? read.catch(() => fallback) : read;
    const meta = await tolerant(p.store.call('getMeta'), {} as Record<string, string>);
    const counts = await tolerant(p.store.call('projectCounts'), { sampleCount: 0, imageCount: 0, problemCount: 0 });
    return {
      dir: p.dir,
      name: meta.name ?? path.basename(p.dir),
      createdAt: Number(meta.createdAt ?? 0),
      schemaVersion: p.store.version,
      readOnly: p.store.readOnly,
      ...counts,
    };
  };

  const closeProject = async (): Promise<boolean> => {
    if (project === null) return false;
    const p = project;
    project = null;
    await p.runner.close();
    await p.store.close();
    return true;
  };

  const attach = async (
    dir: string,
    store: ProjectStore,
    options: { recent: boolean } = { recent: true },
  ): Promise<ProjectInfo> => {
    const runner = new JobRunner(store, JOB_KINDS, emit);
    project = { dir, store, runner };
    // A read-only project (damaged, or read beside its holder) shows its data but runs nothing.
    if (!store.readOnly) await runner.start();
    const info = await infoOf(project);
    if (options.recent) await recent.add({ dir, name: info.name, openedAt: Date.now() });
    if (store.damage)
      emit({
        type: 'log',
        level: 'error',
        message: `${store.file} failed its integrity check and is open read-only: ${store.damage}`,
        jobId: null,
        at: Date.now(),
      });
    return info;
  };

  /**
   * Opens the next project before closing the current one, so a failed open (a missing
   * folder, a held lock) leaves the open project open. Reopening the same folder has to
   * release its lock first.
   */
  const replaceWith = async (abs: string, open: () => Promise<ProjectStore>): Promise<ProjectInfo> => {
    if (project?.dir === abs) await closeProject();
    const store = await open();
    await closeProject();
    return attach(abs, store);
  };

  const handlers: ApiHandlers = {
    'project.create': async ({ dir, name }) => {
      const abs = path.resolve(dir);
      return replaceWith(abs, () => createProjectExclusive(abs, name));
    },
    'project.open': async ({ dir }) => {
      const abs = path.resolve(dir);
      // A project this process may not write opens read-only, without the lock it could not take (decision 0201).
      const db = projectDbPath(abs);
      if (existsSync(db) && !filesWritable(db)) return replaceWith(abs, () => openProjectReadOnly(abs));
      return replaceWith(abs, () => openProjectExclusive(abs));
    },
    'project.close': async () => ({ closed: await closeProject() }),
    'project.recent': async () => ({ projects: await recent.listChecked() }),
    'project.recent.remove': async ({ dir }) => ({ removed: await recent.remove(dir) }),
    'project.info': async () => ({ project: project === null ? null : await infoOf(project) }),

    'dataset.import': async ({ source, abortOnProblem, again }) => {
      const p = required();
      if (p.store.readOnly)
        throw new AppError(
          'conflict',
          `${p.dir} is open read-only (${readOnlyWhy(p.store)}): importing is not possible`,
          {
            subject: p.dir,
          },
        );
      checkSource(source);
      // An import of this source that a crash interrupted (it resumed when the project opened) is finished, not doubled.
      const same = await p.runner.unfinished('import', (q) =>
        isDeepStrictEqual((q as { source?: unknown }).source, source),
      );
      if (same !== null) return { jobId: same.id };
      const { path: where, contentHash } = await sourceFingerprint(source);
      const earlier =
        contentHash === null ? null : await p.store.call('findEarlierImport', { path: where, contentHash });
      if (earlier !== null && again !== true)
        throw new AppError(
          'conflict',
          `${where} was already imported, with the same content, by job ${earlier.jobId} on ${new Date(earlier.importedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC (${earlier.samples} samples); import it again with --again (API: again: true)`,
          { subject: where },
        );
      const job = await p.runner.submit('import', { source, abortOnProblem, contentHash });
      return { jobId: job.id };
    },

    'jobs.list': async () => ({ jobs: (await required().runner.list()).map(parseJob) }),
    'jobs.get': async ({ id }) => parseJob(await required().runner.get(id)),
    'jobs.cancel': async ({ id }) => parseJob(await required().runner.act(id, 'cancel')),
    'jobs.pause': async ({ id }) => parseJob(await required().runner.act(id, 'pause')),
    'jobs.resume': async ({ id }) => parseJob(await required().runner.act(id, 'resume')),

    'samples.page': async (request) => required().store.call('samplesPage', request),
    'samples.get': async ({ id }) => {
      const sample = await required().store.call('sampleDetail', { id });
      if (sample === null)
        throw new AppError('not-found', `there is no sample ${id} in this project`, { subject: `sample ${id}` });
      return sample;
    },
    'sources.list': async () => ({ sources: await required().store.call('listSources') }),
    'problems.list': async (request) => required().store.call('listProblems', request),

    'model.inspect': async ({ dir }) => inspectModel(path.resolve(dir)),

    ...pipelineHandlers(required),
    ...evalHandlers(required),
    ...trainHandlers(required),
    ...figureHandlers(required),
  };

  if (options.projectDir !== undefined) await handlers['project.open']({ dir: options.projectDir });

  return {
    handlers,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async getThumbnail(imageId: number, size: number): Promise<Thumbnail> {
      if (!(THUMBNAIL_SIZES as readonly number[]).includes(size)) {
        throw new AppError('bad-input', `thumbnail size ${size} is not one of ${THUMBNAIL_SIZES.join(', ')}`, {
          subject: String(size),
        });
      }
      const p = required();
      const image = Number.isSafeInteger(imageId) ? await p.store.call('getImage', { id: imageId }) : null;
      if (image === null)
        throw new AppError('not-found', `image ${imageId} is not part of this project`, {
          subject: `image ${imageId}`,
        });
      return makeThumbnail(image, size, path.join(p.dir, 'cache'));
    },
    getComposite: async (augmentedId: number): Promise<CompositeImage> => compositeImage(required(), augmentedId),
    getSeen: async (generationId: number, index: number): Promise<SeenImageFile> =>
      seenImage(required(), generationId, index),
    async openReadOnly(dir: string): Promise<ProjectInfo> {
      await closeProject();
      const abs = path.resolve(dir);
      return attach(abs, await openProjectReadOnly(abs), { recent: false });
    },
    async close() {
      await closeProject();
      listeners.clear();
    },
  };
}
