// Opens a project database safely: integrity check first (a damaged file is
// opened read-only and never written), refusal of files from a newer version,
// then pending migrations in one transaction that also sets user_version.
// A shared open (`readOnly`) reads beside the process that holds the project:
// no migrations, and SQLite refuses every write. Files the process may not
// write (a read-only folder, file or file system) are opened read-only too,
// and said to be read-only, not damaged.
import Database from 'better-sqlite3';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../shared/errors';
import { sqliteNativeBinding } from './native-binding';
import { checkMigrationOrder, latestVersion, type Migration } from './migrations';
import { READ_ONLY_WHY, type ReadOnlyReason } from './read-only';

export interface OpenedDatabase {
  db: Database.Database;
  /** True when the file failed `quick_check` or was opened `readOnly`: reads work, writes are refused by SQLite. */
  readOnly: boolean;
  reason: ReadOnlyReason | null;
  /** What `quick_check` reported, when it failed. */
  damage: string | null;
  version: number;
}

export interface OpenOptions {
  /** Create the file when missing (project.create); otherwise a missing file is 'not-found'. */
  create?: boolean;
  /** The project's ordered migrations (electron/db assembles them). */
  migrations: readonly Migration[];
  /**
   * Read beside another process (WAL lets readers and the one writer work at once):
   * nothing is written, so no migration runs and a file at another schema is refused.
   */
  readOnly?: boolean;
}

let bindingOptions: { nativeBinding?: string } | undefined;

/** Spread into every `new Database` here; resolved once per thread. */
function bindingOption(): { nativeBinding?: string } {
  if (bindingOptions === undefined) {
    const nativeBinding = sqliteNativeBinding(process.versions, path.dirname(fileURLToPath(import.meta.url)));
    bindingOptions = nativeBinding === undefined ? {} : { nativeBinding };
  }
  return bindingOptions;
}

function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  // FULL: a committed unit of work and its job cursor survive power loss, not only a crash.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
}

/**
 * What a `quick_check` finds. A crash can leave work that only a writer may finish: a hot rollback
 * journal (the switch of a new file to WAL runs in rollback mode) or a WAL index to rebuild. A
 * read-only connection then fails with SQLITE_READONLY_ROLLBACK / _RECOVERY: that is no damage.
 */
type Integrity = { kind: 'ok' } | { kind: 'damaged'; report: string } | { kind: 'needs-writer' };

const WRITER_RECOVERY = new Set(['SQLITE_READONLY_ROLLBACK', 'SQLITE_READONLY_RECOVERY']);

function checkIntegrity(db: Database.Database): Integrity {
  try {
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const messages = rows.map((r) => r.quick_check);
    if (messages.length === 1 && messages[0] === 'ok') return { kind: 'ok' };
    const report = messages.slice(0, 5).join('; ');
    return { kind: 'damaged', report: report.length > 600 ? `${report.slice(0, 600)}...` : report };
  } catch (e) {
    if (WRITER_RECOVERY.has(String((e as { code?: unknown }).code))) return { kind: 'needs-writer' };
    return { kind: 'damaged', report: e instanceof Error ? e.message : String(e) };
  }
}

export function migrate(db: Database.Database, file: string, migrations: readonly Migration[]): number {
  checkMigrationOrder(migrations);
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = latestVersion(migrations);
  if (current > latest) {
    throw new AppError(
      'conflict',
      `${file} was written by a newer version of MIA-DPO Studio (schema ${current}, this version knows up to ${latest}); update the app to open it`,
      { subject: file },
    );
  }
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return current;
  db.transaction(() => {
    for (const m of pending) m.up(db);
    db.pragma(`user_version = ${latest}`);
  })();
  return latest;
}

function openReadOnly(file: string, damage: string, migrations: readonly Migration[]): OpenedDatabase {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, ...bindingOption() });
  } catch (e) {
    throw new AppError('bad-file', `${file} is damaged and cannot be opened even read-only: ${damage}`, {
      subject: file,
      cause: e,
    });
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > latestVersion(migrations)) {
    db.close();
    throw new AppError('conflict', `${file} was written by a newer version of MIA-DPO Studio (schema ${version})`, {
      subject: file,
    });
  }
  return { db, readOnly: true, reason: 'damaged', damage, version };
}

