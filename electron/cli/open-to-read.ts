// How the CLI's read-only commands (jobs, pairs, export) open a project:
// as usual when no other process holds it, read-only beside the holder when
// one does (`serve`, the demo, the app), so they work while the UI is up, and
// read-only without a lock when this process may not write the project's files.
import path from 'node:path';
import { openProject, openProjectReadOnly, type ProjectStore } from '../db';
import type { Service } from '../service';
import { filesWritable } from '../store/database';
import { projectHolder } from '../store/lock';
import { projectDbPath } from '../store/project';

/** Open without the lock: another process holds the project, or its files cannot be written (nor a lock taken). */
function readBeside(abs: string): boolean {
  return projectHolder(abs) !== null || !filesWritable(projectDbPath(abs));
}

/** Opens the project in the service for commands that only read it. */
export async function openServiceToRead(service: Service, dir: string): Promise<void> {
  const abs = path.resolve(dir);
  if (readBeside(abs)) await service.openReadOnly(abs);
  else await service.handlers['project.open']({ dir: abs });
}

/** The project's store for a command that reads it directly (no job starts or resumes). */
export function openStoreToRead(dir: string): Promise<ProjectStore> {
  const abs = path.resolve(dir);
  return readBeside(abs) ? openProjectReadOnly(abs) : openProject(abs);
}
