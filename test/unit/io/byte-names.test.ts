// Issue 13 item 9: image file names that are not valid UTF-8 are found by
// their bytes (a folder import, a dataset written by Python with
// surrogateescape) instead of reported missing; a JSON array's progress counts
// the bytes of the entries parsed, not the bytes read ahead.
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drawImages, llavaEntry } from '../../../electron/io/demo-dataset';
import { fsPath, storedPath, surrogateEscapedBytes } from '../../../electron/io/fs-path';
import { readLlavaEntries } from '../../../electron/io/llava/read';
import { removeTempDirs, runImport, serviceWithProject, tempDir } from './helpers';

afterAll(removeTempDirs);

/** `café.jpg` in Latin-1: byte 0xE9 alone is not UTF-8. */
const LATIN1_NAME = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x6a, 0x70, 0x67]);

describe('file names that are not UTF-8', () => {
  it('stored paths round-trip their bytes; UTF-8 paths stay plain strings', () => {
    const bytes = Buffer.concat([Buffer.from('/data/50% off/'), LATIN1_NAME]);
    expect(storedPath(bytes)).toBe('bytes:/data/50%25%20off/caf%E9.jpg');
    expect(fsPath(storedPath(bytes))).toEqual(bytes);
    expect(storedPath(Buffer.from('/data/été/a.jpg'))).toBe('/data/été/a.jpg');
    expect(surrogateEscapedBytes('caf\udce9.jpg')).toEqual(LATIN1_NAME);
    expect(surrogateEscapedBytes('café.jpg')).toBeNull();
  });

  it('a folder import finds them, and their thumbnails are made', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const [img] = await drawImages(root, 1);
    const folder = path.join(dir, 'folder');
    await drawImages(folder, 1);
    await copyFile(path.join(root, img!), Buffer.concat([Buffer.from(`${folder}/`), LATIN1_NAME]));
    const { job, problems } = await runImport(service, { kind: 'folder', root: folder });
    expect(problems).toEqual([]);
    expect(job.result).toMatchObject({ samples: 2, flagged: 0 });
    const page = await service.handlers['samples.page']({ offset: 0, limit: 10, filter: {} });
    const ids = page.items.map((s) => s.externalId);
    expect(ids).toContain('bytes:caf%E9.jpg');
    const sample = page.items.find((s) => s.externalId === 'bytes:caf%E9.jpg')!;
    const detail = await service.handlers['samples.get']({ id: sample.id });
    expect(detail.images[0]!.path).toBe(`bytes:${folder}/caf%E9.jpg`);
    const thumb = await service.getThumbnail(detail.images[0]!.id, 128);
    expect(thumb.mime).toBe('image/jpeg');
    await service.close();
  }, 20_000);

  it('a LLaVA entry naming one as surrogate-escaped bytes finds it', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const [img] = await drawImages(root, 1);
    await copyFile(path.join(root, img!), Buffer.concat([Buffer.from(`${root}/`), LATIN1_NAME]));
    const file = path.join(dir, 'd.json');
    // What Python's json.dump writes for os.listdir's 'caf\udce9.jpg'.
    await writeFile(file, JSON.stringify([llavaEntry(0, img!), { ...llavaEntry(1, 'x'), image: 'caf\udce9.jpg' }]));
    const { job, problems } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
    expect(problems).toEqual([]);
    expect(job.result).toMatchObject({ samples: 2, flagged: 0, images: 2 });
    await service.close();
  }, 20_000);
});

describe('progress of a JSON array', () => {
  it('counts the bytes of the entries parsed, not the bytes read ahead', async () => {
    const dir = tempDir();
    // Brackets, commas and escaped quotes inside strings must not end an entry.
    const entries = [0, 1, 2].map((i) => ({ ...llavaEntry(i, null), id: `a,[b]{"c"} \\ ${i}` }));
    const texts = entries.map((e) => JSON.stringify(e, null, 1));
    const file = path.join(dir, 'd.json');
    await writeFile(file, `[\n${texts.join(',\n')}\n]\n`);
    const read: number[] = [];
    for await (const e of readLlavaEntries(file, 'json')) read.push(e.bytesRead);
    const ends = texts.map((_, i) => Buffer.byteLength(`[\n${texts.slice(0, i + 1).join(',\n')}`) + (i < 2 ? 0 : 1));
    expect(read).toEqual(ends);
  });
});
