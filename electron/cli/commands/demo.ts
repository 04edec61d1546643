// `mia-dpo demo [DIR]`: the first-run experience. Draws a small LLaVA-format
// dataset (with a few deliberately bad entries), creates a project and runs
// the whole pipeline on it (import, augment, respond, select, TRL export) with
// a random-weight model written on the fly (or --model DIR), prints a summary,
// then serves the UI and opens it in a browser when a display exists. The
// demo folder is the project (the README's `./demo-project`); the generated
// dataset and model sit in it, under dataset/ and random-llava/.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { COMMANDS, IMPORT_COUNTS_MEANING, JOB_RESULTS, importCountsLine } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import { FORMATS, type Format } from '../../../shared/pipeline/formats';
import { RespondOptions } from '../../../shared/pipeline/respond';
import { writeRandomLlava } from '../../engine/models/random-checkpoint';
import { makeDemoDataset } from '../../io/demo-dataset';
import { createService, type Service } from '../../service';
import { EXIT, jsonOutput, writeJson, type CliCommand, type CliIo } from '../command';
import { submitAndWait } from '../job-command';
import { parseOptions, valueOption } from '../options';
import { demoBaseCommand } from './demo-base';
import { demoWorldCommand } from './demo-world';
import { Port, serveUntilStopped } from './serve';

/**
 * The bounds are the augment and respond requests'; the defaults are the
 * demo's own: 30 augmented samples of at most 24 new tokens each keep the
 * respond step of the random model to seconds on two CPU cores.
 */
const Options = z.strictObject({
  model: z.string().min(1).optional(),
  count: COMMANDS['pipeline.augment'].request.shape.count.unwrap().default(30),
  maxNewTokens: RespondOptions.shape.maxNewTokens.unwrap().default(24),
  port: Port,
});

type PerFormat = Record<Format, number>;

export interface DemoSummary {
  ok: boolean;
  dir: string;
  project: string;
  dataset: { file: string; entries: number; badEntries: number };
  /** The import's counts: entries = imported + flagged + rejected (see shared/api/import-counts.ts). */
  entries: number;
  imported: number;
  flagged: number;
  rejected: number;
  augmented: PerFormat;
  model: { dir: string; random: boolean };
  generations: number;
  kept: number;
  keptByFormat: PerFormat;
  export: { format: 'trl'; dir: string; pairs: number; files: string[] };
}

function openInBrowser(url: string, io: CliIo): void {
  const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (!hasDisplay) return;
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => io.stderr.write(`(could not run ${opener}; open the URL above yourself)\n`));
  child.unref();
}

/** The demo owns its folder: a rerun starts fresh. Anything else in the way is left alone. */
function prepareDemoFolder(dir: string): void {
  if (!existsSync(dir) || readdirSync(dir).length === 0) return;
  // dataset/llava.json: a demo of either layout; project/project.sqlite: the layout before the demo folder became the project.
  const ours =
    existsSync(path.join(dir, 'dataset', 'llava.json')) || existsSync(path.join(dir, 'project', 'project.sqlite'));
  if (!ours)
    throw new AppError('conflict', `${dir} exists and is not a demo folder; give the demo a new or empty folder`, {
      subject: dir,
    });
  rmSync(dir, { recursive: true, force: true });
}

function perFormat(rows: readonly { format: Format; count: number }[]): PerFormat {
  const out = Object.fromEntries(FORMATS.map((f) => [f, 0])) as PerFormat;
  for (const r of rows) out[r.format] += r.count;
  return out;
}

const listFormats = (counts: PerFormat): string => FORMATS.map((f) => `${f} ${counts[f]}`).join(', ');

/** Runs one job to its end; a job that does not finish stops the demo with its own message. */
async function runJob(
  service: Service,
  io: CliIo,
  label: string,
  submit: () => Promise<{ jobId: number }>,
): Promise<Record<string, unknown> | undefined> {
  const { job } = await submitAndWait(service, io, label, submit);
  if (job.state !== 'done') {
    const kind = job.state === 'cancelled' ? 'cancelled' : (job.error?.kind ?? 'runtime');
    throw new AppError(kind, `demo: the ${label} step ended ${job.state}${job.error ? `: ${job.error.message}` : ''}`, {
      subject: label,
    });
  }
  return job.result as Record<string, unknown> | undefined;
}

interface PipelineInput {
  dir: string;
  model: string | undefined;
  count: number;
  maxNewTokens: number;
}

