// Feature cache: round trips, keys kept apart, damaged entries read as misses,
// atomic writes under concurrent puts, and the image content hash.

import { readdirSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FeatureCache, imageContentHash } from '../../../../electron/engine/vision';
import type { FeatureKey } from '../../../../electron/engine/vision';
import { tempDir } from './draw-images';

const key: FeatureKey = { imageSha256: 'a'.repeat(64), modelId: 'llava-1.5-7b@0123', preprocessingId: 'p'.repeat(64) };

function features(seed: number, dims = [2, 3, 4]): { data: Float32Array; dims: number[] } {
  const n = dims.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + seed) * 1e3), dims };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

describe('FeatureCache', () => {
  it('returns what was put, with its dims', async () => {
    const cache = new FeatureCache(tempDir('fc-'));
    const f = features(1, [576, 7]);
    expect(await cache.get(key)).toBeUndefined();
    await cache.put(key, f);
    expect(await cache.get(key)).toEqual(f);
  });

  it('keeps keys apart: another image, model or preprocessing is a miss', async () => {
    const cache = new FeatureCache(tempDir('fc-'));
    await cache.put(key, features(1));
    expect(await cache.get({ ...key, imageSha256: 'b'.repeat(64) })).toBeUndefined();
    expect(await cache.get({ ...key, modelId: 'other' })).toBeUndefined();
    expect(await cache.get({ ...key, preprocessingId: 'pad' })).toBeUndefined();
  });

  it('reads a flipped payload byte, a truncated file and garbage as misses, reporting and removing them', async () => {
    const reasons: string[] = [];
    const cache = new FeatureCache(tempDir('fc-'), { onCorrupt: (_p, reason) => reasons.push(reason) });
    const path = cache.pathFor(key);
    await cache.put(key, features(1));
    const good = readFileSync(path);

    const flipped = Buffer.from(good);
    flipped[good.length - 40] = (flipped[good.length - 40] as number) ^ 0x10;
    writeFileSync(path, flipped);
    expect(await cache.get(key)).toBeUndefined();
    expect(() => readFileSync(path)).toThrow(/ENOENT/);

    writeFileSync(path, good.subarray(0, good.length - 100));
    expect(await cache.get(key)).toBeUndefined();
    writeFileSync(path, 'garbage');
    expect(await cache.get(key)).toBeUndefined();
    expect(reasons).toEqual([
      'checksum mismatch (truncated or corrupt)',
      'checksum mismatch (truncated or corrupt)',
      'not a feature cache file',
    ]);

    writeFileSync(path, good);
    expect(await cache.get(key)).toEqual(features(1));
  });

  it("treats another key's entry placed under this key's name as a miss", async () => {
    const cache = new FeatureCache(tempDir('fc-'));
    const other = { ...key, modelId: 'other' };
    await cache.put(other, features(2));
    mkdirSync(dirname(cache.pathFor(key)), { recursive: true });
    copyFileSync(cache.pathFor(other), cache.pathFor(key));
    expect(await cache.get(key)).toBeUndefined();
  });

  it('leaves one complete entry and no temp files after concurrent puts of the same key', async () => {
    const dir = tempDir('fc-');
    const cache = new FeatureCache(dir);
    const candidates = [1, 2, 3, 4, 5].map((s) => features(s, [64, 256]));
    const reads: Promise<unknown>[] = [];
    await Promise.all(
      candidates.map(async (f) => {
        reads.push(cache.get(key));
        await cache.put(key, f);
      }),
    );
    for (const r of await Promise.all(reads)) {
      if (r !== undefined) expect(candidates).toContainEqual(r);
    }
    expect(candidates).toContainEqual(await cache.get(key));
    expect(filesUnder(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses dims that do not match the data', async () => {
    const cache = new FeatureCache(tempDir('fc-'));
    await expect(cache.put(key, { data: new Float32Array(5), dims: [2, 3] })).rejects.toThrow(
      'features of dims [2, 3] cannot hold 5 values',
    );
  });
});

describe('imageContentHash', () => {
  it('is the sha256 of the bytes (FIPS 180-2 test vector "abc")', async () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(await imageContentHash(Buffer.from('abc'))).toBe(abc);
    const path = join(tempDir('fc-'), 'abc.bin');
    writeFileSync(path, 'abc');
    expect(await imageContentHash(path)).toBe(abc);
  });

  it('names a missing image', async () => {
    await expect(imageContentHash('/nonexistent/cat.png')).rejects.toMatchObject({
      kind: 'not-found',
      message: 'image /nonexistent/cat.png does not exist',
    });
  });
});
