// The job kinds this version can run. A later issue adds its kind here
// (augment, respond, select, eval, train, model-merge); the runner refuses unknown kinds.
import type { ProjectQueries } from '../db';
import type { AnyJobKind } from '../jobs/kind';
import { importJob } from '../io/import-job';
import { augmentJob } from '../pipeline/jobs/augment-job';
import { evalJob } from '../pipeline/eval/eval-job';
import { figuresJob } from '../pipeline/figures/figures-job';
import { modelMergeJob } from '../pipeline/jobs/merge-job';
import { respondJob } from '../pipeline/jobs/respond-job';
import { selectJob } from '../pipeline/jobs/select-job';
import { trainJob, trainReferenceJob } from '../pipeline/jobs/train-job';

export const JOB_KINDS: readonly AnyJobKind<ProjectQueries>[] = [
  importJob,
  augmentJob,
  respondJob,
  selectJob,
  trainReferenceJob,
  trainJob,
  evalJob,
  modelMergeJob,
  figuresJob,
];
