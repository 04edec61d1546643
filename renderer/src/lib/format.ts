// How numbers look in the UI: counts with separators, rates, durations.

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec) || perSec <= 0) return '–';
  return perSec >= 100 ? `${Math.round(perSec).toLocaleString('en-US')}/s` : `${perSec.toFixed(1)}/s`;
}

/** Seconds as "45 s", "3 min 05 s", "2 h 07 min"; unknown is a dash. */
export function formatDuration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return '–';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Percentage 0..100 of done/total, or undefined when the total is unknown. */
export function percent(done: number, total: number | null): number | undefined {
  if (total === null) return undefined;
  if (total === 0) return 100;
  return Math.min(100, (100 * done) / total);
}