/** False when this process may not write the database file or its folder (EACCES, EROFS): SQLite could not either. */
export function filesWritable(file: string): boolean {
  try {
    accessSync(path.dirname(file), constants.W_OK);
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A read-only connection. A WAL database needs its -shm file; in a folder where it cannot be created
 * (read-only media, a closed project copied without one) the file is read into memory as a snapshot
 * (header set to the rollback journal, which needs no -shm), like sqlite3's `immutable=1`.
 */
function openReadConnection(file: string): Database.Database {
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, ...bindingOption() });
    // The -shm problem shows at the first read (SQLITE_READONLY_CANTINIT), not at the open.
    db.pragma('user_version', { simple: true });
    return db;
  } catch (e) {
    db?.close();
    const code = String((e as { code?: unknown }).code);
    const noShm = code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_READONLY');
    if (!noShm || existsSync(`${file}-wal`)) throw e;
    const bytes = readFileSync(file);
    // Bytes 18-19: file format write/read version, 2 = WAL, 1 = rollback journal.
    if (bytes.length >= 100) bytes.fill(1, 18, 20);
    return new Database(bytes, { readonly: true, ...bindingOption() });
  }
}

function openShared(file: string, migrations: readonly Migration[], reason: ReadOnlyReason): OpenedDatabase {
  let db: Database.Database;
  try {
    db = openReadConnection(file);
  } catch (e) {
    throw new AppError('bad-file', `${file} cannot be opened to read: ${(e as Error).message}`, {
      subject: file,
      cause: e,
    });
  }
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  const latest = latestVersion(migrations);
  if (version !== latest) {
    db.close();
    const why =
      version > latest
        ? `was written by a newer version of MIA-DPO Studio (schema ${version}, this version knows up to ${latest}); update the app to open it`
        : reason === 'shared'
          ? `needs an upgrade (schema ${version} to ${latest}), which only the process holding the project can do; run this again once that process has opened or closed it`
          : `needs an upgrade (schema ${version} to ${latest}), which cannot be written because ${READ_ONLY_WHY[reason]}`;
    throw new AppError('conflict', `${file} ${why}`, { subject: file });
  }
  return { db, readOnly: true, reason, damage: null, version };
}

export function openDatabase(file: string, options: OpenOptions): OpenedDatabase {
  const { migrations } = options;
  const exists = existsSync(file);
  if (!exists && !options.create) throw new AppError('not-found', `no project database at ${file}`, { subject: file });
  if (options.readOnly) return openShared(file, migrations, filesWritable(file) ? 'shared' : 'read-only-files');
  // Before any open: a read-only folder makes even the integrity probe fail, which is no damage.
  if (exists && !filesWritable(file)) return openShared(file, migrations, 'read-only-files');
  let db: Database.Database;
  try {
    // Read-only first: nothing (not even WAL setup) touches a file before it passes the check.
    let recovering = false;
    if (exists) {
      const probe = new Database(file, { readonly: true, fileMustExist: true, ...bindingOption() });
      const found = checkIntegrity(probe);
      probe.close();
      if (found.kind === 'damaged') return openReadOnly(file, found.report, migrations);
      recovering = found.kind === 'needs-writer';
    }
    db = new Database(file, bindingOption());
    if (recovering) {
      // The first read on this connection rolls the journal back or rebuilds the WAL index; then check.
      const found = checkIntegrity(db);
      if (found.kind !== 'ok') {
        db.close();
        return openReadOnly(
          file,
          found.kind === 'damaged' ? found.report : 'recovery after a crash failed',
          migrations,
        );
      }
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    return openReadOnly(file, e instanceof Error ? e.message : String(e), migrations);
  }
  try {
    configure(db);
    const version = migrate(db, file, migrations);
    return { db, readOnly: false, reason: null, damage: null, version };
  } catch (e) {
    db.close();
    throw e;
  }
}
