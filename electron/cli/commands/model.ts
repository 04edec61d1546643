// `mia-dpo model inspect DIR [--json]`: what a model folder is (architecture,
// sizes, dtype, image tokens per image, chat template) and whether this
// version can run it, with the reason when not.
import { Argument } from 'commander';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';
import { inspectModel } from '../../engine/models/inspect';

export const modelCommand: CliCommand = {
  name: 'model',
  summary: 'describe a model folder (llava-hf, InternLM-XComposer-2.5) and whether it is supported',
  define: (cmd) =>
    cmd
      .addArgument(new Argument('<ACTION>', 'what to do').choices(['inspect']))
      .argument('<DIR>', 'model folder')
      .option('--json', 'print the description as JSON'),
  async run(args, io) {
    const info = await inspectModel(positional(args, 1));
    if (jsonOutput(args)) writeJson(io, info);
    else
      for (const [k, v] of Object.entries(info))
        io.stdout.write(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
    return info.supported ? EXIT.ok : EXIT.failure;
  },
};
