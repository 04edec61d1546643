// One process per project: a job found 'running' is resumed on open, which is
// only right if no other process is running it. The lock is a file holding
// the owner's pid; a lock whose process is gone (a crash) is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';

export const LOCK_FILE = 'project.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the project's lock or throws 'conflict' naming the process that holds it. Returns the release function. */
export function lockProject(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        const who = owner === process.pid ? 'this process' : `process ${owner}`;
        throw new AppError('conflict', `${dir} is already open in ${who}; close it there first`, { subject: dir });
      }
      rmSync(file, { force: true });
    }
  }
  throw new AppError('conflict', `${dir}: another process took the project lock at the same time`, { subject: dir });
}
