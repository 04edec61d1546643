// Every TanStack Query key of the UI, defined once. Keys are arrays so a
// prefix names a family: invalidating `queryKeys.samples` refetches every
// page and detail of samples. Everything under `openProject` belongs to the
// project that is open and is dropped when another one opens or it closes.
import type { SampleFilter } from '../../../shared/api';
import type { PairFilter, PairSort } from '../../../shared/pipeline/commands';

const OPEN = 'open-project';

export const queryKeys = {
  /** The open project (or null), with its counts. */
  projectInfo: ['project-info'] as const,
  recentProjects: ['recent-projects'] as const,

  openProject: [OPEN] as const,
  samples: [OPEN, 'samples'] as const,
  samplePage: (filter: SampleFilter, page: number) => [OPEN, 'samples', 'page', filter, page] as const,
  sample: (id: number) => [OPEN, 'samples', 'detail', id] as const,
  sources: [OPEN, 'sources'] as const,
  problems: [OPEN, 'problems'] as const,
  problemPage: (offset: number, limit: number) => [OPEN, 'problems', { offset, limit }] as const,
  /** Pairs pages and details, the review undo state: everything a review or a selection run changes. */
  pairs: [OPEN, 'pairs'] as const,
  pairPage: (filter: PairFilter, sort: PairSort, page: number) => [OPEN, 'pairs', 'page', filter, sort, page] as const,
  pairDetail: (id: number) => [OPEN, 'pairs', 'detail', id] as const,
  reviewUndo: [OPEN, 'pairs', 'undo'] as const,
  /** What the Thresholds page reads: stats, attention curves, settings. */
  selection: [OPEN, 'selection'] as const,
  pipelineStats: (bins: number) => [OPEN, 'selection', 'stats', bins] as const,
  selectCurves: [OPEN, 'selection', 'curves'] as const,
  pipelineSettings: [OPEN, 'selection', 'settings'] as const,
  jobs: [OPEN, 'jobs'] as const,
  jobList: [OPEN, 'jobs', 'list'] as const,
  job: (id: number) => [OPEN, 'jobs', 'detail', id] as const,
};
