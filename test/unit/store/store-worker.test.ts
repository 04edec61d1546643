// The store as callers see it: the worker answers sequenced queries (in any
// number at once), errors come back with their kind, and a damaged project
// opens read-only through the service with writes refused.
import { closeSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createService } from '../../../electron/service';
import { createProject, openProject } from '../../../electron/db';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'store-worker-'));

describe('store worker', () => {
  it('answers many concurrent calls, each with its own result', async () => {
    const store = await createProject(path.join(tmp(), 'p'));
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k, i) => store.call('setMeta', { values: { [k]: String(i) } })));
    const jobs = await Promise.all(
      keys.slice(0, 20).map((k) => store.call('insertJob', { kind: 'x', label: k, params: {}, total: null })),
    );
    expect(jobs.map((j) => j.label)).toEqual(keys.slice(0, 20));
    const meta = await store.call('getMeta');
    expect(keys.every((k, i) => meta[k] === String(i))).toBe(true);
    await store.close();
    await expect(store.call('getMeta')).rejects.toMatchObject({ kind: 'conflict' });
  });

  it('reports a failing query as an AppError with a kind, and keeps working', async () => {
    const store = await createProject(path.join(tmp(), 'p'));
    const job = await store.call('insertJob', { kind: 'x', label: 'x', params: {}, total: null });
    await expect(store.call('setJobState', { id: job.id, state: 'bogus' as never })).rejects.toMatchObject({
      kind: 'internal',
      message: expect.stringMatching(/CHECK constraint/),
    });
    expect((await store.call('getJob', { id: job.id }))?.state).toBe('queued');
    await store.close();
  });

  it('opens a damaged project read-only: browsing works, importing is refused', async () => {
    const dir = path.join(tmp(), 'p');
    const store = await createProject(dir);
    await store.call('setMeta', {
      values: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`pad-${i}`, 'x'.repeat(200)])),
    });
    await store.close();
    const file = path.join(dir, 'project.sqlite');
    const pages = readFileSync(file).length / 4096;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(256, 0x5a), 0, 256, Math.floor(pages / 2) * 4096 + 16);
    closeSync(fd);

    const reopened = await openProject(dir);
    expect(reopened.readOnly).toBe(true);
    await reopened.close();

    const service = await createService({ configDir: path.join(dir, '..', 'config') });
    const events: string[] = [];
    service.onEvent((e) => e.type === 'log' && events.push(e.message));
    const info = await service.handlers['project.open']({ dir });
    expect(info.readOnly).toBe(true);
    expect(events.join('\n')).toMatch(/integrity check.*read-only/);
    await expect(
      service.handlers['dataset.import']({ source: { kind: 'folder', root: dir }, abortOnProblem: false }),
    ).rejects.toMatchObject({ kind: 'conflict' });
    await service.close();
  });
});
