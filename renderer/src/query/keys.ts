// Every TanStack Query key of the UI, defined once. Keys are arrays so a
// prefix names a family: invalidating `queryKeys.samples` refetches every
// page and detail of samples. Everything under `openProject` belongs to the
// project that is open and is dropped when another one opens or it closes.
import type { SampleFilter } from '../../../shared/api';
import type { Format } from '../../../shared/pipeline/formats';
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
  /** What the Thresholds page reads: stats, attention curves, the pipeline settings (augment and select). */
  selection: [OPEN, 'selection'] as const,
  pipelineStats: (bins: number) => [OPEN, 'selection', 'stats', bins] as const,
  selectCurves: [OPEN, 'selection', 'curves'] as const,
  /** Figure 5 under a draft's settings patch (under selection: a selection or a settings change redraws it). */
  figureRatios: (patch: object) => [OPEN, 'selection', 'figure5', patch] as const,
  pipelineSettings: [OPEN, 'selection', 'settings'] as const,
  jobs: [OPEN, 'jobs'] as const,
  jobList: [OPEN, 'jobs', 'list'] as const,
  job: (id: number) => [OPEN, 'jobs', 'detail', id] as const,
  /** What each pipeline stage has made (counts). */
  pipelineOverview: [OPEN, 'pipeline', 'overview'] as const,
  augmented: [OPEN, 'pipeline', 'augmented'] as const,
  augmentedPage: (format: Format | undefined, offset: number, limit: number) =>
    [OPEN, 'pipeline', 'augmented', format ?? 'all', { offset, limit }] as const,
  train: [OPEN, 'train'] as const,
  trainRuns: [OPEN, 'train', 'runs'] as const,
  trainMetrics: (runId: number) => [OPEN, 'train', 'metrics', runId] as const,
  trainCheckpoints: (runId: number) => [OPEN, 'train', 'checkpoints', runId] as const,
  eval: [OPEN, 'eval'] as const,
  benchmarks: [OPEN, 'eval', 'benchmarks'] as const,
  evalRuns: [OPEN, 'eval', 'runs'] as const,
  evalTable: (baseline: string | undefined) => [OPEN, 'eval', 'table', baseline ?? ''] as const,
  evalCompare: (a: number, b: number) => [OPEN, 'eval', 'compare', a, b] as const,
  evalSide: (a: number, b: number, filter: object, offset: number) =>
    [OPEN, 'eval', 'side', a, b, filter, offset] as const,
  /** Figure 6 of an item and two runs, with the attention maps and their difference. */
  evalAttention: (a: number, b: number, itemId: number) => [OPEN, 'eval', 'attention', a, b, itemId] as const,
  /** A model folder's inspection: about the folder, not the project. */
  modelInspection: (dir: string) => ['model-inspection', dir] as const,
};
