// `mia-dpo compare DIR RUN_A RUN_B [--json] [--seed S]`: two eval runs on the
// same benchmark item by item: both right / only A / only B / both wrong, the
// exact McNemar p-value, delta = accuracy(B) - accuracy(A) with its seeded
// paired bootstrap 95% interval, and per-category deltas (issue 10).
import { COMMANDS } from '../../../shared/api/commands';
import { createService } from '../../service';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';
import { openServiceToRead } from '../open-to-read';
import { parseOptions, valueOption } from '../options';

const Request = COMMANDS['eval.compare'].request;
const pts = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;

export const compareCommand: CliCommand = {
  name: 'compare',
  summary: 'compare two eval runs on the same items: paired counts, exact McNemar p, delta with a bootstrap interval',
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .argument('<RUN_A>', 'the first run (e.g. the base model)')
      .argument('<RUN_B>', 'the second run (e.g. the adapter)')
      .addOption(valueOption('--seed <S>', 'bootstrap seed', Request.shape.seed))
      .addOption(valueOption('--resamples <N>', 'bootstrap resamples', Request.shape.resamples))
      .option('--json', 'print the comparison as JSON'),
  async run(args, io) {
    const request = parseOptions(Request, {
      a: Number(positional(args, 1)),
      b: Number(positional(args, 2)),
      seed: args.values['seed'],
      resamples: args.values['resamples'],
    });
    const service = await createService();
    try {
      await openServiceToRead(service, positional(args, 0));
      const c = await service.handlers['eval.compare'](request);
      if (jsonOutput(args)) writeJson(io, { ok: true, ...c });
      else {
        io.stdout.write(
          `runs ${c.a} -> ${c.b} on ${c.n} shared item(s): accuracy ${(100 * c.accuracy_a).toFixed(1)}% -> ${(100 * c.accuracy_b).toFixed(1)}%, ` +
            `delta ${pts(c.delta)} points, 95% CI [${pts(c.delta_ci95[0])}, ${pts(c.delta_ci95[1])}]\n` +
            `both right ${c.both_right}, only A ${c.a_only}, only B ${c.b_only}, both wrong ${c.both_wrong}; exact McNemar p = ${c.mcnemar_p.toPrecision(3)}\n`,
        );
        for (const k of c.per_category)
          io.stdout.write(`  ${k.category.padEnd(24)} ${pts(k.delta).padStart(6)}  n=${k.n}\n`);
      }
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
};
