// One process per project: a second open is refused while the first holds
// the lock, and a lock left by a dead process (a crash) is taken over.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../../electron/store/lock';
import { createProjectExclusive, openProjectExclusive } from '../../../electron/db';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'lock-'));

describe('project lock', () => {
  it('refuses a second open until the first closes', async () => {
    const dir = path.join(tmp(), 'p');
    const first = await createProjectExclusive(dir);
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    await expect(openProjectExclusive(dir)).rejects.toMatchObject({ kind: 'conflict', message: expect.stringMatching(/already open in this process/) });
    await first.close();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    const second = await openProjectExclusive(dir);
    await second.close();
  });

  it('takes over the lock of a process that no longer exists', async () => {
    const dir = path.join(tmp(), 'p');
    await (await createProjectExclusive(dir)).close();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(path.join(dir, LOCK_FILE), gone.stdout);
    const store = await openProjectExclusive(dir);
    await store.close();
  });
});
