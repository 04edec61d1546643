// Dataset import: every kind of bad entry is reported with its index/line and
// id (and not dropped), JSON/JSONL/folder sources, all-or-nothing on abort and
// cancel, and browsing what was imported.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drawImages, llavaEntry, makeDemoDataset } from '../../../electron/io/demo-dataset';
import { removeTempDirs, runImport, serviceWithProject, waitFinal } from './helpers';

afterAll(removeTempDirs);

describe('LLaVA JSON import', () => {
  it('imports good entries and reports each bad one with its index, id and reason', async () => {
    const { service, dir } = await serviceWithProject();
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 30 });
    const { job, problems } = await runImport(service, { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot });
    expect(job.state).toBe('done');
    expect(problems.map((p) => [p.index, p.entryId, p.reason])).toEqual([
      [5, 'bad-missing', 'missing-image'],
      [6, 'bad-corrupt', 'unreadable-image'],
      [7, 'bad-malformed', 'malformed-entry'],
      [8, 'demo-2', 'duplicate-id'],
      [9, 'bad-escape', 'path-escape'],
      [10, 'bad-symlink', 'symlink'],
    ]);
    for (const p of problems) expect(p.message.length).toBeGreaterThan(10);
    // Image problems keep their sample (flagged); malformed and duplicate entries have none.
    expect(problems.map((p) => p.sampleId !== null)).toEqual([true, true, false, false, true, true]);
    expect(job.result).toMatchObject({ samples: 30 + 4, problemEntries: 6 });
    // The counts add up to the entries read: usable, flagged (image problems, kept for review), rejected (malformed, duplicate).
    expect(job.result).toMatchObject({ entries: ds.entries, imported: 30, flagged: 4, rejected: 2 });
    expect(ds.entries).toBe(30 + 6);

    const flagged = await service.handlers['samples.page']({ offset: 0, limit: 50, filter: { hasProblems: true } });
    expect(flagged.items.map((s) => s.externalId).sort()).toEqual([
      'bad-corrupt',
      'bad-escape',
      'bad-missing',
      'bad-symlink',
    ]);
    const textOnly = await service.handlers['samples.page']({
      offset: 0,
      limit: 50,
      filter: { text: 'no image to describe' },
    });
    expect(textOnly.total).toBe(3);
    expect(textOnly.items.every((s) => s.imageId === null && s.imageCount === 0)).toBe(true);
    await service.close();
  });

  it('keeps images in place with their hash and size, and serves thumbnails only for known images', async () => {
    const { service, dir } = await serviceWithProject();
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 4, bad: false });
    await runImport(service, { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot });
    const detail = await service.handlers['samples.get']({ id: 1 });
    expect(detail.images).toHaveLength(1);
    expect(detail.images[0]).toMatchObject({
      path: path.join(ds.imagesRoot, 'img/00000-red-circle.jpg'),
      width: 96,
      height: 96,
    });
    expect(detail.images[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(detail.conversation[0]).toEqual({
      from: 'human',
      value: '<image>\nWhat shape is shown, and what colour is it?',
    });
    const thumb = await service.getThumbnail(detail.images[0]!.id, 128);
    expect(thumb.path).toContain(path.join('project', 'cache', 'thumbs', '128'));
    await expect(service.getThumbnail(9999, 128)).rejects.toMatchObject({ kind: 'not-found' });
    await expect(service.getThumbnail(detail.images[0]!.id, 100)).rejects.toMatchObject({ kind: 'bad-input' });
    await service.close();
  });

  it('reports an entry whose image count does not match its <image> placeholders', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const [img] = await drawImages(root, 1);
    const file = path.join(dir, 'd.json');
    const entry = {
      id: 'x',
      image: img,
      conversations: [
        { from: 'human', value: 'no placeholder' },
        { from: 'gpt', value: 'a' },
      ],
    };
    await writeFile(file, JSON.stringify([entry, llavaEntry(1, img!)]));
    const { problems } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
    expect(problems.map((p) => [p.index, p.entryId, p.reason])).toEqual([[0, 'x', 'malformed-entry']]);
    expect(problems[0]!.message).toMatch(/1 image\(s\) but 0 <image> placeholder/);
    await service.close();
  });

  it('imports what precedes a truncated JSON file and reports where it broke', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const [img] = await drawImages(root, 1);
    const file = path.join(dir, 'd.json');
    await writeFile(
      file,
      `[${JSON.stringify(llavaEntry(0, img!))}, ${JSON.stringify(llavaEntry(1, img!))}, {"id": "cut`,
    );
    const { job, problems } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
    expect(job.result).toMatchObject({ samples: 2 });
    expect(problems.map((p) => [p.index, p.reason])).toEqual([[2, 'malformed-entry']]);
    expect(problems[0]!.message).toMatch(/not valid JSON after entry 2/);
    await service.close();
  });

  it('with abortOnProblem fails at the first bad entry and imports nothing', async () => {
    const { service, dir } = await serviceWithProject();
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 20 });
    const { job } = await runImport(service, { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot }, true);
    expect(job.state).toBe('failed');
    expect(job.error?.message).toMatch(/import stopped at entry 5 \(id bad-missing\)/);
    expect((await service.handlers['samples.page']({ offset: 0, limit: 10, filter: {} })).total).toBe(0);
    expect((await service.handlers['sources.list']({})).sources).toEqual([]);
    await service.close();
  });

  it('a cancelled import leaves no samples (all-or-nothing)', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const imgs = await drawImages(root, 3);
    const file = path.join(dir, 'big.jsonl');
    const lines = Array.from({ length: 6000 }, (_, i) => JSON.stringify(llavaEntry(i, imgs[i % 3]!)));
    await writeFile(file, lines.join('\n'));
    const { jobId } = await service.handlers['dataset.import']({
      source: { kind: 'llava', file, imagesRoot: root },
      abortOnProblem: false,
    });
    await new Promise<void>((resolve) => {
      const off = service.onEvent((e) => {
        if (e.type === 'job.progress' && e.jobId === jobId) {
          off();
          resolve();
        }
      });
    });
    await service.handlers['jobs.cancel']({ id: jobId });
    const job = await waitFinal(service, jobId);
    expect(job.state).toBe('cancelled');
    expect((await service.handlers['samples.page']({ offset: 0, limit: 10, filter: {} })).total).toBe(0);
    await service.close();
  });
});

