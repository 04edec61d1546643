// Import throughput and memory: 100k LLaVA entries over 2k images through the
// real import job (stream, validate, hash and decode each image once, stage
// per unit, one commit) against JSON.parse of the whole file + plain inserts,
// each in its own child process so peak RSS is its own.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { drawImages, llavaEntry } from '../electron/io/demo-dataset';
import { importJob } from '../electron/io/import-job';
import { JobRunner } from '../electron/jobs/runner';
import { createProject } from '../electron/db';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const ENTRIES = 100_000;
const IMAGES = 2_000;
const self = fileURLToPath(import.meta.url);

interface Measure {
  seconds: number;
  samples: number;
  peakRssMiB: number;
}

async function ours(dir: string): Promise<Measure> {
  const start = performance.now();
  const store = await createProject(path.join(dir, 'project'));
  const runner = new JobRunner(store, [importJob], () => undefined);
  const job = await runner.submit(importJob, {
    source: { kind: 'llava', file: path.join(dir, 'llava.json'), imagesRoot: path.join(dir, 'images') },
    abortOnProblem: false,
  });
  await runner.idle();
  const done = await runner.get(job.id);
  await store.close();
  if (done.state !== 'done') throw new Error(`import ended ${done.state}: ${done.error?.message}`);
  return {
    seconds: (performance.now() - start) / 1000,
    samples: Number(done.result?.samples),
    peakRssMiB: peakRssMiB(),
  };
}

/** The naive import: parse everything, insert rows as they are, no checks. */
function baseline(dir: string): Measure {
  const start = performance.now();
  const entries = JSON.parse(readFileSync(path.join(dir, 'llava.json'), 'utf8')) as {
    id: string;
    image?: string;
    conversations: unknown;
  }[];
  const db = new Database(path.join(dir, 'baseline.sqlite'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE samples (id INTEGER PRIMARY KEY, external_id TEXT, image TEXT, conversation TEXT)');
  const insert = db.prepare('INSERT INTO samples (external_id, image, conversation) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const e of entries)
      insert.run(e.id, e.image ? path.join(dir, 'images', e.image) : null, JSON.stringify(e.conversations));
  })();
  db.close();
  return { seconds: (performance.now() - start) / 1000, samples: entries.length, peakRssMiB: peakRssMiB() };
}

function inChild(mode: 'ours' | 'baseline', dir: string): Measure {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawnSync(process.execPath, ['--import', tsx, self, mode, dir], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`${mode} run failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measure;
}

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-import-'));
  const images = await drawImages(path.join(dir, 'images'), IMAGES);
  const lines = Array.from({ length: ENTRIES }, (_, i) => JSON.stringify(llavaEntry(i, images[i % IMAGES]!)));
  writeFileSync(path.join(dir, 'llava.json'), `[\n${lines.join(',\n')}\n]\n`);
  const fileMiB = readFileSync(path.join(dir, 'llava.json')).length / 2 ** 20;
  const b = inChild('baseline', dir);
  const o = inChild('ours', dir);
  rmSync(dir, { recursive: true, force: true });
  const rate = (m: Measure) => m.samples / m.seconds;
  return {
    columns: ['import of 100k entries / 2k images', 'samples/s', 'seconds', 'peak RSS MiB'],
    rows: [
      ['ours: streamed, checked, staged, one commit', rate(o), o.seconds, o.peakRssMiB],
      ['baseline: JSON.parse + plain inserts', rate(b), b.seconds, b.peakRssMiB],
      ['ratio ours / baseline', rate(o) / rate(b), o.seconds / b.seconds, o.peakRssMiB / b.peakRssMiB],
    ],
    notes: [
      `file ${fileMiB.toFixed(1)} MiB JSON array; images 96x96 JPEG drawn by sharp; project on the local disk, synchronous=FULL`,
      'ours also hashes (sha256) and decodes each of the 2k images once, validates every entry, and commits each unit of 500 entries with its cursor (crash-resumable); the baseline does none of that',
      'each side runs in its own child process (peak RSS is per process, store worker thread included)',
    ],
  };
}

if (process.argv[1] === self && process.argv[2]) {
  const [mode, dir] = process.argv.slice(2) as ['ours' | 'baseline', string];
  const m = mode === 'ours' ? await ours(dir) : baseline(dir);
  process.stdout.write(`${JSON.stringify(m)}\n`);
  process.exit(0);
}
