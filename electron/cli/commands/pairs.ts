// `mia-dpo pairs DIR [--json] [--kept]`: the preference pairs with their
// metrics, decision and reasons at the project's current settings. Only
// reads: works beside `serve` or the app (../open-to-read).
import { COMMANDS } from '../../../shared/api/commands';
import { createService } from '../../service';
import { openServiceToRead } from '../open-to-read';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';

/** Every pair in one request: the largest page the request allows. */
const ALL = COMMANDS['pipeline.pairs'].request.shape.limit.unwrap().maxValue ?? 100_000;

export const pairsCommand: CliCommand = {
  name: 'pairs',
  summary: 'list preference pairs with format, target, attention ratio, perplexity, decision and reasons',
  define: (cmd) => cmd.argument('<DIR>', 'project folder').option('--json', 'print the pairs as JSON').option('--kept', 'only the pairs selection keeps'),
  async run(args, io) {
    const service = await createService();
    try {
      await openServiceToRead(service, positional(args, 0));
      const { items } = await service.handlers['pipeline.pairs']({ offset: 0, limit: ALL, keptOnly: args.values['kept'] === true });
      if (jsonOutput(args)) writeJson(io, items);
      else if (items.length === 0) io.stdout.write('no pairs\n');
      else {
        for (const p of items) {
          const ratio = p.attention_ratio === null ? '-' : p.attention_ratio.toFixed(3);
          io.stdout.write(`${String(p.id).padStart(5)}  ${p.format.padEnd(8)} ${p.image_count} img  target ${p.target_index}  ratio ${ratio}  ${p.decision ?? '-'}  ${p.review}  ${p.reasons.join('; ')}\n`);
        }
      }
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
};
