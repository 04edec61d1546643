// `mia-dpo eval DIR --model M [--adapter A] --bench NAME [--mode generate|likelihood]
// [--max-new-tokens N] [--ep EP] [--weights FORMAT] [--json]`: runs (or resumes) the eval job and
// prints the run id, accuracy with its Wilson 95% interval and per-category
// accuracies. `mia-dpo eval show DIR RUN [--json]`: the run's per-item results.
// `mia-dpo eval list DIR [--json]`: the project's runs. Issue 10.
import path from 'node:path';
import type { Command } from 'commander';
import { EvalOptions, type EvalRun } from '../../../shared/pipeline/eval';
import { createService, type Service } from '../../service';
import { EXIT, UsageError, jsonOutput, writeJson, type CliCommand, type CliIo, type ParsedArgs } from '../command';
import { chooseEp } from '../ep-line';
import { runJobCommand } from '../job-command';
import { openServiceToRead } from '../open-to-read';
import { parseOptions, valueOption } from '../options';

const F = EvalOptions.shape;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const interval = (ci: readonly [number, number]) => `[${pct(ci[0])}, ${pct(ci[1])}]`;

function runReport(run: EvalRun) {
  return {
    run_id: run.id,
    model_id: run.modelId,
    benchmark: run.benchmark,
    mode: run.mode,
    items: run.items,
    answered: run.answered,
    correct: run.correct,
    accuracy: run.accuracy,
    ci95: run.ci95,
    per_category: run.perCategory.map((c) => ({
      category: c.category,
      n: c.n,
      accuracy: c.accuracy,
      ci95: c.ci95,
    })),
  };
}

type RunReport = ReturnType<typeof runReport>;

function printRun(run: RunReport, io: CliIo): void {
  io.stdout.write(
    `run ${run.run_id}: ${run.model_id} on ${run.benchmark} (${run.mode}): accuracy ${pct(run.accuracy)} ` +
      `95% CI ${interval(run.ci95)} over ${run.answered} of ${run.items} item(s)\n`,
  );
  for (const c of run.per_category)
    io.stdout.write(`  ${c.category.padEnd(24)} ${pct(c.accuracy).padStart(6)}  ${interval(c.ci95)}  n=${c.n}\n`);
}

async function withReader<T>(dir: string, f: (s: Service) => Promise<T>): Promise<T> {
  const service = await createService();
  try {
    await openServiceToRead(service, dir);
    return await f(service);
  } finally {
    await service.close();
  }
}

async function show(dir: string, runText: string | undefined, io: CliIo, json: boolean): Promise<number> {
  const id = Number(runText);
  if (runText === undefined || !Number.isSafeInteger(id) || id < 0)
    throw new UsageError('eval show takes DIR RUN (a run id, as `mia-dpo eval list` prints)');
  return withReader(dir, async (service) => {
    const run = await service.handlers['eval.runs.get']({ id });
    const { items } = await service.handlers['eval.items']({ run: id, offset: 0, limit: 100000 });
    const rows = items.map((i) => ({
      index: i.index,
      category: i.category,
      prompt_ids: i.prompt_ids,
      prediction: i.prediction,
      answer: i.answer,
      correct: i.correct,
      ...(run.mode === 'generate'
        ? { response: i.response, response_ids: i.response_ids, per_image_mean: i.per_image_mean }
        : { option_ids: i.option_ids, option_scores: i.option_scores }),
    }));
    if (json) writeJson(io, { ok: true, ...runReport(run), items: rows });
    else {
      printRun(runReport(run), io);
      for (const r of rows)
        io.stdout.write(
          `${r.correct ? '+' : '-'} ${r.index.padEnd(10)} ${r.category.padEnd(16)} answer ${r.answer}  predicted ${r.prediction ?? '(none)'}\n`,
        );
    }
    return EXIT.ok;
  });
}

