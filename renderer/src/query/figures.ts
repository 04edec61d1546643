// The paper's figures (shared/pipeline/figures.ts): SVG previews drawn by the
// server (the same renderer that writes the PNGs), and the `figures` job that
// saves them into the project, watched until it ends.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useApi } from '../api-context';
import { queryKeys } from './keys';

/** `value`, once it has stopped changing for `ms` (a threshold being dragged redraws the figure when it rests). */
export function useSettled<T>(value: T, ms = 250): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/** Figure 5 with the project's settings after `patch`; the previous drawing stays up while the next is made. */
export function useAttentionRatioFigure(patch: Record<string, unknown>) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.figureRatios(patch),
    queryFn: () => client.invoke('figures.attentionRatios', { patch }),
    placeholderData: keepPreviousData,
  });
}

/** Figure 6 of one item and two runs: both models answer the item again (seconds to minutes). */
export function useBeforeAfterFigure(a: number, b: number, itemId: number) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.evalAttention(a, b, itemId),
    queryFn: () => client.invoke('figures.beforeAfter', { runs: [a, b], item: itemId }),
  });
}

/** An SVG document as an image source (the page's CSP allows data: images, never inline markup). */
export const svgSource = (svg: string): string => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
