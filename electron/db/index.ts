// The composition root of the project database: binds the generic store
// (electron/store) to the tables the layers own (./project.schema). The
// service, the CLI and tests open projects through here.
import {
  createProject as createWith,
  createProjectExclusive as createExclusiveWith,
  openProject as openWith,
  openProjectExclusive as openExclusiveWith,
  openProjectReadOnly as openReadOnlyWith,
} from '../store/project';
import type { Store, StoreSchema } from '../store/store';
import type { ProjectQueries } from './project.schema';

export type { ProjectQueries };
export type ProjectStore = Store<ProjectQueries>;

/** The module the store worker loads (in a build, its own entry beside main.js: build/worker-entries.ts). */
export const PROJECT_SCHEMA: StoreSchema<ProjectQueries> = { url: new URL('./project.schema.ts', import.meta.url) };

export const createProject = (dir: string, name?: string): Promise<ProjectStore> =>
  createWith(PROJECT_SCHEMA, dir, name);
export const openProject = (dir: string): Promise<ProjectStore> => openWith(PROJECT_SCHEMA, dir);
/** Opens a project for work (jobs run and resume there): one process at a time. */
export const openProjectExclusive = (dir: string): Promise<ProjectStore> => openExclusiveWith(PROJECT_SCHEMA, dir);
/** Reads beside the process that holds the project: no lock, no migration, writes refused. */
export const openProjectReadOnly = (dir: string): Promise<ProjectStore> => openReadOnlyWith(PROJECT_SCHEMA, dir);
export const createProjectExclusive = (dir: string, name?: string): Promise<ProjectStore> =>
  createExclusiveWith(PROJECT_SCHEMA, dir, name);
