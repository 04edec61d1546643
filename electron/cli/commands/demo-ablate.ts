// `mia-dpo demo ablate [--out DIR] [--seeds 1,2,3] [--variants LIST] [--doc FILE]`
// (`npm run demo:ablate`): the demo's ablations (issue 14, item 4), one demo
// project per seed under --out (seed-N/), every variant trained and evaluated
// there; writes ablation.json and ablation.md in --out and, with --doc, the
// table between the `<!-- ablation:start -->` and `<!-- ablation:end -->`
// lines of that file (docs/demo.md).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { EpChoice } from '../../../shared/ep';
import { AppError } from '../../../shared/errors';
import { createService } from '../../service';
import { EXIT, jsonOutput, UsageError, writeJson, type CliCommand } from '../command';
import { ABLATION_VARIANTS, ablateSeed, ablationTable, type AblationRow } from '../demo/ablate';
import { DEMO_SIZES } from '../demo/defaults';
import { demoModel, prepareDemoFolder } from '../demo/folders';
import { parseOptions, valueOption } from '../options';

const Options = z.strictObject({
  out: z.string().min(1).default('demo-ablation'),
  model: z.string().min(1).optional(),
  seeds: z.array(z.int().min(0).max(0xffffffff)).min(1).default([1, 2, 3]),
  ep: EpChoice.default('cpu'),
});

const MARKERS = ['<!-- ablation:start -->', '<!-- ablation:end -->'] as const;

/** Replaces the text between the markers of `file` with `table`. */
async function writeIntoDoc(file: string, table: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const [a, b] = [text.indexOf(MARKERS[0]), text.indexOf(MARKERS[1])];
  if (a < 0 || b < a)
    throw new AppError('bad-input', `${file} has no ${MARKERS[0]} ... ${MARKERS[1]} section to write the table into`, {
      subject: file,
    });
  await writeFile(file, `${text.slice(0, a + MARKERS[0].length)}\n${table}\n${text.slice(b)}`);
}

const list = (v: unknown): string[] | undefined =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
    : undefined;

export const demoAblateCommand: CliCommand = {
  name: 'ablate',
  summary: "the demo's ablations: selection, loss and post-selection variants over seeds, a markdown table",
  define: (cmd) =>
    cmd
      .option('--out <DIR>', 'folder of the per-seed projects and the results (default: demo-ablation)')
      .option('--model <DIR>', 'llava-hf base model folder (default: demo/base-model)')
      .option('--seeds <LIST>', 'comma-separated seeds (default: 1,2,3)')
      .option(
        '--variants <LIST>',
        `comma-separated, of ${ABLATION_VARIANTS.map((v) => v.name).join(', ')} (default: all)`,
      )
      .option('--quick', 'the demo --quick sizes (a check that it runs, not a result)')
      .option('--doc <FILE>', 'write the table between the ablation markers of this markdown file')
      .addOption(valueOption('--ep <EP>', 'execution provider', Options.shape.ep))
      .option('--json', 'print the rows as JSON'),
  async run(args, io) {
    const seeds = list(args.values['seeds'])?.map(Number);
    const o = parseOptions(Options, {
      out: args.values['out'],
      model: args.values['model'],
      seeds,
      ep: args.values['ep'],
    });
    const names = list(args.values['variants']);
    const variants = names === undefined ? ABLATION_VARIANTS : ABLATION_VARIANTS.filter((v) => names.includes(v.name));
    const unknown = names?.filter((n) => !ABLATION_VARIANTS.some((v) => v.name === n)) ?? [];
    if (unknown.length > 0) throw new UsageError(`unknown variant(s) ${unknown.join(', ')}`);
    if (variants.some((v) => v.randomSubset) && !variants.some((v) => v.name === 'mia-dpo'))
      throw new UsageError('the random variant draws as many pairs as mia-dpo keeps: list mia-dpo too');
    const model = demoModel(o.model);
    const out = path.resolve(o.out);
    const json = jsonOutput(args);
    const say = (line: string): void => void (json ? io.stderr : io.stdout).write(`${line}\n`);
    const rows: AblationRow[] = [];
    await mkdir(out, { recursive: true });
    for (const seed of o.seeds) {
      const dir = path.join(out, `seed-${seed}`);
      prepareDemoFolder(dir);
      const sizes = args.values['quick'] === true ? DEMO_SIZES.quick : DEMO_SIZES.full;
      const service = await createService();
      try {
        rows.push(...(await ablateSeed(service, { dir, model, seed, ep: o.ep, sizes }, variants, io, say)));
      } finally {
        await service.close();
      }
      // After every seed, so a long run that is stopped keeps what it measured.
      const table = ablationTable(rows);
      await writeFile(path.join(out, 'ablation.json'), `${JSON.stringify({ model, rows }, null, 2)}\n`);
      await writeFile(path.join(out, 'ablation.md'), `${table}\n`);
      if (typeof args.values['doc'] === 'string') await writeIntoDoc(path.resolve(args.values['doc']), table);
    }
    if (json) writeJson(io, { ok: true, model, rows });
    else io.stdout.write(`${ablationTable(rows)}\n`);
    return EXIT.ok;
  },
};
