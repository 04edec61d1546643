// The project database's schema: the query table and the migrations of every
// layer that owns tables, assembled once. The store worker imports this module
// by URL (PROJECT_SCHEMA in ./index); the rest of the app imports its types only.
import { IMPORT_QUERIES } from '../io/import-queries';
import { JOB_QUERIES } from '../jobs/queries';
import { EVAL_QUERIES } from '../pipeline/eval/queries';
import { FIGURE_QUERIES } from '../pipeline/figures/queries';
import { PIPELINE_MIGRATIONS } from '../pipeline/store/migrations';
import { PIPELINE_QUERIES } from '../pipeline/store/queries';
import { RESPOND_QUERIES } from '../pipeline/respond/queries';
import { TRAIN_QUERIES } from '../pipeline/train/queries';
import { FOUNDATION_MIGRATIONS, type Migration } from '../store/migrations';
import { STORE_QUERIES } from '../store/queries';
import type { QueryTable } from '../store/table';

export const QUERIES = {
  ...STORE_QUERIES,
  ...JOB_QUERIES,
  ...IMPORT_QUERIES,
  ...PIPELINE_QUERIES,
  ...RESPOND_QUERIES,
  ...EVAL_QUERIES,
  ...TRAIN_QUERIES,
  ...FIGURE_QUERIES,
} satisfies QueryTable;
export type ProjectQueries = typeof QUERIES;

/** In version order: the foundation's (1-99), then the pipeline's (100-). */
export const MIGRATIONS: readonly Migration[] = [...FOUNDATION_MIGRATIONS, ...PIPELINE_MIGRATIONS];
