// The UI's one QueryClient. Server data changes only through jobs and the
// user's own commands, and both say so (job events, mutation results), so
// queries never go stale on a timer or on window focus and never retry: a
// failed command is an answer (an AppError) that the error banner shows.
// A mutation with `meta: { clearsError: true }` (opening a project) dismisses
// the banner when it succeeds: the error was about the attempt before. One
// with `meta: { inlineError: true }` shows its error in the dialog that ran it
// (the banner stays for errors nobody asked about in place).
import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';

export function createQueryClient(errors: { report(e: unknown): void; clear(): void }): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: errors.report }),
    mutationCache: new MutationCache({
      onError: (e, _variables, _context, mutation) => {
        if (mutation.meta?.inlineError !== true) errors.report(e);
      },
      onSuccess: (_data, _variables, _context, mutation) => {
        if (mutation.meta?.clearsError === true) errors.clear();
      },
    }),
    defaultOptions: {
      queries: { staleTime: Infinity, retry: false, refetchOnWindowFocus: false, refetchOnReconnect: false },
      mutations: { retry: false },
    },
  });
}
