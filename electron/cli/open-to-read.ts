// How the CLI's read-only commands (jobs, pairs, export) open a project:
// as usual when no other process holds it, read-only beside the holder when
// one does (`serve`, the demo, the app), so they work while the UI is up.
import path from 'node:path';
import { openProject, openProjectReadOnly, type ProjectStore } from '../db';
import type { Service } from '../service';
import { projectHolder } from '../store/lock';

/** Opens the project in the service for commands that only read it. */
export async function openServiceToRead(service: Service, dir: string): Promise<void> {
  const abs = path.resolve(dir);
  if (projectHolder(abs) === null) await service.handlers['project.open']({ dir: abs });
  else await service.openReadOnly(abs);
}

/** The project's store for a command that reads it directly (no job starts or resumes). */
export function openStoreToRead(dir: string): Promise<ProjectStore> {
  const abs = path.resolve(dir);
  return projectHolder(abs) === null ? openProject(abs) : openProjectReadOnly(abs);
}
