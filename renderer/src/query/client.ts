// The UI's one QueryClient. Server data changes only through jobs and the
// user's own commands, and both say so (job events, mutation results), so
// queries never go stale on a timer or on window focus and never retry: a
// failed command is an answer (an AppError) that the error banner shows.
import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';

export function createQueryClient(reportError: (e: unknown) => void): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: reportError }),
    mutationCache: new MutationCache({ onError: reportError }),
    defaultOptions: {
      queries: { staleTime: Infinity, retry: false, refetchOnWindowFocus: false, refetchOnReconnect: false },
      mutations: { retry: false },
    },
  });
}
