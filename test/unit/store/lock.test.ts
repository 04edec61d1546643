// One process per project: a second open is refused while the first holds
// the lock, and a lock left by a dead process (a crash) is taken over.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, LOCK_FILE, noteServedUrl, projectHolder } from '../../../electron/store/lock';
import { createProjectExclusive, openProject, openProjectExclusive, openProjectReadOnly } from '../../../electron/db';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'lock-'));

describe('project lock', () => {
  it('refuses a second open until the first closes', async () => {
    const dir = path.join(tmp(), 'p');
    const first = await createProjectExclusive(dir);
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    await expect(openProjectExclusive(dir)).rejects.toMatchObject({
      kind: 'conflict',
      message: expect.stringMatching(/already open in this process/),
    });
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

  it.runIf(existsSync('/proc/self/stat'))(
    'takes over the lock of a killed process not yet reaped (a zombie answers kill(pid, 0))',
    async () => {
      const dir = path.join(tmp(), 'p');
      await (await createProjectExclusive(dir)).close();
      // The background sleep exits after its parent shell became `sleep 5` (exec), which never reaps it: a zombie.
      const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 8'], { stdio: ['ignore', 'pipe', 'ignore'] });
      try {
        const pid = Number((await once(parent.stdout, 'data'))[0].toString().trim());
        const state = () => readFileSync(`/proc/${pid}/stat`, 'utf8');
        for (let i = 0; i < 160 && !/\) Z /.test(state()); i++) await new Promise((r) => setTimeout(r, 50));
        expect(() => process.kill(pid, 0)).not.toThrow();
        expect(state()).toMatch(/\) Z /);
        expect(alive(pid)).toBe(false);
        expect(alive(process.pid)).toBe(true);
        writeFileSync(path.join(dir, LOCK_FILE), String(pid));
        const store = await openProjectExclusive(dir);
        await store.close();
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );

  it('tells a second process who holds the project, where its UI is, and what to do', async () => {
    const dir = path.join(tmp(), 'p');
    await (await createProjectExclusive(dir)).close();
    // The parent process (vitest's) is alive and is not this one: it stands for a `serve` elsewhere.
    writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\nhttp://127.0.0.1:4567/`);
    expect(projectHolder(dir)).toEqual({ pid: process.ppid, url: 'http://127.0.0.1:4567/' });
    const refused = openProjectExclusive(dir);
    await expect(refused).rejects.toMatchObject({ kind: 'conflict' });
    const message = (await refused.catch((e: Error) => e.message)) as string;
    expect(message).toContain(`already open in process ${process.ppid} (serving its UI at http://127.0.0.1:4567/)`);
    expect(message).toContain('Commands that only read (jobs, pairs, export) work meanwhile');
    expect(message).toContain(
      `use the UI at http://127.0.0.1:4567/, or stop that process first (Ctrl-C in its terminal, or kill ${process.ppid})`,
    );
    rmSync(path.join(dir, LOCK_FILE));
    expect(projectHolder(dir)).toBeNull();
  });

  it('records the served address in its own lock, without the token', async () => {
    const dir = path.join(tmp(), 'p');
    const store = await createProjectExclusive(dir);
    noteServedUrl(dir, 'http://127.0.0.1:5000/?token=secret');
    expect(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\nhttp://127.0.0.1:5000/`);
    await store.close();
  });

  it('reads a held project read-only: no lock taken, writes refused with a clear message', async () => {
    const dir = path.join(tmp(), 'p');
    const holder = await createProjectExclusive(dir, 'held');
    const reader = await openProjectReadOnly(dir);
    expect(reader.readOnly).toBe(true);
    expect(reader.damage).toBeNull();
    expect(await reader.call('getMeta')).toMatchObject({ name: 'held' });
    await expect(reader.call('setMeta', { values: { name: 'x' } })).rejects.toMatchObject({
      kind: 'conflict',
      message: expect.stringMatching(
        /open read-only \(opened to read beside the process that holds the project\); changes are not possible/,
      ),
    });
    // The holder keeps writing while the reader is open (WAL), and the reader sees it.
    await holder.call('setMeta', { values: { name: 'renamed' } });
    expect(await reader.call('getMeta')).toMatchObject({ name: 'renamed' });
    await reader.close();
    expect(readFileSync(path.join(dir, LOCK_FILE), 'utf8')).toBe(String(process.pid));
    await holder.close();
  });

  it('names the subfolder that is a project when given the folder around it', async () => {
    const root = tmp();
    await (await createProjectExclusive(path.join(root, 'project'))).close();
    for (const open of [openProject, openProjectExclusive, openProjectReadOnly]) {
      await expect(open(root)).rejects.toMatchObject({
        kind: 'not-found',
        message: expect.stringContaining(`did you mean ${path.join(root, 'project')}?`),
      });
    }
  });
});
