// The pages of an open project in navigation order: the router makes a route
// of each and the project's navigation a link to each. A new page is one
// entry here. The first is where opening a project lands.
import type { ReactElement } from 'react';
import { DatasetPage } from './DatasetPage';
import { EvaluationPage } from './EvaluationPage';
import { PairsPage } from './PairsPage';
import { ThresholdsPage } from './ThresholdsPage';
import { PipelinePage } from './PipelinePage';
import { TrainingPage } from './TrainingPage';

export interface ProjectPage {
  /** Path under the root, e.g. 'dataset'. */
  path: string;
  /** The link's name in the navigation. */
  label: string;
  element: ReactElement;
}

export const PROJECT_PAGES: readonly ProjectPage[] = [
  { path: 'dataset', label: 'Dataset', element: <DatasetPage /> },
  { path: 'pipeline', label: 'Pipeline', element: <PipelinePage /> },
  { path: 'pairs', label: 'Pairs', element: <PairsPage /> },
  { path: 'thresholds', label: 'Thresholds', element: <ThresholdsPage /> },
  { path: 'training', label: 'Training', element: <TrainingPage /> },
  { path: 'evaluation', label: 'Evaluation', element: <EvaluationPage /> },
];

export const HOME_PATH = `/${PROJECT_PAGES[0]!.path}`;