describe('JSONL import', () => {
  it('reports malformed lines with their line number and keeps reading', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const [img] = await drawImages(root, 1);
    const file = path.join(dir, 'd.jsonl');
    await writeFile(
      file,
      [JSON.stringify(llavaEntry(0, img!)), '', '{"id": broken', JSON.stringify(llavaEntry(1, null)), '[1,2]'].join(
        '\n',
      ),
    );
    const { job, problems } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
    expect(job.result).toMatchObject({ samples: 2, problemEntries: 2 });
    expect(problems.map((p) => [p.index, p.line, p.reason])).toEqual([
      [1, 3, 'malformed-entry'],
      [3, 5, 'malformed-entry'],
    ]);
    expect(problems[0]!.message).toMatch(/line 3 is not valid JSON/);
    await service.close();
  });
});

describe('files that are not LLaVA data', () => {
  it('fails the import with bad-file when the file is neither a JSON array nor JSON Lines', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    await mkdir(root);
    const files: [string, string][] = [
      ['object.json', '{\n  "data": []\n}\n'],
      ['text.json', 'hello world\n'],
      ['broken.json', '[{"id": '],
    ];
    for (const [name, text] of files) {
      const file = path.join(dir, name);
      await writeFile(file, text);
      const { job } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
      expect(job.state, name).toBe('failed');
      expect(job.error).toMatchObject({ kind: 'bad-file', subject: file });
      expect(job.error?.message).toContain('is not a LLaVA dataset');
    }
    expect((await service.handlers['samples.page']({ offset: 0, limit: 10, filter: {} })).total).toBe(0);
    await service.close();
  });
});

describe('folder import', () => {
  it('imports every image under the folder in sorted order and reports symlinks and corrupt files', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'photos');
    await drawImages(root, 3);
    await mkdir(path.join(root, 'nested'), { recursive: true });
    await drawImages(path.join(root, 'nested'), 1);
    await writeFile(path.join(root, 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    await writeFile(path.join(root, 'notes.txt'), 'not an image');
    await symlink(path.join(root, 'img', '00000-red-circle.jpg'), path.join(root, 'link.jpg'));
    const { job, problems } = await runImport(service, { kind: 'folder', root });
    expect(job.state).toBe('done');
    const page = await service.handlers['samples.page']({ offset: 0, limit: 20, filter: {} });
    expect(page.items.map((s) => s.externalId)).toEqual([
      'broken.png',
      'img/00000-red-circle.jpg',
      'img/00001-green-circle.jpg',
      'img/00002-blue-circle.jpg',
      'link.jpg',
      'nested/img/00000-red-circle.jpg',
    ]);
    expect(problems.map((p) => [p.entryId, p.reason])).toEqual([
      ['broken.png', 'unreadable-image'],
      ['link.jpg', 'symlink'],
    ]);
    await service.close();
  });
});
