// The UI's root: the API client, the one QueryClient (kept current by API
// events), the app-wide error display that every failed query or command
// reports to, and the router that shows the start page or a project's pages.
import { QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
// The DOM build of RouterProvider: it can apply a navigation synchronously (flushSync), which controlled inputs bound to the URL need.
import { RouterProvider } from 'react-router/dom';
import type { ApiClient, WireError } from '../../shared/api';
import { toAppError } from '../../shared/errors';
import { ApiContext } from './api-context';
import { ErrorBanner } from './components/ErrorBanner';
import { createQueryClient } from './query/client';
import { useApiEventsInCache } from './query/events';
import { createAppRouter } from './routes';

function EventsInCache() {
  useApiEventsInCache();
  return null;
}

export function App({ client }: { client: ApiClient }) {
  const [error, setError] = useState<WireError | undefined>(undefined);
  const [queryClient] = useState(() =>
    createQueryClient({ report: (e) => setError(toAppError(e).toJSON()), clear: () => setError(undefined) }),
  );
  const [router] = useState(createAppRouter);

  return (
    <ApiContext.Provider value={client}>
      <QueryClientProvider client={queryClient}>
        <EventsInCache />
        {error !== undefined && <ErrorBanner error={error} onDismiss={() => setError(undefined)} />}
        <RouterProvider router={router} />
      </QueryClientProvider>
    </ApiContext.Provider>
  );
}
