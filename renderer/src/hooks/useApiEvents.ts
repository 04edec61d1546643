// Subscribes a component to API events for as long as it is mounted.
import { useEffect, useRef } from 'react';
import type { ApiEvent } from '../../../shared/api';
import { useApi } from '../api-context';

export function useApiEvents(listener: (event: ApiEvent) => void): void {
  const client = useApi();
  // The latest listener without resubscribing on every render.
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => client.onEvent((e) => latest.current(e)), [client]);
}
