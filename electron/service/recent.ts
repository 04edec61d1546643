// The recent-projects list: a small JSON file in the user's config folder,
// newest first, without duplicates. Missing or unreadable means empty.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { RecentProject } from '../../shared/api';

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

  async list(): Promise<RecentProject[]> {
    try {
      return RecentFile.parse(JSON.parse(await readFile(this.file, 'utf8'))).projects;
    } catch {
      return [];
    }
  }

  async add(entry: RecentProject): Promise<void> {
    const projects = [entry, ...(await this.list()).filter((p) => p.dir !== entry.dir)].slice(0, MAX_RECENT);
    await mkdir(this.configDir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ projects }, null, 2));
    await rename(tmp, this.file);
  }
}
