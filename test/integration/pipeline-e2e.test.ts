// The whole MIA-DPO pipeline through the real `mia-dpo` CLI in child processes
// on a tiny random llava-hf model: project create -> import a generated LLaVA
// dataset (sharp-drawn images) -> augment -> respond -> select -> pairs ->
// export in all three formats, and every export parses back to the kept pairs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeDemoDataset } from '../../electron/io/demo-dataset';
import { IMAGE_COUNTS } from '../../shared/pipeline/formats';
import { writeTinyLlava } from '../helpers/tiny-llava';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'mia-dpo.mjs');
const home = mkdtempSync(path.join(os.tmpdir(), 'pipeline-e2e-'));

function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config') },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

async function json<T>(...args: string[]): Promise<T> {
  const r = await cli(...args, '--json');
  if (r.code !== 0) throw new Error(`mia-dpo ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

interface PairJson {
  format: string;
  image_count: number;
  target_index: number;
  attention_ratio: number | null;
  ppl_maxprob: number | null;
  decision: string;
  reasons: string[];
  prompt: string;
  chosen: string;
  rejected: string;
  preprocess: string | null;
}

/** Keeps every generation the attention check alone would drop (ratio <= 1.01), so the exports are not empty. */
function lenientThresholds(): string {
  const all = Object.fromEntries(
    Object.entries(IMAGE_COUNTS).map(([f, counts]) => [
      f,
      Object.fromEntries(counts.map((c) => [String(c), { op: '<=', value: 1.01 }])),
    ]),
  );
  const file = path.join(home, 'lenient.json');
  writeFileSync(file, JSON.stringify({ selection: { thresholds: all } }));
  return file;
}

describe('pipeline end to end through the CLI', () => {
  it('imports, augments, responds with a tiny model, selects and exports in three formats', async () => {
    const proj = path.join(home, 'project');
    const model = path.join(home, 'tiny-llava');
    await writeTinyLlava({ seed: 5, textLayers: 2, visionLayers: 2 }, model);
    const ds = await makeDemoDataset(path.join(home, 'data'), { samples: 10, images: 8, bad: false });

    expect((await cli('project', 'create', proj)).code).toBe(0);
    expect((await cli('import', proj, '--llava', ds.file, '--images', ds.imagesRoot)).code).toBe(0);
    const aug = await json<{ ok: boolean; made: number }>('augment', proj, '--count', '9', '--seed', '2');
    expect(aug).toMatchObject({ ok: true, made: 9 });

    const resp = await json<{ ok: boolean; answered: number; generations: number }>(
      'respond',
      proj,
      '--model',
      model,
      '--max-new-tokens',
      '6',
      '--ep',
      'cpu',
      '--perturb',
    );
    expect(resp).toMatchObject({ ok: true, answered: 9, generations: 9 });

    const strict = await json<{ ok: boolean; generations: number; kept: number; failedBy: Record<string, number> }>(
      'select',
      proj,
    );
    expect(strict).toMatchObject({ ok: true, generations: 9 });
    const lenient = await json<{ ok: boolean; kept: number }>('select', proj, '--thresholds', lenientThresholds());
    expect(lenient.kept).toBeGreaterThanOrEqual(strict.kept);
    expect(lenient.kept).toBeGreaterThan(0);

    const kept = await json<PairJson[]>('pairs', proj, '--kept');
    expect(kept).toHaveLength(lenient.kept);
    for (const p of kept) {
      expect(p.decision).toBe('keep');
      expect(p.reasons.length).toBeGreaterThan(0);
      expect(p.attention_ratio).toBeGreaterThanOrEqual(0);
      expect(p.attention_ratio).toBeLessThanOrEqual(1.01);
      expect(p.ppl_maxprob).toBeGreaterThan(1.1);
      expect(p.rejected).not.toBe(p.chosen);
      // The respond default: the reference's pad-to-square, recorded per generation (decision 0105).
      expect(p.preprocess).toBe('pad');
    }
    const rejected = kept.map((p) => p.rejected).sort();

    for (const format of ['mia', 'trl', 'llamafactory'] as const) {
      const out = path.join(home, `export-${format}`);
      const res = await json<{ ok: boolean; pairs: number }>('export', proj, '--format', format, '--out', out);
      expect(res).toMatchObject({ ok: true, pairs: kept.length });
      let rows: { rejected: string; images: string[] }[];
      if (format === 'mia') {
        // The reference's records: one path for a composite, a list for a sequence.
        const r = JSON.parse(await readFile(path.join(out, 'mia_dpo.json'), 'utf8')) as {
          image: string | string[];
          prompt: string;
          rejected: string;
        }[];
        r.forEach((x) => expect(x.prompt.split('<image>').length - 1).toBe([x.image].flat().length));
        rows = r.map((x) => ({ rejected: x.rejected, images: [x.image].flat() }));
      } else if (format === 'trl') {
        const lines = (await readFile(path.join(out, 'train.jsonl'), 'utf8')).trim().split('\n');
        rows = lines
          .map((l) => JSON.parse(l) as { rejected: { content: { text: string }[] }[]; images: string[] })
          .map((x) => ({ rejected: x.rejected[0]!.content[0]!.text, images: x.images }));
      } else {
        const r = JSON.parse(await readFile(path.join(out, 'mia_dpo.json'), 'utf8')) as {
          rejected: { value: string };
          images: string[];
        }[];
        const info = JSON.parse(await readFile(path.join(out, 'dataset_info.json'), 'utf8')) as Record<
          string,
          { file_name: string; ranking: boolean }
        >;
        expect(info['mia_dpo']).toMatchObject({ file_name: 'mia_dpo.json', ranking: true });
        rows = r.map((x) => ({ rejected: x.rejected.value, images: x.images }));
      }
      expect(rows.map((r) => r.rejected).sort()).toEqual(rejected);
      for (const r of rows) for (const im of r.images) expect(existsSync(path.join(out, im))).toBe(true);
    }
  }, 150_000);
});
