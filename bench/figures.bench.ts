// Drawing the paper's figures (decision 0820): Figure 5 from 100k stored
// answers (histograms, Vega-Lite -> SVG with text as outlines, PNG at 2x), as
// the Thresholds page redraws it after a drag, and Figure 6's drawing for four
// images of 24x24 patches (LLaVA-1.5's grid; the two model runs not included).
import sharp from 'sharp';
import { beforeAfterSpec } from '../electron/pipeline/figures/attention-before-after';
import { attentionRatioSpec } from '../electron/pipeline/figures/attention-ratios';
import { RATIO_BINS } from '../electron/pipeline/figures/build';
import { specToSvg, svgToPng } from '../electron/pipeline/figures/render';
import { createRng } from '../electron/pipeline/random';
import { attentionHistograms } from '../electron/pipeline/stats/histogram';
import { resolveSettings } from '../shared/pipeline/defaults';
import { FORMATS, IMAGE_COUNTS } from '../shared/pipeline/formats';
import type { GenerationMetrics } from '../shared/pipeline/types';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const N = 100_000;
const RUNS = 5;

function answers(n: number): GenerationMetrics[] {
  const rng = createRng(1);
  return Array.from({ length: n }, (_, i) => {
    const format = FORMATS[rng.int(3)]!;
    const counts = IMAGE_COUNTS[format];
    return {
      id: `g${i}`,
      format,
      imageCount: counts[rng.int(counts.length)]!,
      targetIndex: 1,
      attentionRatio: rng.next() * rng.next(),
      exactRatio: rng.next(),
      perImageMean: null,
      pplMaxProb: 1.5,
      pplTrue: 2,
      groundTruthChars: 40,
      responseChars: 30,
      responseBlank: false,
      groundTruthBlank: false,
      identical: false,
      lengthRatio: 0.75,
      editDistanceChars: 20,
      editDistanceTokens: 6,
    };
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed<T>(f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function stages(make: () => Parameters<typeof specToSvg>[0] | Promise<Parameters<typeof specToSvg>[0]>) {
  const spec: number[] = [];
  const svg: number[] = [];
  const png: number[] = [];
  let bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    const s = await timed(make);
    const v = await timed(() => specToSvg(s.value));
    const p = await timed(() => svgToPng(v.value));
    spec.push(s.ms);
    svg.push(v.ms);
    png.push(p.ms);
    bytes = p.value.length;
  }
  return [median(spec), median(svg), median(png), median(spec) + median(svg) + median(png), Math.round(bytes / 1024)];
}

export async function run(): Promise<BenchTable> {
  const all = answers(N);
  const settings = resolveSettings();
  await specToSvg(attentionRatioSpec(attentionHistograms(all.slice(0, 100), settings.selection, RATIO_BINS)));
  const fig5 = await stages(() => attentionRatioSpec(attentionHistograms(all, settings.selection, RATIO_BINS)));
  const rng = createRng(2);
  const thumb = async () =>
    `data:image/png;base64,${(
      await sharp({ create: { width: 150, height: 150, channels: 3, background: { r: 120, g: 90, b: 200 } } })
        .png()
        .toBuffer()
    ).toString('base64')}`;
  const images = await Promise.all(
    [1, 2, 3, 4].map(async (k) => ({
      label: `Image${k}`,
      thumbnail: await thumb(),
      before: Array.from({ length: 576 }, () => rng.next() / 576),
      after: Array.from({ length: 576 }, () => rng.next() / 576),
      target: k === 2,
    })),
  );
  const fig6 = await stages(() =>
    beforeAfterSpec({
      question: 'In Image2, what colour is the shape?',
      answer: 'B',
      side: 24,
      layer: 16,
      images,
      before: { title: 'Before: base (eval run 1)', response: 'Red.', correct: false },
      after: { title: 'After: adapter (eval run 2)', response: 'Blue.', correct: true },
    }),
  );
  return {
    columns: ['figure', 'data + spec ms', 'SVG ms', 'PNG (2x) ms', 'total ms', 'PNG KiB'],
    rows: [
      [`Figure 5, ${N} answers`, ...fig5],
      ['Figure 6, 4 images x 24x24, drawing only', ...fig6],
    ],
    notes: [`median of ${RUNS} runs after one warm-up; peak RSS ${peakRssMiB().toFixed(0)} MiB`],
  };
}
