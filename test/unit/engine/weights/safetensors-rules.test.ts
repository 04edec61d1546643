// Every validation rule of the safetensors reader, each with a fixture the
// test makes that breaks exactly that rule and nothing earlier.
import { mkdtempSync, rmSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsError, type SafetensorsRule } from '../../../../electron/engine/weights/errors';
import { SafetensorsFile } from '../../../../electron/engine/weights/reader';
import { openWeights } from '../../../../electron/engine/weights/weight-set';
import { serializeSafetensors, writeShardedSafetensors } from '../../../../electron/engine/weights/writer';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'st-rules-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A file made of a raw header string (not padded) and `data` bytes. */
function rawFile(header: string | Uint8Array, data = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

let counter = 0;
function put(bytes: Uint8Array): string {
  const p = path.join(tmp, `f${counter++}.safetensors`);
  writeFileSync(p, bytes);
  return p;
}

async function ruleOf(p: Promise<unknown>): Promise<SafetensorsRule> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SafetensorsError);
  const err = e as SafetensorsError;
  expect(err.kind).toBe('bad-file');
  expect(err.message).toContain(err.file);
  return err.rule;
}

const f32 = (shape: number[], begin: number, end: number): object => ({
  dtype: 'F32',
  shape,
  data_offsets: [begin, end],
});

describe('safetensors reader rules', () => {
  const cases: [SafetensorsRule, Uint8Array][] = [
    ['file-too-small', new Uint8Array([1, 0, 0])],
    ['header-too-large', rawFile('{}', new Uint8Array(0), 100_000_001n)],
    ['header-out-of-file', rawFile('{}', new Uint8Array(0), 64n)],
    ['header-utf8', rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))],
    ['header-start', rawFile(' {}')],
    ['header-json', rawFile('{"a": ')],
    ['header-json', rawFile('{} {}')],
    ['metadata', rawFile(JSON.stringify({ __metadata__: { a: 1 } }))],
    ['metadata', rawFile(JSON.stringify({ __metadata__: ['x'] }))],
    ['tensor-entry', rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [1] } }))],
    ['tensor-entry', rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }))],
    ['tensor-entry', rawFile(JSON.stringify({ w: 'F32' }))],
    ['dtype', rawFile(JSON.stringify({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }), new Uint8Array(16))],
    ['offsets', rawFile(JSON.stringify({ w: f32([1], 4, 8) }), new Uint8Array(8))], // gap at 0
    ['offsets', rawFile(JSON.stringify({ a: f32([2], 0, 8), b: f32([1], 4, 8) }), new Uint8Array(8))], // overlap
    ['offsets', rawFile(JSON.stringify({ w: f32([0], 0, 0), v: f32([0], 4, 0) }), new Uint8Array(4))], // end < begin after a gap-free start
    ['byte-length', rawFile(JSON.stringify({ w: f32([3], 0, 8) }), new Uint8Array(8))],
    ['file-size', rawFile(JSON.stringify({ w: f32([2], 0, 8) }), new Uint8Array(12))],
    ['file-size', rawFile(JSON.stringify({ w: f32([2], 0, 8) }), new Uint8Array(4))],
  ];
  it.each(cases.map(([rule, bytes], i) => [`${rule} #${i}`, rule, bytes] as const))(
    '%s',
    async (_label, rule, bytes) => {
      expect(await ruleOf(SafetensorsFile.open(put(bytes)))).toBe(rule);
    },
  );

  it('accepts a valid file and reads a tensor at its offset', async () => {
    const f = await SafetensorsFile.open(
      put(serializeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) } }, { k: 'v' })),
    );
    expect(f.metadata).toEqual({ k: 'v' });
    expect(new Float32Array((await f.read('w')).buffer)).toEqual(new Float32Array([1.5, -2]));
    await f.close();
  });

  it('tensor-missing names the tensor', async () => {
    const f = await SafetensorsFile.open(
      put(serializeSafetensors({ w: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } })),
    );
    expect(() => f.entry('nope')).toThrow(/"nope"/);
    expect(await ruleOf(f.read('nope'))).toBe('tensor-missing');
    await f.close();
  });

  it('read: a file truncated after validation', async () => {
    const p = put(serializeSafetensors({ w: { dtype: 'F32', shape: [4], data: new Float32Array(4) } }));
    const f = await SafetensorsFile.open(p);
    truncateSync(p, 40);
    expect(await ruleOf(f.read('w'))).toBe('read');
    await f.close();
  });

  it('read: a folder where a file should be', async () => {
    const p = path.join(tmp, 'folder.safetensors');
    mkdirSync(p);
    expect(await ruleOf(SafetensorsFile.open(p))).toBe('read');
  });

  it('a missing file is not-found, not bad-file', async () => {
    await expect(SafetensorsFile.open(path.join(tmp, 'absent.safetensors'))).rejects.toMatchObject({
      kind: 'not-found',
    });
  });
});

