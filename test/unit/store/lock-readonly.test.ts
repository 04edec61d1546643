// A read-only project folder (issue 13 item 6): taking the lock says the
// project is read-only instead of a raw EACCES stack trace. Tests run as root,
// where chmod does not stop writes, so the file system's EACCES is simulated.
import type * as nodeFs from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LOCK_FILE, lockProject } from '../../../electron/store/lock';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof nodeFs>();
  const writeFileSync: typeof fs.writeFileSync = (file, data, options) => {
    if (String(file).includes(`${path.sep}readonly-`) && String(file).includes(LOCK_FILE)) {
      throw Object.assign(new Error(`EACCES: permission denied, open '${String(file)}'`), { code: 'EACCES' });
    }
    fs.writeFileSync(file, data, options);
  };
  return { ...fs, default: { ...fs, writeFileSync }, writeFileSync };
});

describe('project lock in a read-only folder', () => {
  it('refuses with a conflict that says the project is read-only', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'readonly-'));
    let error: unknown;
    try {
      lockProject(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      kind: 'conflict',
      subject: dir,
      message: expect.stringContaining(`${dir} is read-only (EACCES`),
    });
  });

  it('still takes the lock in a writable folder', () => {
    const release = lockProject(mkdtempSync(path.join(os.tmpdir(), 'writable-')));
    release();
  });
});
