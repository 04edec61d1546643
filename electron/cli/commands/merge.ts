// `mia-dpo merge --model DIR --adapter DIR --out DIR`: a PEFT LoRA adapter
// folded into its base (W + s·B·A), written as a new folder of the base's family
// (llava-hf or InternLM-XComposer-2.5) with
// sharded safetensors in the base's dtype (electron/engine/models/merge.ts).
import path from 'node:path';
import { z } from 'zod';
import { EXIT, jsonOutput, writeJson, type CliCommand } from '../command';
import { DEFAULT_SHARD_BYTES, mergeAdapter } from '../../engine/models/merge';
import { parseOptions, valueOption } from '../options';
import { ProgressBar } from '../progress';

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30 };

/** HF's max_shard_size notation: "2GB", "500MB", "1.5GiB" or plain bytes. */
const ShardSize = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$/i, 'a size such as 2GB, 500MB or 1048576')
  .transform((s) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s) as RegExpExecArray;
    return Math.floor(Number(m[1]) * (UNITS[(m[2] || 'B').toUpperCase()] ?? 1));
  })
  .pipe(z.number().int().positive('must be at least 1 byte'));

export const MergeArgs = z.strictObject({
  model: z.string().min(1),
  adapter: z.string().min(1),
  out: z.string().min(1),
  maxShardSize: ShardSize.optional(),
});

export const mergeCommand: CliCommand = {
  name: 'merge',
  summary: 'fold a LoRA adapter into its base model: a new model folder (sharded safetensors, base dtype)',
  define: (cmd) =>
    cmd
      .requiredOption('--model <DIR>', 'base model folder: llava-hf or InternLM-XComposer-2.5')
      .requiredOption('--adapter <DIR>', 'PEFT LoRA adapter folder trained on that base')
      .requiredOption('--out <DIR>', 'folder to create for the merged model (must not exist or be empty)')
      .addOption(
        valueOption('--max-shard-size <SIZE>', `largest safetensors shard (default: ${DEFAULT_SHARD_BYTES / 1e9}GB)`),
      )
      .option('--json', 'print the result as JSON'),
  async run(args, io) {
    const { model, adapter, out, maxShardSize } = args.values;
    const a = parseOptions(MergeArgs, { model, adapter, out, maxShardSize });
    const bar = new ProgressBar(jsonOutput(args) ? { ...io, tty: false } : io, 'merge');
    const started = Date.now();
    const result = await mergeAdapter({
      modelDir: a.model,
      adapterDir: a.adapter,
      outDir: path.resolve(a.out),
      ...(a.maxShardSize !== undefined ? { shardBytes: a.maxShardSize } : {}),
      onTensor: (done, total) => {
        const rate = done / Math.max(1e-3, (Date.now() - started) / 1000);
        bar.update({ done, total, ratePerSec: rate, etaSec: (total - done) / rate });
      },
    });
    bar.end();
    if (jsonOutput(args)) writeJson(io, { ok: true, ...result });
    else {
      io.stdout.write(
        `merged ${result.merged.length} adapted modules into ${result.tensors} tensors; wrote ${result.outDir}:\n`,
      );
      for (const f of result.files) io.stdout.write(`  ${f}\n`);
    }
    return EXIT.ok;
  },
};
