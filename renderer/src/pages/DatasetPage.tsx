// The dataset page: the sample grid with its filters and detail panel, the
// problems list and the jobs view as tabs, and the import dialog. Tab,
// filter and open sample live in the URL (lib/dataset-view.ts), so a link
// or a reload restores the view; the grid's keyboard selection does not.
import { useCallback, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import type { SampleFilter, SampleSummary } from '../../../shared/api';
import { importCountsLine } from '../../../shared/api';
import { AugmentedList } from '../components/AugmentedList';
import { DetailPanel } from '../components/DetailPanel';
import { Filters } from '../components/Filters';
import { ImportDialog } from '../components/ImportDialog';
import { JobsView } from '../components/JobsView';
import { NextStep } from '../components/NextStep';
import { ProblemsList } from '../components/ProblemsList';
import { GridStatus, SampleGrid } from '../components/SampleGrid';
import { useSamplePages } from '../hooks/useSamplePages';
import { datasetViewParams, readDatasetView, type DatasetTab, type DatasetView } from '../lib/dataset-view';
import { useLatestJob, usePipelineOverview, useProjectInfo } from '../query/queries';

const TABS: { tab: DatasetTab; label: string }[] = [
  { tab: 'samples', label: 'Samples' },
  { tab: 'augmented', label: 'Augmented' },
  { tab: 'problems', label: 'Problems' },
  { tab: 'jobs', label: 'Jobs' },
];

/** The grid of samples for `filter`; owns the paged data so scrolling re-renders only this part of the page. */
function SamplesView({
  filter,
  onFilter,
  onOpen,
}: {
  filter: SampleFilter;
  onFilter(f: SampleFilter): void;
  onOpen(sample: SampleSummary): void;
}) {
  const pages = useSamplePages(filter);
  const [selected, setSelected] = useState(-1);
  const changeFilter = useCallback(
    (f: SampleFilter) => {
      onFilter(f);
      setSelected(-1);
    },
    [onFilter],
  );
  return (
    <>
      <div className="samples-bar">
        <Filters filter={filter} onChange={changeFilter} />
        <GridStatus total={pages.total} selected={selected} />
      </div>
      <SampleGrid pages={pages} selected={selected} onSelect={setSelected} onOpen={onOpen} />
    </>
  );
}

export function DatasetPage() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => readDatasetView(params), [params]);
  const readOnly = useProjectInfo().data?.project?.readOnly ?? true;
  const [importing, setImporting] = useState(false);
  const overview = usePipelineOverview().data;
  const lastImport = useLatestJob('import');
  const report =
    lastImport?.state === 'done' && lastImport.result !== null ? importCountsLine(lastImport.result) : null;

  // A functional update: several changes in one event must not undo each other. Applied synchronously
  // (flushSync): the checkbox and select show the URL's value, and a deferred update would flip them back for a frame.
  const update = useCallback(
    (change: Partial<DatasetView>, replace = false) =>
      setParams((p) => datasetViewParams({ ...readDatasetView(p), ...change }), { replace, flushSync: true }),
    [setParams],
  );
  const changeFilter = useCallback((filter: SampleFilter) => update({ filter }, true), [update]);
  const openSample = useCallback((sample: number) => update({ sample }), [update]);
  const open = useCallback((s: SampleSummary) => openSample(s.id), [openSample]);
  const closeDetail = useCallback(() => {
    update({ sample: undefined }, true);
    document.querySelector<HTMLElement>('[role="grid"]')?.focus();
  }, [update]);
  const closeImport = useCallback(() => setImporting(false), []);

  const detail = view.sample !== undefined && <DetailPanel sampleId={view.sample} onClose={closeDetail} />;
  return (
    <div className="dataset">
      <div className="dataset-bar">
        <div role="tablist" aria-label="Views" className="tabs">
          {TABS.map(({ tab, label }) => (
            <button key={tab} role="tab" type="button" aria-selected={view.tab === tab} onClick={() => update({ tab })}>
              {label}
            </button>
          ))}
        </div>
        <button
          type="button"
          className="primary"
          disabled={readOnly}
          onClick={() => {
            update({ sample: undefined }, true);
            setImporting(true);
          }}
        >
          Import dataset…
        </button>
      </div>
      {(report !== null || overview !== undefined) && (
        <div className="dataset-notes">
          {report !== null && (
            <p aria-label="Last import">
              Last import: {report}
              {lastImport?.result?.problemEntries ? ' (see Problems)' : ''}
            </p>
          )}
          {overview !== undefined && <NextStep overview={overview} />}
        </div>
      )}
      {view.tab === 'samples' && (
        <div className="samples" role="tabpanel" aria-label="Samples view">
          <div className="samples-main">
            <div className="samples-grid">
              <SamplesView filter={view.filter} onFilter={changeFilter} onOpen={open} />
            </div>
            {detail}
          </div>
        </div>
      )}
      {view.tab === 'augmented' && (
        <div role="tabpanel" aria-label="Augmented view" className="panel">
          <AugmentedList />
        </div>
      )}
      {view.tab === 'problems' && (
        <div role="tabpanel" aria-label="Problems view" className="panel">
          <ProblemsList onOpenSample={openSample} />
          {detail}
        </div>
      )}
      {view.tab === 'jobs' && (
        <div role="tabpanel" aria-label="Jobs view" className="panel">
          <JobsView />
        </div>
      )}
      {importing && <ImportDialog onClose={closeImport} />}
    </div>
  );
}
