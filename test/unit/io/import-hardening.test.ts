// Dataset import against hostile input (issue 13): a NUL byte in an image
// path, files with no entries, special files named as images, progress
// estimates, invalid UTF-8. Each is a typed problem, never a hang or a crash.
import { execFileSync } from 'node:child_process';
import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drawImages, llavaEntry } from '../../../electron/io/demo-dataset';
import { MAX_IMAGE_BYTES } from '../../../electron/io/images';
import { removeTempDirs, runImport, serviceWithProject } from './helpers';

afterAll(removeTempDirs);

describe('import hardening', () => {
  it('a NUL byte in one entry image path is that entry problem, not an internal error', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const [img] = await drawImages(root, 1);
    const file = path.join(dir, 'd.json');
    await writeFile(file, JSON.stringify([llavaEntry(0, img!), { ...llavaEntry(1, img!), image: 'a\u0000b.jpg' }, llavaEntry(2, img!)]));
    const { job, problems } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
    expect(job.state).toBe('done');
    expect(job.result).toMatchObject({ samples: 2 });
    expect(problems.map((p) => [p.index, p.reason])).toEqual([[1, 'malformed-entry']]);
    expect(problems[0]!.message).toMatch(/NUL byte/);
    await service.close();
  });

  it('fails with bad-file, naming the file, when it has no LLaVA entry (one-line object, empty array, 0-byte file)', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    await drawImages(root, 1);
    for (const [name, text] of [['object.json', '{"data": []}\n'], ['empty.json', ''], ['array.json', '[]'], ['blank.jsonl', '\n\n']] as const) {
      const file = path.join(dir, name);
      await writeFile(file, text);
      const { job } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
      expect(job.state, name).toBe('failed');
      expect(job.error, name).toMatchObject({ kind: 'bad-file', subject: file });
      expect(job.error?.message, name).toContain(file);
    }
    expect((await service.handlers['sources.list']({})).sources).toHaveLength(0);
    await service.close();
  });
});

describe('special files', () => {
  it('a FIFO or an oversized file named as an image is that entry problem, naming the path; a FIFO dataset is bad-file', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const [img] = await drawImages(root, 1);
    execFileSync('mkfifo', [path.join(root, 'pipe.jpg')]);
    await writeFile(path.join(root, 'huge.jpg'), '');
    await truncate(path.join(root, 'huge.jpg'), MAX_IMAGE_BYTES + 1);
    const file = path.join(dir, 'd.json');
    await writeFile(file, JSON.stringify([llavaEntry(0, img!), llavaEntry(1, 'pipe.jpg'), llavaEntry(2, 'huge.jpg')]));
    const { job, problems } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
    expect(job.state).toBe('done');
    expect(problems.map((p) => [p.index, p.reason, p.path])).toEqual([
      [1, 'unreadable-image', 'pipe.jpg'],
      [2, 'unreadable-image', 'huge.jpg'],
    ]);
    expect(problems[0]!.message).toContain(`${path.join(root, 'pipe.jpg')} is a FIFO, not a regular file`);
    expect(problems[1]!.message).toMatch(/over the \d+-byte limit/);

    const fifo = path.join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    const bad = await runImport(service, { kind: 'llava', file: fifo, imagesRoot: root });
    expect(bad.job.state).toBe('failed');
    expect(bad.job.error).toMatchObject({ kind: 'bad-file', subject: fifo });
    await service.close();
  }, 10_000);
});
