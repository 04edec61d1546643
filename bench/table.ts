// The shape every benchmark suite returns, and its Markdown rendering.
import { readFileSync } from 'node:fs';

export interface BenchTable {
  /** Column headers, e.g. ['case', 'ours', 'baseline', 'ratio']. */
  columns: string[];
  rows: (string | number)[][];
  /** Free text printed under the table: settings, BLIS/BLAS, thread counts. */
  notes?: string[];
}

function cell(v: string | number): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3);
}

export function formatTable(t: BenchTable): string {
  const lines = [`| ${t.columns.join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`];
  for (const r of t.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  if (t.notes?.length) lines.push('', ...t.notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}

/**
 * Peak resident set size of this process so far, in MiB. On Linux it reads
 * VmHWM from /proc: getrusage's maxRSS survives fork + exec, so a child
 * would otherwise report at least its parent's size at spawn time.
 */
export function peakRssMiB(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    if (kib !== undefined) return Number(kib) / 1024;
  } catch {
    // Not Linux: fall through to getrusage.
  }
  return process.resourceUsage().maxRSS / 1024;
}
