// Child process of checkpoint-store.test.ts: writes checkpoints FROM, FROM+1,
// ... into OUT for the base model BASE, printing "wrote N" after each, until
// the parent SIGKILLs it (at a random moment, usually mid-write).
import { openModel } from '../../../../electron/engine/models/open';
import { writeCheckpoint } from '../../../../electron/engine/train/checkpoint-store';
import { contentFor } from './checkpoint-content';

const [out, base, from] = process.argv.slice(2) as [string, string, string];
const model = await openModel(base);
process.stdout.write('ready\n');
for (let step = Number(from); step < Number(from) + 1000; step++) {
  await writeCheckpoint(out, contentFor(model, step));
  process.stdout.write(`wrote ${step}\n`);
}
