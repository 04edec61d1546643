// Parity of our SentencePiece tokenizer on a real tokenizer.model (e.g. IXC2.5's
// InternLM2 one, 92544 pieces) against sentencepiece itself, on thousands of
// texts and random id lists. A tool, not a test: CI has no model files, and the
// models trained in sentencepiece.test.ts cover the settings. Usage:
//   node --import tsx test/tools/sentencepiece-real.ts <folder with tokenizer.model>
// Exit 0 when every id list and decoded text matches, 1 otherwise (the first mismatches printed).
import { join } from 'node:path';
import { SentencePieceProcessor } from '../../electron/engine/text';
import { cases, corpus, decodeCases, runOracle } from '../helpers/sentencepiece-oracle';

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write('usage: node --import tsx test/tools/sentencepiece-real.ts <folder with tokenizer.model>\n');
  process.exit(2);
}
const texts = [...cases(3000, 11), ...corpus(300, 9).split('\n')];
const oracle = runOracle(['real'], texts, decodeCases(500, 5), { existing: { real: dir } });
const ref = oracle.models['real']!;
const spm = await SentencePieceProcessor.fromFile(join(dir, 'tokenizer.model'));
const problems: string[] = [];
if (JSON.stringify(spm.pieces.map((p) => p.piece)) !== JSON.stringify(ref.pieces))
  problems.push('the piece lists differ');
texts.forEach((t, i) => {
  if (JSON.stringify(spm.encode(t)) !== JSON.stringify(ref.ids[i])) problems.push(`encode ${JSON.stringify(t)}`);
});
ref.ids.forEach((ids, i) => {
  if (spm.decode(ids) !== ref.decoded[i]) problems.push(`decode of text ${i}`);
});
ref.extraIds.forEach((ids, i) => {
  if (spm.decode(ids) !== ref.extraDecoded[i]) problems.push(`decode of id list ${JSON.stringify(ids)}`);
});
process.stdout.write(
  `${texts.length} texts, ${ref.extraIds.length} id lists: ${problems.length} mismatch(es)\n${problems.slice(0, 20).join('\n')}\n`,
);
process.exit(problems.length === 0 ? 0 : 1);
