// A project is a folder: project.sqlite, cache/ (thumbnails, features),
// runs/ (checkpoints) and exports/. Creating one lays out the folder and
// writes its name; opening one checks the folder is a project. The schema
// (query table and migrations) comes from the caller: electron/db binds it.
import { existsSync, mkdirSync, readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import { lockProject } from './lock';
import type { MetaQueries } from './queries';
import { openStore, type Store, type StoreSchema } from './store';
import type { QueryTable } from './table';

/** A project's tables: any, as long as they include the project meta. */
type ProjectTable = MetaQueries & QueryTable;

export const PROJECT_DB = 'project.sqlite';
export const PROJECT_FOLDERS = ['cache', 'runs', 'exports'] as const;

/**
 * An empty folder, or one holding only the empty project folders: what a creation
 * killed before its database existed left behind (versions that made the folders first).
 */
function isEmptyOrUnfinishedLayout(abs: string): boolean {
  if (!statSync(abs).isDirectory()) return false;
  return readdirSync(abs, { withFileTypes: true }).every(
    (e) =>
      e.isDirectory() &&
      (PROJECT_FOLDERS as readonly string[]).includes(e.name) &&
      readdirSync(path.join(abs, e.name)).length === 0,
  );
}

export function projectDbPath(dir: string): string {
  return path.join(dir, PROJECT_DB);
}

/** The 'not-found' error for a folder that is no project; one holding a project in a subfolder names it (the demo's old layout). */
export function notAProject(abs: string): AppError {
  let entries: Dirent[] = [];
  try {
    entries = readdirSync(abs, { withFileTypes: true });
  } catch {
    // A missing or unreadable folder: no subfolder to suggest.
  }
  const inside = entries
    .filter((e) => e.isDirectory() && existsSync(projectDbPath(path.join(abs, e.name))))
    .map((e) => path.join(abs, e.name));
  const hint = inside.length === 0 ? '' : `; did you mean ${inside.join(' or ')}?`;
  return new AppError('not-found', `${abs} is not a MIA-DPO Studio project (no ${PROJECT_DB})${hint}`, {
    subject: abs,
  });
}

export async function createProject<Q extends ProjectTable>(
  schema: StoreSchema<Q>,
  dir: string,
  name?: string,
): Promise<Store<Q>> {
  const abs = path.resolve(dir);
  if (existsSync(projectDbPath(abs))) throw new AppError('conflict', `${abs} is already a project`, { subject: abs });
  if (existsSync(abs) && !isEmptyOrUnfinishedLayout(abs)) {
    throw new AppError(
      'conflict',
      `${abs} exists and is not an empty folder; choose a new or empty folder for the project`,
      { subject: abs },
    );
  }
  // The database first, the folders after: a kill in between leaves a project that opens (openProject makes the
  // folders), never a folder that is neither empty nor a project.
  mkdirSync(abs, { recursive: true });
  const store = await openStore(projectDbPath(abs), { schema, create: true });
  for (const f of PROJECT_FOLDERS) mkdirSync(path.join(abs, f), { recursive: true });
  const meta: Store<MetaQueries> = store;
  await meta.call('setMeta', { values: { name: name ?? path.basename(abs), createdAt: String(Date.now()) } });
  return store;
}

export async function openProject<Q extends ProjectTable>(schema: StoreSchema<Q>, dir: string): Promise<Store<Q>> {
  const abs = path.resolve(dir);
  if (!existsSync(projectDbPath(abs))) throw notAProject(abs);
  const store = await openStore(projectDbPath(abs), { schema });
  if (!store.readOnly) for (const f of PROJECT_FOLDERS) mkdirSync(path.join(abs, f), { recursive: true });
  return store;
}

/** The store with the project lock released after it closes (see ./lock). */
function releasingOnClose<Q extends QueryTable>(store: Store<Q>, release: () => void): Store<Q> {
  return {
    ...store,
    close: async () => {
      try {
        await store.close();
      } finally {
        release();
      }
    },
  };
}

/** Opens a project for work (jobs run and resume there): one process at a time. */
export async function openProjectExclusive<Q extends ProjectTable>(
  schema: StoreSchema<Q>,
  dir: string,
): Promise<Store<Q>> {
  const abs = path.resolve(dir);
  if (!existsSync(projectDbPath(abs))) throw notAProject(abs);
  const release = lockProject(abs);
  try {
    return releasingOnClose(await openProject(schema, abs), release);
  } catch (e) {
    release();
    throw e;
  }
}

/**
 * Opens a project to read while another process (serve, the app, a job command)
 * holds it: no lock, no migration, no folder created; every write is refused.
 */
export async function openProjectReadOnly<Q extends ProjectTable>(
  schema: StoreSchema<Q>,
  dir: string,
): Promise<Store<Q>> {
  const abs = path.resolve(dir);
  if (!existsSync(projectDbPath(abs))) throw notAProject(abs);
  return openStore(projectDbPath(abs), { schema, readOnly: true });
}

/** Creates a project and holds its lock like openProjectExclusive. */
export async function createProjectExclusive<Q extends ProjectTable>(
  schema: StoreSchema<Q>,
  dir: string,
  name?: string,
): Promise<Store<Q>> {
  const store = await createProject(schema, dir, name);
  let release: () => void;
  try {
    release = lockProject(path.resolve(dir));
  } catch (e) {
    await store.close();
    throw e;
  }
  return releasingOnClose(store, release);
}
