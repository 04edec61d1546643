// The open project: the sample grid with its filters and detail panel, the
// problems list and the jobs view as tabs, and the import dialog.
import { useCallback, useState } from 'react';
import type { ProjectInfo, SampleFilter, SampleSummary } from '../../../shared/api';
import { DetailPanel } from '../components/DetailPanel';
import { Filters } from '../components/Filters';
import { ImportDialog } from '../components/ImportDialog';
import { JobsView } from '../components/JobsView';
import { ProblemsList } from '../components/ProblemsList';
import { GridStatus, SampleGrid } from '../components/SampleGrid';
import { useApiEvents } from '../hooks/useApiEvents';
import { useSamplePages } from '../hooks/useSamplePages';
import { formatCount } from '../lib/format';

const TABS = ['Samples', 'Problems', 'Jobs'] as const;
type Tab = (typeof TABS)[number];

interface Props {
  project: ProjectInfo;
  onRefresh(): void;
  onClose(): void;
}

export function DatasetPage({ project, onRefresh, onClose }: Props) {
  const [tab, setTab] = useState<Tab>('Samples');
  const [filter, setFilter] = useState<SampleFilter>({});
  const [selected, setSelected] = useState(-1);
  const [openSample, setOpenSample] = useState<number | undefined>(undefined);
  const [importing, setImporting] = useState(false);
  // Bumped when a job finishes: grid, sources and problems read the new data.
  const [dataVersion, setDataVersion] = useState(0);
  const pages = useSamplePages(filter, dataVersion);

  useApiEvents((e) => {
    if (e.type === 'job.state' && e.state === 'done') {
      setDataVersion((v) => v + 1);
      onRefresh();
    }
  });

  const changeFilter = useCallback((f: SampleFilter) => {
    setFilter(f);
    setSelected(-1);
  }, []);
  const closeDetail = useCallback(() => {
    setOpenSample(undefined);
    document.querySelector<HTMLElement>('[role="grid"]')?.focus();
  }, []);
  const closeImport = useCallback(() => setImporting(false), []);
  const open = useCallback((s: SampleSummary) => setOpenSample(s.id), []);

  return (
    <div className="dataset">
      <header className="topbar">
        <h1 title={project.dir}>{project.name}</h1>
        <span className="muted">
          {formatCount(project.sampleCount)} samples · {formatCount(project.imageCount)} images · {formatCount(project.problemCount)} problems
          {project.readOnly ? ' · read-only (damaged database)' : ''}
        </span>
        <div className="topbar-actions">
          <button
            type="button"
            disabled={project.readOnly}
            onClick={() => {
              setOpenSample(undefined);
              setImporting(true);
            }}
          >
            Import dataset…
          </button>
          <button type="button" onClick={onClose}>
            Close project
          </button>
        </div>
      </header>
      <div role="tablist" aria-label="Views" className="tabs">
        {TABS.map((t) => (
          <button key={t} role="tab" type="button" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </div>
      {tab === 'Samples' && (
        <div className="samples" role="tabpanel" aria-label="Samples view">
          <div className="samples-bar">
            <Filters filter={filter} dataVersion={dataVersion} onChange={changeFilter} />
            <GridStatus total={pages.total} selected={selected} />
          </div>
          <div className="samples-main">
            <SampleGrid pages={pages} selected={selected} onSelect={setSelected} onOpen={open} />
            {openSample !== undefined && <DetailPanel sampleId={openSample} onClose={closeDetail} />}
          </div>
        </div>
      )}
      {tab === 'Problems' && (
        <div role="tabpanel" aria-label="Problems view" className="panel">
          <ProblemsList dataVersion={dataVersion} onOpenSample={setOpenSample} />
          {openSample !== undefined && <DetailPanel sampleId={openSample} onClose={closeDetail} />}
        </div>
      )}
      {tab === 'Jobs' && (
        <div role="tabpanel" aria-label="Jobs view" className="panel">
          <JobsView />
        </div>
      )}
      {importing && <ImportDialog onClose={closeImport} />}
    </div>
  );
}
