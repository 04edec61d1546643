// `mia-dpo pairs DIR [--json] [--kept]`: the preference pairs with their
// metrics, and the decision and reasons the last selection stored.
import type { PairView } from '../../../shared/pipeline/commands';
import { createService } from '../../service';
import { EXIT, positional, writeJson, type CliCommand } from '../command';

export const pairsCommand: CliCommand = {
  name: 'pairs',
  usage: 'pairs DIR [--json] [--kept]',
  summary: 'list preference pairs with format, target, attention ratio, perplexity, decision and reasons',
  options: { json: { type: 'boolean' }, kept: { type: 'boolean' } },
  async run(args, io) {
    const dir = positional(args, 0, 'project folder DIR');
    const service = await createService();
    try {
      await service.handlers['project.open']({ dir });
      const filter = args.values.kept === true ? { decision: ['keep' as const] } : {};
      const items: PairView[] = [];
      for (let total = Infinity; items.length < total; ) {
        const page = await service.handlers['pipeline.pairs']({ offset: items.length, limit: 500, filter, sort: { by: 'id', dir: 'asc' } });
        items.push(...page.items);
        total = page.items.length === 0 ? items.length : page.total;
      }
      if (args.values.json) writeJson(io, items);
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
