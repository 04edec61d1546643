// Dataset import against hostile input (issue 13): a NUL byte in an image
// path, files with no entries, special files named as images, progress
// estimates, invalid UTF-8. Each is a typed problem, never a hang or a crash.
import { execFileSync } from 'node:child_process';
import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drawImages, llavaEntry } from '../../../electron/io/demo-dataset';
import { MAX_IMAGE_BYTES } from '../../../electron/io/images';
import { readLlavaEntries } from '../../../electron/io/llava/read';
import { invalidUtf8At, Utf8Check } from '../../../electron/io/llava/utf8';
import { removeTempDirs, runImport, serviceWithProject, tempDir } from './helpers';

afterAll(removeTempDirs);

describe('import hardening', () => {
  it('a NUL byte in one entry image path is that entry problem, not an internal error', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    const [img] = await drawImages(root, 1);
    const file = path.join(dir, 'd.json');
    await writeFile(
      file,
      JSON.stringify([llavaEntry(0, img!), { ...llavaEntry(1, img!), image: 'a\u0000b.jpg' }, llavaEntry(2, img!)]),
    );
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
    for (const [name, text] of [
      ['object.json', '{"data": []}\n'],
      ['empty.json', ''],
      ['array.json', '[]'],
      ['blank.jsonl', '\n\n'],
    ] as const) {
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

describe('progress of a JSONL file', () => {
  it('counts the bytes of the lines consumed, not the bytes buffered ahead', async () => {
    const dir = tempDir();
    const lines = [0, 1, 2].map((i) => JSON.stringify(llavaEntry(i, null)));
    const file = path.join(dir, 'd.jsonl');
    await writeFile(file, lines.join('\n') + '\n');
    const read: number[] = [];
    for await (const e of readLlavaEntries(file, 'jsonl')) read.push(e.bytesRead);
    const ends = lines.map((_, i) => Buffer.byteLength(lines.slice(0, i + 1).join('\n')) + 1);
    expect(read).toEqual(ends);
  });
});

describe('invalid UTF-8', () => {
  it('is a problem with the entry index and the byte offset, in JSON Lines and in a JSON array', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    await drawImages(root, 1);
    const good = Buffer.from(JSON.stringify(llavaEntry(0, null)) + '\n');
    const bad = Buffer.from(JSON.stringify(llavaEntry(1, null)).replace('There', 'Th\u00ffre'), 'latin1');
    const jsonl = path.join(dir, 'd.jsonl');
    await writeFile(
      jsonl,
      Buffer.concat([good, bad, Buffer.from('\n'), Buffer.from(JSON.stringify(llavaEntry(2, null)))]),
    );
    const lines = await runImport(service, { kind: 'llava', file: jsonl, imagesRoot: root });
    expect(lines.job.result).toMatchObject({ samples: 2 });
    expect(lines.problems.map((p) => [p.index, p.line, p.reason])).toEqual([[1, 2, 'malformed-entry']]);
    expect(lines.problems[0]!.message).toContain(`invalid UTF-8 at byte offset ${good.length + bad.indexOf(0xff)}`);

    const json = path.join(dir, 'd.json');
    const head = Buffer.from(`[${JSON.stringify(llavaEntry(0, null))},`);
    await writeFile(json, Buffer.concat([head, bad, Buffer.from(']')]));
    const array = await runImport(service, { kind: 'llava', file: json, imagesRoot: root });
    expect(array.job.result).toMatchObject({ samples: 1 });
    expect(array.problems.map((p) => [p.index, p.reason])).toEqual([[1, 'malformed-entry']]);
    expect(array.problems[0]!.message).toContain(`invalid UTF-8 at byte offset ${head.length + bad.indexOf(0xff)}`);
    await service.close();
  });

  it('passes valid multi-byte text cut anywhere between chunks, and finds the first bad byte', async () => {
    const text = Buffer.from('aé€😀z');
    for (let cut = 0; cut <= text.length; cut++) {
      const check = new Utf8Check();
      const out: Buffer[] = [];
      check.on('data', (c: Buffer) => out.push(c));
      check.write(text.subarray(0, cut));
      check.end(text.subarray(cut));
      await new Promise((r) => check.on('end', r));
      expect(Buffer.concat(out).equals(text), `cut at ${cut}`).toBe(true);
      expect(check.problem).toBeNull();
    }
    const check = new Utf8Check();
    check.resume();
    check.end(Buffer.from([0x61, 0x62, 0xff, 0x63]));
    await new Promise((r) => check.on('end', r));
    expect(check.problem).toBe('invalid UTF-8 at byte offset 2 of the file');
    expect(invalidUtf8At(Buffer.from([0x61, 0xc0, 0x80]))).toBe(1); // overlong
    expect(invalidUtf8At(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // surrogate
    expect(invalidUtf8At(Buffer.from([0x61, 0xe2, 0x82]))).toBe(1); // cut at the end
    expect(invalidUtf8At(text)).toBe(-1);
  });
});
