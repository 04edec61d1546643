// Shared by the import tests: a service on a fresh project, and an import run
// to its final state.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FINAL_JOB_STATES, type ImportSource, type Job, type Problem } from '../../../shared/api';
import { createService, type Service } from '../../../electron/service';

const made: string[] = [];

export function tempDir(prefix = 'import-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** For afterAll: removes every folder tempDir made. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function serviceWithProject(): Promise<{ service: Service; dir: string }> {
  const dir = tempDir();
  const service = await createService({ configDir: path.join(dir, 'config') });
  await service.handlers['project.create']({ dir: path.join(dir, 'project') });
  return { service, dir };
}

export async function waitFinal(service: Service, jobId: number): Promise<Job> {
  for (;;) {
    const job = await service.handlers['jobs.get']({ id: jobId });
    if (FINAL_JOB_STATES.includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function runImport(
  service: Service,
  source: ImportSource,
  abortOnProblem = false,
  again = false,
): Promise<{ job: Job; problems: Problem[] }> {
  const { jobId } = await service.handlers['dataset.import']({ source, abortOnProblem, again });
  const job = await waitFinal(service, jobId);
  const problems = (await service.handlers['problems.list']({ jobId, offset: 0, limit: 1000 })).items;
  return { job, problems };
}
