// The `figures` job: one unit per figure, each writing `<stem>.json` (the
// data), `.svg` and `.png` into `<project>/figures/`, every file atomically
// (a reader sees the previous figure or the new one). Figure 6 runs two
// models, hence a job (progress, cancel) rather than a request. A resumed job
// starts at the first figure not written.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { resolveSettings } from '../../../shared/pipeline/defaults';
import { FIGURE_STEMS, FIGURES, FIGURES_DIR, type FigureName } from '../../../shared/pipeline/figures';
import { writeFileAtomic } from '../../common/durable-fs';
import type { JobContext, JobKind, JobRun } from '../../jobs/kind';
import type { JobQueries } from '../../jobs/queries';
import type { EvalQueries } from '../eval/queries';
import type { PipelineQueries } from '../store/queries';
import type { FigureQueries } from './queries';
import { attentionRatioFigure, beforeAfterFigure, type Figure } from './build';
import { specToSvg, svgToPng } from './render';

export const FiguresParams = z.strictObject({
  figures: z.array(z.enum(FIGURES)).min(1),
  /** The settings patch Figure 5 is drawn with (the project's, with a draft's changes). */
  settings: z.record(z.string(), z.unknown()).default({}),
  item: z.int().nonnegative().optional(),
  runs: z.tuple([z.int().nonnegative(), z.int().nonnegative()]).optional(),
});
export type FiguresParams = z.output<typeof FiguresParams>;

const FiguresCursor = z.object({
  next: z.int().nonnegative(),
  files: z.array(z.string()),
  item: z.int().nonnegative().nullable(),
  runs: z.tuple([z.int().nonnegative(), z.int().nonnegative()]).nullable(),
});
type FiguresCursor = z.infer<typeof FiguresCursor>;

type Q = PipelineQueries & EvalQueries & Pick<JobQueries, 'getJob'> & FigureQueries;

/** Writes a figure's data, SVG and PNG (2x) under `dir`; returns the paths written. */
export async function writeFigure(dir: string, name: FigureName, figure: Figure): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const stem = path.join(dir, FIGURE_STEMS[name]);
  const svg = await specToSvg(figure.spec);
  const files: [string, string | Uint8Array][] = [
    [`${stem}.json`, `${JSON.stringify(figure.data, null, 1)}\n`],
    [`${stem}.svg`, svg],
    [`${stem}.png`, await svgToPng(svg)],
  ];
  for (const [file, bytes] of files) await writeFileAtomic(file, bytes);
  return files.map(([file]) => file);
}

async function draw(
  name: FigureName,
  p: FiguresParams,
  ctx: JobContext<Q>,
  projectDir: string,
): Promise<Figure & { item?: number; runs?: [number, number] }> {
  const reader = { dir: projectDir, store: ctx.store };
  if (name === 'attention-ratios') return attentionRatioFigure(reader, resolveSettings(p.settings, 'figure settings'));
  return beforeAfterFigure(reader, {
    ...(p.item === undefined ? {} : { item: p.item }),
    ...(p.runs === undefined ? {} : { runs: p.runs }),
  });
}

export const figuresJob: JobKind<FiguresParams, FiguresCursor, Q> = {
  kind: 'figures',
  params: FiguresParams,
  cursor: FiguresCursor,
  label: (p) => `draw ${p.figures.map((f) => `Figure ${f === 'attention-ratios' ? 5 : 6}`).join(' and ')}`,
  async plan(p, ctx): Promise<JobRun<FiguresCursor, Q>> {
    const projectDir = path.dirname(ctx.store.file);
    const out = path.join(projectDir, FIGURES_DIR);
    let last: FiguresCursor | null = null;
    return {
      async runUnit(cursor) {
        const c = cursor ?? { next: 0, files: [], item: null, runs: null };
        if (c.next >= p.figures.length) {
          // Killed after the last figure was written, before the job recorded its end.
          last = c;
          return { cursor: c, done: c.next, total: p.figures.length, write: null, finished: true };
        }
        const name = p.figures[c.next]!;
        const figure = await draw(name, p, ctx, projectDir);
        const files = await writeFigure(out, name, figure);
        ctx.log('info', `${name}: wrote ${files.map((f) => path.basename(f)).join(', ')} in ${out}`);
        last = {
          next: c.next + 1,
          files: [...c.files, ...files],
          item: figure.item ?? c.item,
          runs: figure.runs ?? c.runs,
        };
        const finished = last.next >= p.figures.length;
        return { cursor: last, done: last.next, total: p.figures.length, write: null, finished };
      },
      async finish() {
        const c = last ?? { files: [], item: null, runs: null };
        return { method: 'figuresRendered', args: { dir: out, files: c.files, item: c.item, runs: c.runs } };
      },
      close: async () => undefined,
    };
  },
  discard: () => null,
};
