// Child process of stream-memory.test.ts: streams a LLaVA file through the
// importer's reader and entry check, then prints entry counts and peak RSS.
import { parseEntry } from '../../../electron/io/llava/entry';
import { detectFormat, readLlavaEntries } from '../../../electron/io/llava/read';

const file = process.argv[2]!;
let entries = 0;
let valid = 0;
for await (const e of readLlavaEntries(file, await detectFormat(file))) {
  entries++;
  if ('value' in e && parseEntry(e.value).ok) valid++;
}
process.stdout.write(JSON.stringify({ entries, valid, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
