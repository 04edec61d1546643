// The recent-projects list: a small JSON file in the user's config folder,
// newest first, without duplicates. Missing or unreadable means empty. Listed
// entries say whether their folder still holds a project; one can be removed.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { RecentProject, type RecentListed } from '../../shared/api';
import { projectDbPath } from '../store/project';

const MAX_RECENT = 12;
const RecentFile = z.object({ projects: z.array(RecentProject) });

export function defaultConfigDir(): string {
  const base = process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config');
  return path.join(base, 'mia-dpo-studio');
}

export class RecentProjects {
  constructor(private readonly configDir: string) {}

  private get file(): string {
    return path.join(this.configDir, 'recent.json');
  }

  /** The list with each entry checked: `missing` when its folder no longer holds a project. */
  async listChecked(): Promise<RecentListed[]> {
    return (await this.list()).map((p) => ({ ...p, missing: !existsSync(projectDbPath(p.dir)) }));
  }

  async list(): Promise<RecentProject[]> {
    try {
      return RecentFile.parse(JSON.parse(await readFile(this.file, 'utf8'))).projects;
    } catch {
      return [];
    }
  }

  async add(entry: RecentProject): Promise<void> {
    await this.save([entry, ...(await this.list()).filter((p) => p.dir !== entry.dir)].slice(0, MAX_RECENT));
  }

  /** Drops `dir` from the list; false when it was not there. */
  async remove(dir: string): Promise<boolean> {
    const projects = await this.list();
    const kept = projects.filter((p) => p.dir !== dir);
    if (kept.length === projects.length) return false;
    await this.save(kept);
    return true;
  }

  private async save(projects: RecentProject[]): Promise<void> {
    await mkdir(this.configDir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ projects }, null, 2));
    await rename(tmp, this.file);
  }
}
