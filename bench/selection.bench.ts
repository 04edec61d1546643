// Re-selection after a threshold change at 100k stored generations: the
// decisions are recomputed from stored metrics (no re-generation). Target:
// under 200 ms.
import { reselect } from '../electron/pipeline/select/decide';
import { createRng } from '../electron/pipeline/random';
import { summarize } from '../electron/pipeline/stats/histogram';
import { resolveSettings } from '../shared/pipeline/defaults';
import { FORMATS, IMAGE_COUNTS } from '../shared/pipeline/formats';
import type { GenerationMetrics } from '../shared/pipeline/types';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const N = 100_000;

function generations(n: number): GenerationMetrics[] {
  const rng = createRng(1);
  return Array.from({ length: n }, (_, i) => {
    const format = FORMATS[rng.int(3)]!;
    const counts = IMAGE_COUNTS[format];
    const gt = 20 + rng.int(600);
    const resp = 10 + rng.int(400);
    return {
      id: `g${i}`,
      format,
      imageCount: counts[rng.int(counts.length)]!,
      targetIndex: 1,
      attentionRatio: rng.next(),
      exactRatio: rng.next(),
      perImageMean: null,
      pplMaxProb: 1 + rng.next(),
      pplTrue: 1 + 3 * rng.next(),
      groundTruthChars: gt,
      responseChars: resp,
      responseBlank: false,
      groundTruthBlank: false,
      identical: rng.next() < 0.02,
      lengthRatio: resp / gt,
      editDistanceChars: rng.int(400),
      editDistanceTokens: rng.int(100),
    };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function run(): Promise<BenchTable> {
  const all = generations(N);
  const base = resolveSettings();
  const changed = [
    [
      'one threshold (grid, 4 images -> 0.45)',
      resolveSettings({ selection: { thresholds: { grid: { '4': { value: 0.45 } } } } }),
    ],
    [
      'all post-selection bounds on',
      resolveSettings({
        selection: { post: { lengthRatio: { min: 0.2, max: 3 }, editDistance: { min: 5, max: 300 } } },
      }),
    ],
    ['exact-region mode', resolveSettings({ selection: { attentionMode: 'exact-region' } })],
  ] as const;
  reselect(all, base.selection);
  const rows: (string | number)[][] = [];
  for (const [name, s] of changed) {
    const times: number[] = [];
    let kept = 0;
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      const masks = reselect(all, s.selection);
      kept = summarize(all, masks).kept;
      times.push(performance.now() - t0);
    }
    rows.push([name, median(times), Math.max(...times), kept]);
  }
  return {
    columns: ['re-selection at 100k generations', 'median ms', 'max ms', 'kept'],
    rows,
    notes: [
      `decisions + summary (counts, per-format yield) for ${N} in-memory stored metrics, 7 runs each; target < 200 ms`,
      `peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    ],
  };
}
