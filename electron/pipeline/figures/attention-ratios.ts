// The paper's Figure 5 as a Vega-Lite spec: per format (sequence, grid
// collage, pic-in-pic) the histogram of the target-image attention ratio of
// the model's answers, stacked by image count, with each count's selection
// threshold as a dashed vertical line (answers left of it count as
// attention-misaligned). Pure data -> spec; render.ts turns it into SVG and PNG.
import type { TopLevelSpec } from 'vega-lite';
import { FORMATS, type Format } from '../../../shared/pipeline/formats';

export const FORMAT_TITLES: Record<Format, string> = {
  sequence: 'Sequence',
  grid: 'Grid collage',
  pip: 'Pic-in-pic',
};

/** Okabe-Ito (colour-blind safe), one colour per image count the formats allow. */
export const COUNT_COLOURS: Record<string, string> = {
  '2': '#0072B2',
  '3': '#E69F00',
  '4': '#009E73',
  '5': '#CC79A7',
  '6': '#D55E00',
  '9': '#56B4E9',
};

/** One format and image count's attention histogram (pipeline.stats' `attention` entries). */
export interface RatioGroup {
  format: Format;
  imageCount: number;
  threshold: { op: '<' | '<='; value: number } | null;
  histogram: { edges: readonly number[]; counts: readonly number[]; missing: number };
}

export interface RatioBar {
  kind: 'bar';
  format: string;
  images: string;
  x0: number;
  x1: number;
  count: number;
}
export interface RatioRule {
  kind: 'rule';
  format: string;
  images: string;
  value: number;
  label: string;
  /** Pixels from the panel's top to the label: one line per image count, so equal thresholds stay readable. */
  labelTop: number;
}
export interface AttentionRatioData {
  bars: RatioBar[];
  rules: RatioRule[];
  /** Answers per format (all counts), and those without a ratio (empty attention). */
  totals: { format: string; answers: number; missing: number }[];
}

const imagesLabel = (n: number) => `${n} images`;

/** The figure's data: one bar per non-empty bin, one rule per threshold that is on. */
export function attentionRatioData(groups: readonly RatioGroup[]): AttentionRatioData {
  const bars: RatioBar[] = [];
  const rules: RatioRule[] = [];
  const totals = new Map<Format, { answers: number; missing: number }>();
  for (const g of groups) {
    const format = FORMAT_TITLES[g.format];
    const images = imagesLabel(g.imageCount);
    g.histogram.counts.forEach((count, i) => {
      if (count > 0)
        bars.push({ kind: 'bar', format, images, x0: g.histogram.edges[i]!, x1: g.histogram.edges[i + 1]!, count });
    });
    if (g.threshold !== null) {
      const line = rules.filter((r) => r.format === format).length;
      const label = `${g.imageCount}: ${g.threshold.op === '<=' ? '≤' : '<'} ${g.threshold.value}`;
      rules.push({ kind: 'rule', format, images, value: g.threshold.value, label, labelTop: 3 + 13 * line });
    }
    const t = totals.get(g.format) ?? { answers: 0, missing: 0 };
    t.answers += g.histogram.counts.reduce((a, b) => a + b, 0) + g.histogram.missing;
    t.missing += g.histogram.missing;
    totals.set(g.format, t);
  }
  return {
    bars,
    rules,
    totals: FORMATS.filter((f) => totals.has(f)).map((f) => ({ format: FORMAT_TITLES[f], ...totals.get(f)! })),
  };
}

/** Threshold labels sit left of their line above this ratio (room on the panel's right). */
const LABEL_FLIP = 0.75;

/** Panel size in CSS pixels (the PNG is rendered at a scale of this). */
export const RATIO_PANEL = { width: 260, height: 170 };

export function attentionRatioSpec(groups: readonly RatioGroup[]): TopLevelSpec {
  const data = attentionRatioData(groups);
  const counts = [...new Set(groups.map((g) => g.imageCount))].sort((a, b) => a - b);
  const colour = {
    field: 'images',
    type: 'nominal',
    title: 'Images',
    scale: {
      domain: counts.map(imagesLabel),
      range: counts.map((n) => COUNT_COLOURS[String(n)] ?? '#555555'),
    },
  } as const;
  const formats = data.totals.map((t) => t.format);
  const panelTitle = Object.fromEntries(data.totals.map((t) => [t.format, `${t.format} (${t.answers} answers)`]));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: 'Attention ratio on the target image (MIA-DPO Figure 5)',
      subtitle: 'Dashed: selection threshold per image count; answers left of it are kept as attention-misaligned',
    },
    background: 'white',
    padding: 8,
    config: { font: 'sans-serif', view: { stroke: '#cccccc' } },
    data: { values: [...data.bars, ...data.rules] },
    facet: {
      column: {
        field: 'format',
        type: 'nominal',
        sort: formats,
        title: null,
        header: { labelExpr: `${JSON.stringify(panelTitle)}[datum.value]`, labelFontSize: 12 },
      },
    },
    spec: {
      width: RATIO_PANEL.width,
      height: RATIO_PANEL.height,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'bar'" }],
          mark: { type: 'bar', opacity: 0.85 },
          encoding: {
            x: {
              field: 'x0',
              type: 'quantitative',
              bin: { binned: true, step: 0.05 },
              scale: { domain: [0, 1] },
              axis: { values: [0, 0.2, 0.4, 0.6, 0.8, 1], format: '.1f' },
              title: 'Attention ratio',
            },
            x2: { field: 'x1' },
            y: {
              field: 'count',
              type: 'quantitative',
              stack: 'zero',
              title: 'Answers',
              axis: { tickMinStep: 1, format: 'd' },
            },
            color: colour,
          },
        },
        {
          transform: [{ filter: "datum.kind === 'rule'" }],
          layer: [
            {
              mark: { type: 'rule', strokeDash: [5, 3], strokeWidth: 2 },
              encoding: { x: { field: 'value', type: 'quantitative' }, color: colour },
            },
            // Labels right of their line, or left of it near the panel's right edge, each over a white halo so
            // it stays readable on a bar of its own colour.
            ...[
              { filter: `datum.value <= ${LABEL_FLIP}`, align: 'left' as const, dx: 3 },
              { filter: `datum.value > ${LABEL_FLIP}`, align: 'right' as const, dx: -3 },
            ].flatMap(({ filter, align, dx }) =>
              [true, false].map((halo) => ({
                transform: [{ filter }],
                mark: {
                  type: 'text' as const,
                  align,
                  baseline: 'top' as const,
                  dx,
                  fontSize: 10,
                  ...(halo ? { fill: 'white', stroke: 'white', strokeWidth: 3, strokeJoin: 'round' as const } : {}),
                },
                encoding: {
                  x: { field: 'value', type: 'quantitative' as const },
                  y: { field: 'labelTop', type: 'quantitative' as const, scale: null },
                  text: { field: 'label' },
                  ...(halo ? {} : { color: colour }),
                },
              })),
            ),
          ],
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}
