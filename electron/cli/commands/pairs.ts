// `mia-dpo pairs DIR [--json] [--kept]`: the preference pairs with their
// metrics, and the decision and reasons the last selection stored. Only
// reads: works beside `serve` or the app (../open-to-read).
import { COMMANDS } from '../../../shared/api/commands';
import type { PairView } from '../../../shared/pipeline/commands';
import { createService } from '../../service';
import { openServiceToRead } from '../open-to-read';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';

/** Pairs per request: the largest page the request allows. */
const PAGE = COMMANDS['pipeline.pairs'].request.shape.limit.unwrap().maxValue ?? 500;

export const pairsCommand: CliCommand = {
  name: 'pairs',
  summary: 'list preference pairs with format, target, attention ratio, perplexity, decision and reasons',
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .option('--json', 'print the pairs as JSON')
      .option('--kept', 'only the pairs selection keeps'),
  async run(args, io) {
    const service = await createService();
    try {
      await openServiceToRead(service, positional(args, 0));
      const filter = args.values['kept'] === true ? { decision: ['keep' as const] } : {};
      const items: PairView[] = [];
      for (let total = Infinity; items.length < total;) {
        const page = await service.handlers['pipeline.pairs']({
          offset: items.length,
          limit: PAGE,
          filter,
          sort: { by: 'id', dir: 'asc' },
        });
        items.push(...page.items);
        total = page.items.length === 0 ? items.length : page.total;
      }
      if (jsonOutput(args)) writeJson(io, items);
      else if (items.length === 0) io.stdout.write('no pairs\n');
      else {
        for (const p of items) {
          const ratio = p.attention_ratio === null ? '-' : p.attention_ratio.toFixed(3);
          io.stdout.write(
            `${String(p.id).padStart(5)}  ${p.format.padEnd(8)} ${p.image_count} img  target ${p.target_index}  ratio ${ratio}  ${p.decision ?? '-'}  ${p.review}  ${p.reasons.join('; ')}\n`,
          );
        }
      }
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
};
