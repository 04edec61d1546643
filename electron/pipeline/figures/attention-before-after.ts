// The paper's Figure 6 as a Vega-Lite spec: for one multi-image item, the
// attention over each image's patch grid before (base model) and after (DPO
// adapter), as heatmaps over the image thumbnails on one colour scale, the
// target image framed, and each panel's share of the attention over images.
// Pure data -> spec; render.ts turns it into SVG and PNG.
import type { TopLevelSpec } from 'vega-lite';

export interface BeforeAfterImage {
  /** e.g. "Image2". */
  label: string;
  /** The thumbnail as a data: URI (PNG), drawn under the heatmap. */
  thumbnail: string;
  /** Row-major side x side maps (one row when side is null): mean attention per patch. */
  before: readonly number[];
  after: readonly number[];
  target: boolean;
}

export interface BeforeAfterSide {
  /** Row title, e.g. "Before: base (eval run 1)". */
  title: string;
  response: string;
  correct: boolean | null;
}

export interface BeforeAfterInput {
  question: string;
  answer: string;
  side: number | null;
  layer: number;
  images: readonly BeforeAfterImage[];
  before: BeforeAfterSide;
  after: BeforeAfterSide;
}

interface Cell {
  kind: 'cell';
  model: string;
  image: string;
  col: number;
  row: number;
  value: number;
}
interface Panel {
  kind: 'panel';
  model: string;
  image: string;
  url: string;
  target: boolean;
  share: string;
}

export const PANEL_PX = 150;

/** Columns and rows of a map: side x side, or one row. */
export function gridOf(side: number | null, length: number): { cols: number; rows: number } {
  return side === null ? { cols: length, rows: 1 } : { cols: side, rows: Math.ceil(length / side) };
}

const sum = (v: readonly number[]) => v.reduce((a, b) => a + b, 0);

export function beforeAfterData(input: BeforeAfterInput): { cells: Cell[]; panels: Panel[]; max: number } {
  const cells: Cell[] = [];
  const panels: Panel[] = [];
  let max = 0;
  for (const [model, key] of [
    [input.before.title, 'before'],
    [input.after.title, 'after'],
  ] as const) {
    const total = sum(input.images.map((im) => sum(im[key]) / Math.max(1, im[key].length)));
    for (const im of input.images) {
      const map = im[key];
      const { cols } = gridOf(input.side, map.length);
      const image = im.target ? `${im.label} (target)` : im.label;
      map.forEach((value, i) => {
        cells.push({ kind: 'cell', model, image, col: i % cols, row: Math.floor(i / cols), value });
        if (value > max) max = value;
      });
      const share = total > 0 ? sum(map) / Math.max(1, map.length) / total : NaN;
      panels.push({
        kind: 'panel',
        model,
        image,
        url: im.thumbnail,
        target: im.target,
        share: Number.isFinite(share) ? `share ${share.toFixed(2)}` : 'no attention',
      });
    }
  }
  return { cells, panels, max };
}

const mark = (ok: boolean | null) => (ok === null ? '' : ok ? ' (right)' : ' (wrong)');

export function beforeAfterSpec(input: BeforeAfterInput): TopLevelSpec {
  const { cells, panels, max } = beforeAfterData(input);
  const length = input.images[0]?.before.length ?? 0;
  const { cols, rows } = gridOf(input.side, length);
  const columns = input.images.map((im) => (im.target ? `${im.label} (target)` : im.label));
  const px = PANEL_PX;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: 'Attention over each image before and after MIA-DPO (Figure 6)',
      subtitle: [
        `Q: ${input.question.replace(/\s+/g, ' ').slice(0, 110)}  ·  answer: ${input.answer}`,
        `before: "${input.before.response.slice(0, 50)}"${mark(input.before.correct)}  ·  after: "${input.after.response.slice(0, 50)}"${mark(input.after.correct)}  ·  layer ${input.layer}`,
      ],
    },
    background: 'white',
    padding: 8,
    config: { font: 'sans-serif', view: { stroke: null } },
    data: { values: [...panels, ...cells] },
    facet: {
      row: { field: 'model', type: 'nominal', sort: [input.before.title, input.after.title], title: null },
      column: { field: 'image', type: 'nominal', sort: columns, title: null },
    },
    spec: {
      width: px,
      height: px,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'panel'" }],
          mark: { type: 'image', width: px, height: px, align: 'left', baseline: 'top', aspect: false, aria: false },
          encoding: { x: { value: 0 }, y: { value: 0 }, url: { field: 'url', type: 'nominal' } },
        },
        {
          transform: [
            { filter: "datum.kind === 'cell'" },
            { calculate: 'datum.col + 1', as: 'col2' },
            { calculate: 'datum.row + 1', as: 'row2' },
          ],
          mark: { type: 'rect', opacity: 0.6 },
          encoding: {
            x: { field: 'col', type: 'quantitative', scale: { domain: [0, cols], nice: false }, axis: null },
            x2: { field: 'col2' },
            y: {
              field: 'row',
              type: 'quantitative',
              scale: { domain: [0, rows], nice: false, reverse: true },
              axis: null,
            },
            y2: { field: 'row2' },
            color: {
              field: 'value',
              type: 'quantitative',
              title: 'Attention',
              scale: { scheme: 'viridis', domain: [0, max > 0 ? max : 1] },
              legend: { format: '.2~e', gradientLength: px * 2 },
            },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'panel' && datum.target" }],
          mark: { type: 'rect', filled: false, stroke: '#D55E00', strokeWidth: 4 },
          encoding: { x: { value: 0 }, x2: { value: px }, y: { value: 0 }, y2: { value: px } },
        },
        {
          transform: [{ filter: "datum.kind === 'panel'" }],
          mark: { type: 'rect', fill: '#000000', opacity: 0.55 },
          encoding: { x: { value: 0 }, x2: { value: 86 }, y: { value: px - 18 }, y2: { value: px } },
        },
        {
          transform: [{ filter: "datum.kind === 'panel'" }],
          mark: { type: 'text', align: 'left', baseline: 'bottom', fill: '#ffffff', fontSize: 11 },
          encoding: { x: { value: 5 }, y: { value: px - 4 }, text: { field: 'share' } },
        },
      ],
    },
  };
}
