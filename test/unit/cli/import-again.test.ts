// Issue 13 item 1: importing the same source again on purpose (same path, same
// content) is refused with a message naming the earlier import, unless
// `--again` (CLI) / `again: true` (API); changed content is a new import.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../electron/cli/command';
import { runCli } from '../../../electron/cli/run';
import { llavaEntry, makeDemoDataset } from '../../../electron/io/demo-dataset';
import { createProject } from '../../../electron/db';
import { AppError } from '../../../shared/errors';
import { removeTempDirs, runImport, serviceWithProject, tempDir } from '../io/helpers';

afterAll(removeTempDirs);

function memoryIo(): CliIo & { err(): string } {
  let err = '';
  const sink = (write: (s: string) => void) =>
    new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
  return { stdout: sink(() => undefined), stderr: sink((s) => (err += s)), tty: false, err: () => err };
}

describe('importing the same source again', () => {
  it('is refused naming the earlier import (job, date, samples) unless again: true; new content is imported', async () => {
    const { service, dir } = await serviceWithProject();
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 6, bad: false });
    const source = { kind: 'llava' as const, file: ds.file, imagesRoot: ds.imagesRoot };
    const first = await runImport(service, source);
    expect(first.job.state).toBe('done');

    const refused = await service.handlers['dataset.import']({ source, abortOnProblem: false }).catch((e) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ kind: 'conflict', subject: ds.file });
    const day = new Date().toISOString().slice(0, 10);
    expect(refused.message).toContain(`${ds.file} was already imported`);
    expect(refused.message).toMatch(new RegExp(`by job ${first.job.id} on ${day} \\d\\d:\\d\\d UTC \\(6 samples\\)`));
    expect(refused.message).toContain('--again');

    const again = await runImport(service, source, false, true);
    expect(again.job.state).toBe('done');
    // Changed content at the same path is a different dataset: imported without --again.
    const entries = JSON.parse(await readFile(ds.file, 'utf8')) as unknown[];
    await writeFile(ds.file, JSON.stringify([...entries, llavaEntry(99, null)]));
    const changed = await runImport(service, source);
    expect(changed.job.state).toBe('done');
    const { sources } = await service.handlers['sources.list']({});
    expect(sources.map((s) => s.sampleCount)).toEqual([6, 6, 7]);
    await service.close();
  }, 60_000);

  it('the CLI refuses with exit 1 and the message, and imports with --again', async () => {
    const root = tempDir('again-');
    const project = path.join(root, 'project');
    await (await createProject(project)).close();
    const ds = await makeDemoDataset(path.join(root, 'data'), { samples: 4, bad: false });
    const args = ['import', project, '--llava', ds.file, '--images', ds.imagesRoot];
    expect(await runCli(args, memoryIo())).toBe(0);
    const io = memoryIo();
    expect(await runCli(args, io)).toBe(1);
    expect(io.err()).toMatch(/was already imported, with the same content, by job 1 on .* \(4 samples\)/);
    expect(await runCli([...args, '--again'], memoryIo())).toBe(0);
  }, 60_000);
});