async function list(dir: string, io: CliIo, json: boolean): Promise<number> {
  return withReader(dir, async (service) => {
    const { runs } = await service.handlers['eval.runs']({});
    if (json) writeJson(io, { ok: true, runs: runs.map(runReport) });
    else if (runs.length === 0) io.stdout.write('no eval runs\n');
    else
      for (const r of runs)
        io.stdout.write(
          `${String(r.id).padStart(4)}  ${r.benchmark.padEnd(16)} ${r.mode.padEnd(10)} ${pct(r.accuracy).padStart(6)} ${interval(r.ci95)}  ${r.answered}/${r.items}  ${r.modelId}\n`,
        );
    return EXIT.ok;
  });
}

async function evaluate(dir: string, args: ParsedArgs, io: CliIo): Promise<number> {
  const { model, adapter, bench, mode, maxNewTokens, ep, layer, template, weights, weightBlock } = args.values;
  if (typeof model !== 'string') throw new UsageError('eval needs --model DIR');
  if (typeof bench !== 'string')
    throw new UsageError('eval needs --bench NAME (a benchmark imported with `mia-dpo bench import`)');
  const aspect = args.values['crop'] === true ? 'crop' : undefined;
  const request = parseOptions(EvalOptions, {
    model: path.resolve(model),
    adapter: typeof adapter === 'string' && adapter !== '' ? path.resolve(adapter) : adapter,
    bench,
    mode,
    maxNewTokens,
    ep,
    weights,
    weightBlock,
    layer,
    template,
    aspect,
  });
  const json = jsonOutput(args);
  const chosen = json ? null : await chooseEp(request.ep);
  if (chosen) io.stderr.write(chosen.line);
  try {
    return await runJobCommand(io, {
      dir,
      kind: 'eval',
      json,
      joins: true,
      submit: (service) => service.handlers['eval.run'](request),
      async report(service, { job }) {
        const run = await service.handlers['eval.runs.get']({ jobId: job.id }).catch(() => null);
        return run === null ? { run_id: null } : runReport(run);
      },
      print: (r, out) => {
        if ('model_id' in r) printRun(r, out);
        else out.stdout.write('the eval job stored no run\n');
      },
    });
  } finally {
    await chosen?.release();
  }
}

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'evaluate a model (and adapter) on an imported benchmark; `eval show DIR RUN`, `eval list DIR`',
  define: (cmd: Command) =>
    cmd
      .argument('<DIR|show|list>', 'project folder, or show / list followed by the project folder')
      .argument('[ARGS...]', 'show: DIR RUN; list: DIR')
      .option('--model <DIR>', 'llava-hf model folder')
      .addOption(valueOption('--adapter <DIR>', 'PEFT LoRA adapter folder applied to the model'))
      .option('--bench <NAME>', 'the benchmark, by its name in the project')
      .addOption(valueOption('--mode <MODE>', 'greedy answer, or the likeliest option', F.mode))
      .addOption(
        valueOption('--max-new-tokens <N>', 'tokens generated at most per item (generate mode)', F.maxNewTokens),
      )
      .addOption(
        valueOption('--layer <L>', 'decoder layer whose attention is recorded (default: the middle one)', F.layer),
      )
      .addOption(valueOption('--template <T>', "prompt format: the model's chat template or llava_v0", F.template))
      .option('--crop', "centre-crop images as the model's processor does, instead of padding (the default)")
      .addOption(valueOption('--ep <EP>', 'execution provider', F.ep))
      .addOption(
        valueOption(
          '--weights <FORMAT>',
          'weight format: auto, fp32, fp16 (GPUs that compute in it), int8 or int4 (default: fp32, unchecked)',
          F.weights,
        ),
      )
      .addOption(valueOption('--weight-block <N>', 'weights per int8/int4 scale: 32 or 128', F.weightBlock))
      .option('--json', 'print the result as JSON'),
  async run(args, io) {
    const [first, ...rest] = [args.positionals[0], ...((args.positionals[1] as unknown as string[] | undefined) ?? [])];
    if (first === undefined) throw new UsageError('missing argument DIR');
    const json = jsonOutput(args);
    if (first === 'show') return show(rest[0] ?? '', rest[1], io, json);
    if (first === 'list') {
      if (rest[0] === undefined) throw new UsageError('eval list takes DIR');
      return list(rest[0], io, json);
    }
    if (rest.length > 0) throw new UsageError(`unexpected argument(s) ${rest.join(' ')}`);
    return evaluate(first, args, io);
  },
};
