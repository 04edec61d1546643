// `mia-dpo pairs DIR [--json] [--kept]`: the preference pairs with their
// metrics, decision and reasons at the project's current settings.
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
      const { items } = await service.handlers['pipeline.pairs']({ offset: 0, limit: 100_000, keptOnly: args.values.kept === true });
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