describe('sharded checkpoints', () => {
  const tensors = {
    a: { dtype: 'F32' as const, shape: [4], data: new Float32Array([1, 2, 3, 4]) },
    b: { dtype: 'F32' as const, shape: [4], data: new Float32Array([5, 6, 7, 8]) },
    c: { dtype: 'BF16' as const, shape: [2], data: new Uint16Array([0x3f80, 0x4000]) },
  };
  async function shardedDir(name: string): Promise<string> {
    const dir = path.join(tmp, name);
    mkdirSync(dir);
    await writeShardedSafetensors(dir, tensors, 16);
    return dir;
  }
  const index = (dir: string): string => path.join(dir, 'model.safetensors.index.json');

  it('opens every shard and finds each tensor in its file', async () => {
    const dir = await shardedDir('ok');
    const w = await openWeights(dir);
    expect(w.names().sort()).toEqual(['a', 'b', 'c']);
    expect(w.get('a').location).toBe('model-00001-of-00003.safetensors');
    expect(w.get('c').location).toBe('model-00003-of-00003.safetensors');
    expect(new Float32Array((await w.read('b')).buffer)).toEqual(new Float32Array([5, 6, 7, 8]));
    await w.close();
  });

  it('index: not JSON, no weight_map, or a path outside the folder', async () => {
    const dir = await shardedDir('bad-index');
    writeFileSync(index(dir), '{"weight_map": ');
    expect(await ruleOf(openWeights(dir))).toBe('index');
    writeFileSync(index(dir), '{"metadata": {}}');
    expect(await ruleOf(openWeights(dir))).toBe('index');
    writeFileSync(index(dir), JSON.stringify({ weight_map: { a: '../model-00001-of-00003.safetensors' } }));
    expect(await ruleOf(openWeights(dir))).toBe('index');
  });

  it('shard-missing: a listed shard does not exist', async () => {
    const dir = await shardedDir('missing');
    rmSync(path.join(dir, 'model-00002-of-00003.safetensors'));
    expect(await ruleOf(openWeights(dir))).toBe('shard-missing');
  });

  it('shard-tensor: tensor not listed, listed in another shard, or in two shards', async () => {
    const dir = await shardedDir('assign');
    const map = {
      a: 'model-00001-of-00003.safetensors',
      b: 'model-00002-of-00003.safetensors',
      c: 'model-00003-of-00003.safetensors',
    };
    writeFileSync(path.join(dir, map.c), serializeSafetensors({ c: tensors.c, z: tensors.c })); // z unlisted
    expect(await ruleOf(openWeights(dir))).toBe('shard-tensor');
    writeFileSync(path.join(dir, map.c), serializeSafetensors({ c: tensors.c }));
    writeFileSync(index(dir), JSON.stringify({ weight_map: { ...map, a: map.b } })); // a listed in the wrong shard
    expect(await ruleOf(openWeights(dir))).toBe('shard-tensor');
    writeFileSync(path.join(dir, map.b), serializeSafetensors({ a: tensors.a, b: tensors.b })); // a in two shards
    writeFileSync(index(dir), JSON.stringify({ weight_map: map }));
    expect(await ruleOf(openWeights(dir))).toBe('shard-tensor');
  });

  it('a folder without weights is not-found', async () => {
    const dir = path.join(tmp, 'empty');
    mkdirSync(dir);
    await expect(openWeights(dir)).rejects.toMatchObject({ kind: 'not-found' });
  });
});
