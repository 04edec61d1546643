// React access to the API client and to the app-wide error display, so
// components call `useApi()` and `useReportError()` instead of threading props.
import { createContext, useContext } from 'react';
import type { ApiClient } from '../../shared/api';

export const ApiContext = createContext<ApiClient | null>(null);
export const ReportErrorContext = createContext<(e: unknown) => void>(() => undefined);

export function useApi(): ApiClient {
  const client = useContext(ApiContext);
  if (client === null) throw new Error('useApi outside <ApiContext.Provider>');
  return client;
}

export function useReportError(): (e: unknown) => void {
  return useContext(ReportErrorContext);
}
