// The UI's root: asks which project is open, shows the start page or the
// dataset page, and owns the error display every component reports to.
import { useCallback, useEffect, useState } from 'react';
import type { ApiClient, ProjectInfo, WireError } from '../../shared/api';
import { toAppError } from '../../shared/errors';
import { ApiContext, ReportErrorContext } from './api-context';
import { ErrorBanner } from './components/ErrorBanner';
import { DatasetPage } from './pages/DatasetPage';
import { StartPage } from './pages/StartPage';

export function App({ client }: { client: ApiClient }) {
  // undefined: not asked yet; null: no project open.
  const [project, setProject] = useState<ProjectInfo | null | undefined>(undefined);
  const [error, setError] = useState<WireError | undefined>(undefined);

  const report = useCallback((e: unknown) => setError(toAppError(e).toJSON()), []);
  const refresh = useCallback(() => {
    client.invoke('project.info', {}).then((r) => setProject(r.project), report);
  }, [client, report]);
  useEffect(refresh, [refresh]);

  const opened = useCallback((p: ProjectInfo) => {
    setError(undefined);
    setProject(p);
  }, []);
  const close = useCallback(() => {
    client.invoke('project.close', {}).then(() => setProject(null), report);
  }, [client, report]);

  return (
    <ApiContext.Provider value={client}>
      <ReportErrorContext.Provider value={report}>
        {error !== undefined && <ErrorBanner error={error} onDismiss={() => setError(undefined)} />}
        {project === undefined && <p role="status">Connecting…</p>}
        {project === null && <StartPage onOpened={opened} />}
        {project != null && <DatasetPage key={project.dir} project={project} onRefresh={refresh} onClose={close} />}
      </ReportErrorContext.Provider>
    </ApiContext.Provider>
  );
}
