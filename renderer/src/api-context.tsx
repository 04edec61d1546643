// React access to the API client, so components and query hooks call
// `useApi()` instead of threading it through props.
import { createContext, useContext } from 'react';
import type { ApiClient } from '../../shared/api';

export const ApiContext = createContext<ApiClient | null>(null);

export function useApi(): ApiClient {
  const client = useContext(ApiContext);
  if (client === null) throw new Error('useApi outside <ApiContext.Provider>');
  return client;
}