/** The pipeline itself, through the service API the UI and the other commands use; `say` reports each step. */
async function runPipeline(input: PipelineInput, io: CliIo, say: (line: string) => void): Promise<DemoSummary> {
  const { dir } = input;
  const project = dir;
  const service = await createService();
  try {
    // First, while the folder is empty (a project is created in a new or empty folder).
    await service.handlers['project.create']({ dir: project, name: 'MIA-DPO demo' });
    const dataset = await makeDemoDataset(path.join(dir, 'dataset'));
    say(
      `1/6 created the project ${project}; generated ${dataset.entries} LLaVA entries (${dataset.badEntries} deliberately bad) in ${dataset.file}`,
    );
    const random = input.model === undefined;
    const modelDir = input.model ?? path.join(dir, 'random-llava');
    if (random) {
      await writeRandomLlava({ seed: 7, textLayers: 2, visionLayers: 2 }, modelDir);
      say(
        `2/6 wrote a random-weight llava-hf model to ${modelDir} (no weights can be downloaded: its answers are nonsense; the demo shows the workflow, pass --model DIR for a real one)`,
      );
    } else say(`2/6 using the model in ${modelDir}`);
    const source = { kind: 'llava' as const, file: dataset.file, imagesRoot: dataset.imagesRoot };
    const imported = JOB_RESULTS.import.parse(
      await runJob(service, io, 'import', () =>
        service.handlers['dataset.import'](COMMANDS['dataset.import'].request.parse({ source })),
      ),
    );
    const counts = {
      entries: imported.entries ?? 0,
      imported: imported.imported ?? 0,
      flagged: imported.flagged ?? 0,
      rejected: imported.rejected ?? 0,
    };
    say(`3/6 ${importCountsLine(imported)} (every problem is listed in the UI's Problems tab)`);
    await runJob(service, io, 'augment', () =>
      service.handlers['pipeline.augment'](COMMANDS['pipeline.augment'].request.parse({ count: input.count })),
    );
    say(`4/6 augmented ${input.count} multi-image samples`);
    // The random model runs on the CPU: it is too small for a GPU to pay off.
    const respond = {
      model: modelDir,
      ep: random ? ('cpu' as const) : ('auto' as const),
      maxNewTokens: input.maxNewTokens,
    };
    await runJob(service, io, 'respond', () => service.handlers['pipeline.respond'](RespondOptions.parse(respond)));
    await runJob(service, io, 'select', () => service.handlers['pipeline.select']({}));
    const stats = await service.handlers['pipeline.stats']({ bins: 1 });
    const augmented = perFormat(stats.augmented);
    const keptByFormat = Object.fromEntries(FORMATS.map((f) => [f, stats.byFormat[f].kept])) as PerFormat;
    say(
      `5/6 ${stats.generations} generations (at most ${input.maxNewTokens} new tokens each); kept ${stats.kept} pairs: ${listFormats(keptByFormat)}`,
    );
    const out = path.join(project, 'exports', 'demo-trl');
    const exported = await service.handlers['pipeline.export']({ format: 'trl', out });
    say(`6/6 exported ${exported.pairs} pairs in TRL format to ${out}`);
    return {
      ok: true,
      dir,
      project,
      dataset: { file: dataset.file, entries: dataset.entries, badEntries: dataset.badEntries },
      ...counts,
      augmented,
      model: { dir: modelDir, random },
      generations: stats.generations,
      kept: stats.kept,
      keptByFormat,
      export: { format: 'trl', dir: out, pairs: exported.pairs, files: exported.files },
    };
  } finally {
    await service.close();
  }
}

function printSummary(s: DemoSummary, io: CliIo): void {
  const lines = [
    'demo summary:',
    `  project            ${s.project} (give this folder to the CLI: mia-dpo pairs ${s.project})`,
    `  dataset entries    ${s.entries}: ${s.imported} imported, ${s.flagged} flagged, ${s.rejected} rejected`,
    `                     (${IMPORT_COUNTS_MEANING})`,
    `  augmented          ${listFormats(s.augmented)}`,
    `  generations        ${s.generations}${s.model.random ? ' (random-weight model: the answers are nonsense)' : ''}`,
    `  pairs kept         ${listFormats(s.keptByFormat)}`,
    `  TRL export         ${s.export.dir} (${s.export.pairs} pairs)`,
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'run the whole pipeline on a generated demo dataset (random-weight model unless --model), then open the UI',
  define: (cmd) =>
    cmd
      .argument('[DIR]', 'demo folder, replaced on every run (`world` and `base` name the subcommands)', 'demo-project')
      .option('--model <DIR>', 'llava-hf model folder (default: a random-weight model written on the fly)')
      .addOption(valueOption('--count <N>', 'augmented samples to make', Options.shape.count))
      .addOption(valueOption('--max-new-tokens <N>', 'tokens generated at most per sample', Options.shape.maxNewTokens))
      .addOption(valueOption('--port <N>', 'port of the UI on 127.0.0.1, 0 = any free one', Port))
      .option('--no-serve', 'stop after the summary instead of serving the UI')
      .option('--json', 'print the summary as JSON'),
  async run(args, io) {
    const dir = path.resolve(args.positionals[0] ?? 'demo-project');
    const { model, count, maxNewTokens, port } = args.values;
    const o = parseOptions(Options, { model, count, maxNewTokens, port });
    const input = {
      dir,
      model: o.model === undefined ? undefined : path.resolve(o.model),
      count: o.count,
      maxNewTokens: o.maxNewTokens,
    };
    const json = jsonOutput(args);
    // Under --json stdout carries only the summary document; the step lines go to stderr.
    const say = (line: string): void => void (json ? io.stderr : io.stdout).write(`${line}\n`);
    prepareDemoFolder(dir);
    const summary = await runPipeline(input, io, say);
    if (json) writeJson(io, summary);
    else printSummary(summary, io);
    if (args.values['serve'] === false) return EXIT.ok;
    await serveUntilStopped(summary.project, o.port, io, (url) => openInBrowser(url, io));
    return EXIT.ok;
  },
  subcommands: [demoWorldCommand, demoBaseCommand],
};
