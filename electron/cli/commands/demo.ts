// `mia-dpo demo [DIR]`: MIA-DPO end to end on the demo world (issue 14, item 3;
// docs/demo.md). With the project's own trained base model (demo/base-model,
// `npm run demo:base`, or --model DIR) it writes the world's data, imports it,
// augments, answers with attention, selects, trains LoRA-DPO on the kept pairs,
// evaluates base and adapter on the held-out benchmark, prints the before/after
// table, then serves the UI on the project. The demo folder is the project; a
// rerun replaces it. `--quick` runs every stage on a few items (CI).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import { EpChoice } from '../../../shared/ep';
import { createService } from '../../service';
import { EXIT, jsonOutput, writeJson, type CliCommand, type CliIo } from '../command';
import { DEMO_SIZES } from '../demo/defaults';
import { demoModel, prepareDemoFolder } from '../demo/folders';
import { runDemo, type DemoResult } from '../demo/run';
import { parseOptions, valueOption } from '../options';
import { demoAblateCommand } from './demo-ablate';
import { demoBaseCommand } from './demo-base';
import { demoWorldCommand } from './demo-world';
import { Port, serveUntilStopped } from './serve';

const Options = z.strictObject({
  model: z.string().min(1).optional(),
  seed: z.int().min(0).max(0xffffffff).default(1),
  ep: EpChoice.default('cpu'),
  port: Port,
});

function openInBrowser(url: string, io: CliIo): void {
  const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (!hasDisplay) return;
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => io.stderr.write(`(could not run ${opener}; open the URL above yourself)\n`));
  child.unref();
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const pts = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
const span = (ci: readonly [number, number], f: (x: number) => string): string => `[${f(ci[0])}, ${f(ci[1])}]`;
const bare = (x: number): string => (100 * x).toFixed(1);

/** The before/after table: per category, both accuracies with their Wilson intervals, the difference, McNemar's p. */
export function beforeAfterTable(r: Pick<DemoResult, 'before' | 'after' | 'delta' | 'mcnemar'>): string[] {
  // The paper's order: single-image, then multi-image, then any other category, then all items.
  const order = (c: string): number => (c === 'single' ? 0 : c === 'multi' ? 1 : 2);
  const rows = [
    ...Object.keys(r.before)
      .filter((c) => c !== 'all')
      .sort((a, b) => order(a) - order(b) || a.localeCompare(b)),
    'all',
  ];
  const head = ['', 'n', 'base', 'adapter', 'difference (points)', 'McNemar p'];
  const body = rows.map((c) => [
    c,
    String(r.before[c]!.n),
    `${pct(r.before[c]!.accuracy)} ${span(r.before[c]!.ci95, bare)}`,
    `${pct(r.after[c]!.accuracy)} ${span(r.after[c]!.ci95, bare)}`,
    `${pts(r.delta[c]!.delta)} ${span(r.delta[c]!.ci95, pts)}`,
    r.mcnemar[c]!.toPrecision(3),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cells) =>
    cells
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

function printSummary(r: DemoResult, io: CliIo): void {
  const t = r.training;
  const lines = [
    '',
    `before / after MIA-DPO on the held-out benchmark (${r.world.benchSingle} single-image, ${r.world.benchMulti} multi-image items; 95% Wilson intervals, exact McNemar p):`,
    ...beforeAfterTable(r).map((l) => `  ${l}`),
    r.singleHeld
      ? '  single-image skill held (within the collapse guard of the base)'
      : '  WARNING: the adapter lost single-image skill beyond the collapse guard',
    '',
    `  model    ${r.model}`,
    `  adapter  ${r.adapter} (LoRA r${String(t.settings['loraR'])} on ${t.pairs} pairs, step ${t.adapterStep} of ${t.plannedSteps})`,
    `  project  ${r.project}`,
    `  stages   ${r.stages.map((s) => `${s.stage} ${s.seconds.toFixed(1)} s`).join(', ')}`,
    `  total    ${r.totalSeconds.toFixed(1)} s`,
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: "MIA-DPO end to end on the demo world with the project's trained base model, then open the UI",
  define: (cmd) =>
    cmd
      .argument(
        '[DIR]',
        'demo folder, the project; replaced on every run (`world`, `ablate` and `base` name subcommands)',
        'demo-project',
      )
      .option('--model <DIR>', 'llava-hf base model folder (default: demo/base-model, built by `npm run demo:base`)')
      .option('--quick', 'every stage on a few items (a check that it all runs, not a result)')
      .addOption(valueOption('--seed <N>', 'seed of the world, the augmentation and the training', Options.shape.seed))
      .addOption(
        valueOption('--ep <EP>', 'execution provider (a model this small runs best on the CPU)', Options.shape.ep),
      )
      .addOption(valueOption('--port <N>', 'port of the UI on 127.0.0.1, 0 = any free one', Port))
      .option('--no-serve', 'stop after the table instead of serving the UI')
      .option('--json', 'print the result as one JSON document (the stage lines go to stderr)'),
  async run(args, io) {
    const dir = path.resolve(args.positionals[0] ?? 'demo-project');
    const { model, seed, ep, port } = args.values;
    const o = parseOptions(Options, { model, seed, ep, port });
    const json = jsonOutput(args);
    const say = (line: string): void => void (json ? io.stderr : io.stdout).write(`${line}\n`);
    const input = {
      dir,
      model: demoModel(o.model),
      seed: o.seed,
      ep: o.ep,
      sizes: args.values['quick'] === true ? DEMO_SIZES.quick : DEMO_SIZES.full,
    };
    prepareDemoFolder(dir);
    const service = await createService();
    let result: DemoResult;
    try {
      result = await runDemo(service, input, io, say);
    } finally {
      await service.close();
    }
    if (json) writeJson(io, result);
    else printSummary(result, io);
    if (args.values['serve'] === false) return EXIT.ok;
    await serveUntilStopped(result.project, o.port, io, (url) => openInBrowser(url, io));
    return EXIT.ok;
  },
  subcommands: [demoWorldCommand, demoAblateCommand, demoBaseCommand],
};
