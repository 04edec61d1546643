// One process per project: a job found 'running' is resumed on open, which is
// only right if no other process is running it. The lock is a file holding
// the owner's pid (and, once it serves the UI, the address: a second line);
// a lock whose process is gone (a crash) is taken over. Commands that only
// read open the database read-only beside the holder (see ./project).
// Every change of the lock file is atomic (link, rename): see decision 0201.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';

export const LOCK_FILE = 'project.lock';

/** The process that holds a project, and where it serves the UI if it does. */
export interface LockHolder {
  pid: number;
  url: string | null;
}

/**
 * Whether `pid` is a running process. A zombie (killed, not yet reaped by its
 * parent: a SIGKILLed CLI whose wrapper died with it) answers kill(pid, 0) but
 * will never run again, so on Linux its /proc state (Z, X) counts as gone.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !exited(pid);
}

function exited(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // Gone since kill(pid, 0) where there is a /proc; elsewhere (macOS, Windows) kill(pid, 0) is the answer.
    return existsSync('/proc/self/stat');
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

function readLock(file: string): LockHolder | null {
  const text = readText(file);
  return text === null ? null : parseLock(text);
}

function parseLock(text: string): LockHolder | null {
  const [pidLine, urlLine] = text.split('\n');
  const pid = Number(pidLine?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { pid, url: urlLine?.trim() || null };
}

/** The live process holding the project's lock, or null when none does. */
export function projectHolder(dir: string): LockHolder | null {
  const holder = readLock(path.join(dir, LOCK_FILE));
  return holder !== null && alive(holder.pid) ? holder : null;
}

/** What a second process should do about a project another one holds: the message of the lock conflict. */
export function heldMessage(dir: string, holder: LockHolder): string {
  const where = holder.url === null ? '' : ` (serving its UI at ${holder.url})`;
  const ui = holder.url === null ? '' : `use the UI at ${holder.url}, or `;
  return (
    `${dir} is already open in process ${holder.pid}${where}. Commands that only read (jobs, pairs, export) work meanwhile; ` +
    `to change the project, ${ui}stop that process first (Ctrl-C in its terminal, or kill ${holder.pid})`
  );
}

/** A file only this process writes, so that the lock appears complete (never empty) through link or rename. */
function privateFile(file: string, text: string): string {
  const own = `${file}.${process.pid}-${randomBytes(6).toString('hex')}`;
  writeFileSync(own, text, { flag: 'wx' });
  return own;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Sleeps the thread for a few milliseconds (lockProject is synchronous). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes a file whose content is still `expected`, or leaves things as they were. The rename is
 * atomic and the moved file is re-read: if it is not the expected one any more, it is put back.
 * Used only for files whose owner is dead (a takeover mutex left by a crash).
 */
function removeIfStill(file: string, expected: string): void {
  const moved = `${file}.stale-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(file, moved);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    if (readText(moved) !== expected) linkSync(moved, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(moved, { force: true });
  }
}

type Takeover = 'taken' | 'busy' | 'lost';

/**
 * Replaces the stale lock whose content is `staleText` with ours. Only the holder of the takeover
 * mutex (a second file made by link, so exactly one process has it) removes a lock, and only after
 * re-reading it under the mutex: a live lock is never moved aside, even for an instant, so no other
 * process can slip in while it is missing (the race of issue 13 item 3).
 */
function takeOver(file: string, own: string, staleText: string): Takeover {
  const mutex = `${file}.takeover`;
  const mine = privateFile(mutex, String(process.pid));
  try {
    try {
      linkSync(mine, mutex);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const text = readText(mutex);
      const holder = text === null ? null : parseLock(text);
      // A mutex left by a process that died inside the takeover: clear it and try again.
      if (text !== null && (holder === null || !alive(holder.pid))) removeIfStill(mutex, text);
      return 'busy';
    }
    try {
      if (readText(file) === staleText) rmSync(file, { force: true });
      try {
        linkSync(own, file);
        return 'taken';
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return 'lost';
      }
    } finally {
      rmSync(mutex, { force: true });
    }
  } finally {
    rmSync(mine, { force: true });
  }
}

/** Takes the project's lock or throws 'conflict' naming the process that holds it and what to do. Returns the release function. */
export function lockProject(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  let own: string;
  try {
    own = privateFile(file, String(process.pid));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw e;
    // A read-only folder: say so rather than show the raw file-system error.
    throw new AppError(
      'conflict',
      `${dir} is read-only (${code}: cannot create ${LOCK_FILE}); commands that only read it (jobs, pairs, export) may still work`,
      {
        subject: dir,
        cause: e,
      },
    );
  }
  const release = () => rmSync(file, { force: true });
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        // link() never replaces an existing lock, and the lock it makes already holds our pid.
        linkSync(own, file);
        return release;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const text = readText(file);
      if (text === null) continue;
      const holder = parseLock(text);
      if (holder !== null && alive(holder.pid)) {
        if (holder.pid === process.pid)
          throw new AppError('conflict', `${dir} is already open in this process; close it there first`, {
            subject: dir,
          });
        throw new AppError('conflict', heldMessage(dir, holder), { subject: dir });
      }
      const outcome = takeOver(file, own, text);
      if (outcome === 'taken') return release;
      // 'busy': another process is taking it over; look again shortly (it will hold it, or it gave up).
      if (outcome === 'busy') pause(2);
    }
  } finally {
    rmSync(own, { force: true });
  }
  throw new AppError('conflict', `${dir}: another process took the project lock at the same time`, { subject: dir });
}

/** Records the address this process serves the project's UI at in the lock it holds (no token: the file is readable by others). */
export function noteServedUrl(dir: string, url: string): void {
  const file = path.join(dir, LOCK_FILE);
  if (readLock(file)?.pid !== process.pid) return;
  const address = new URL(url);
  address.search = '';
  address.hash = '';
  // Replaced by rename, never rewritten in place: a reader must not see it empty and judge it stale.
  renameSync(privateFile(file, `${process.pid}\n${address.href}`), file);
}
