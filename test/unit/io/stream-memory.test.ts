// A 200 MB LLaVA JSON file is streamed with bounded memory: a child process
// reads every entry and its peak RSS stays far below the file size (a
// JSON.parse of the whole file would need several times the file size).
import { spawnSync } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const TARGET_BYTES = 200 * 1024 * 1024;

/** Writes entries with long answers over four image names until the file reaches TARGET_BYTES. */
async function writeBigFile(file: string): Promise<number> {
  const out = createWriteStream(file);
  const answer = 'The picture shows a small red square next to a blue circle. '.repeat(60);
  let bytes = 0;
  let n = 0;
  const write = (s: string) => (
    (bytes += Buffer.byteLength(s)),
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()))
  );
  await write('[\n');
  while (bytes < TARGET_BYTES) {
    const entry = {
      id: `e${n}`,
      image: `img/${n % 4}.jpg`,
      conversations: [
        { from: 'human', value: '<image>\nDescribe the picture.' },
        { from: 'gpt', value: answer },
      ],
    };
    await write(`${n ? ',\n' : ''}${JSON.stringify(entry)}`);
    n++;
  }
  await write('\n]\n');
  await new Promise<void>((resolve) => out.end(resolve));
  return n;
}

describe('streaming a large LLaVA file', () => {
  it('reads 200 MB with a peak RSS well under the file size', async () => {
    const dir = tempDir('stream-');
    const file = path.join(dir, 'big.json');
    const written = await writeBigFile(file);
    // A small heap limit too: accumulating entries would crash the child, not only raise RSS.
    const args = ['--max-old-space-size=96', '--import', tsx, path.join(here, 'stream-memory.child.ts'), file];
    const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 90_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(child.status, child.stderr).toBe(0);
    const report = JSON.parse(child.stdout) as { entries: number; valid: number; peakRssMiB: number };
    expect(report.entries).toBe(written);
    expect(report.valid).toBe(written);
    expect(report.peakRssMiB).toBeLessThan(200);
  });
});
