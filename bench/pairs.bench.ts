// Pairs review page latency at 100k pairs through the store worker (what the
// review UI waits for): pages filtered, searched and sorted in SQL over the
// derived tables of migration 140, a deep page, and a count after a write
// (no cached total). Target p95 < 20 ms. The same queries also run on a
// direct connection timed in CPU time, which a busy machine inflates less.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pairsPage } from '../electron/pipeline/store/pairs';
import { openDatabase } from '../electron/store/database';
import { setMeta } from '../electron/store/queries/browse';
import { openStore } from '../electron/store/store';
import { MIGRATIONS } from '../electron/db/project.schema';
import { PROJECT_SCHEMA } from '../electron/db';
import type { PairFilter, PairSort } from '../shared/pipeline/commands';
import { rng, VOCABULARY, writeSyntheticPairs } from '../test/helpers/synthetic-pairs';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const PAIRS = 100_000;
const ITERATIONS = 200;
const PAGE = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

type Case = [name: string, filter: () => PairFilter, sort: PairSort, offset: () => number, writeFirst?: boolean];

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-pairs-'));
  const file = path.join(dir, 'project.sqlite');
  const t0 = performance.now();
  writeSyntheticPairs(file, PAIRS, 3);
  const populateSec = (performance.now() - t0) / 1000;
  const store = await openStore(file, { schema: PROJECT_SCHEMA });
  const direct = openDatabase(file, { migrations: MIGRATIONS }).db;
  const r = rng(17);
  const word = () => VOCABULARY[Math.floor(r() * VOCABULARY.length)]!;
  const byId: PairSort = { by: 'id', dir: 'asc' };
  const cases: Case[] = [
    ['all pairs by id, first page', () => ({}), byId, () => 0],
    ['all pairs by id, random page', () => ({}), byId, () => Math.floor(r() * (PAIRS - PAGE))],
    ['kept, attention ratio asc', () => ({ decision: ['keep'] }), { by: 'attention_ratio', dir: 'asc' }, () => 0],
    [
      'grid 4 images, perplexity desc',
      () => ({ format: ['grid'], imageCount: [4] }),
      { by: 'ppl_maxprob', dir: 'desc' },
      () => 0,
    ],
    [
      'pending review, edit distance desc, random page',
      () => ({ review: ['pending'] }),
      { by: 'edit_distance', dir: 'desc' },
      () => Math.floor(r() * 1000) * PAGE,
    ],
    [
      'dropped for perplexity, length ratio asc',
      () => ({ decision: ['drop'], failed: 'perplexity' }),
      { by: 'length_ratio', dir: 'asc' },
      () => 0,
    ],
    ['text search (one word) + total', () => ({ text: word() }), byId, () => 0],
    [
      'text search + kept, attention ratio desc',
      () => ({ text: word(), decision: ['keep'] }),
      { by: 'attention_ratio', dir: 'desc' },
      () => 0,
    ],
    [
      'deep page: offset 90k-99.9k, exact ratio desc (NULLs last)',
      () => ({}),
      { by: 'exact_ratio', dir: 'desc' },
      () => 90_000 + Math.floor(r() * 9_900),
    ],
    [
      'deep page: offset 90k-99.9k, perplexity asc',
      () => ({}),
      { by: 'ppl_true', dir: 'asc' },
      () => 90_000 + Math.floor(r() * 9_900),
    ],
    [
      'kept + pending, attention ratio asc, total uncached',
      () => ({ decision: ['keep'], review: ['pending'] }),
      { by: 'attention_ratio', dir: 'asc' },
      () => 0,
      true,
    ],
  ];
  // A write between queries moves the data version, so the totals are counted again.
  let tick = 0;
  const write = async () => {
    await store.call('setMeta', { values: { benchTick: String(tick++) } });
  };
  const rows: (string | number)[][] = [];
  for (const [name, filter, sort, offset, writeFirst] of cases) {
    for (let i = 0; i < 20; i++)
      await store.call('pairsPage', { offset: offset(), limit: PAGE, filter: filter(), sort });
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      if (writeFirst === true) await write();
      const request = { offset: offset(), limit: PAGE, filter: filter(), sort };
      const start = performance.now();
      const page = await store.call('pairsPage', request);
      times.push(performance.now() - start);
      total = page.total;
    }
    times.sort((a, b) => a - b);
    const cpu: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      if (writeFirst === true) setMeta(direct, { values: { benchTick: String(tick++) } });
      const request = { offset: offset(), limit: PAGE, filter: filter(), sort };
      const start = process.cpuUsage();
      pairsPage(direct, request);
      const used = process.cpuUsage(start);
      cpu.push((used.user + used.system) / 1000);
    }
    cpu.sort((a, b) => a - b);
    rows.push([
      name,
      percentile(times, 50),
      percentile(times, 95),
      percentile(cpu, 50),
      percentile(cpu, 95),
      total,
      percentile(times, 95) < 20 ? 'yes' : 'no',
    ]);
  }
  const detail: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = performance.now();
    await store.call('pairDetail', { id: 1 + Math.floor(r() * PAIRS) });
    detail.push(performance.now() - start);
  }
  detail.sort((a, b) => a - b);
  rows.push([
    'one pair with history (pipeline.pairs.get)',
    percentile(detail, 50),
    percentile(detail, 95),
    '',
    '',
    1,
    percentile(detail, 95) < 20 ? 'yes' : 'no',
  ]);
  direct.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    columns: [
      'query at 100k pairs',
      'p50 ms',
      'p95 ms',
      'direct CPU p50 ms',
      'direct CPU p95 ms',
      'total matched',
      'p95 < 20 ms',
    ],
    rows,
    notes: [
      `${ITERATIONS} timed queries per case after 20 warm-up, page of ${PAGE}, measured through the store worker (message round trip included)`,
      `direct CPU: the same number of queries on a connection in the bench process, process CPU time (user + system) per query`,
      `load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} on ${os.cpus().length} cores`,
      `pairs written through the store queries (test/helpers/synthetic-pairs.ts): ${populateSec.toFixed(1)} s; peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    ],
  };
}
