// The store's own queries: project meta and the dataset view over the
// foundation tables (migrations 001-003). Other layers keep theirs beside
// their code; electron/db assembles the project's table from all of them.
import type { QueryTable } from '../table';
import {
  getImage,
  getMeta,
  listProblems,
  listSources,
  projectCounts,
  sampleDetail,
  samplesPage,
  setMeta,
} from './browse';

/** What every project has: its meta (name, settings); store/project.ts writes the name on creation. */
export const META_QUERIES = { getMeta, setMeta } satisfies QueryTable;
export type MetaQueries = typeof META_QUERIES;

export const STORE_QUERIES = {
  ...META_QUERIES,
  projectCounts,
  samplesPage,
  sampleDetail,
  listSources,
  listProblems,
  getImage,
} satisfies QueryTable;
export type StoreQueries = typeof STORE_QUERIES;
