// Creating a project in a folder: refused where the folder holds anything of
// the user's; allowed in an empty folder and in what a creation killed before
// its database existed left behind (the empty project folders), so rerunning
// the command that was killed creates the project instead of refusing forever.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProject, openProject } from '../../../electron/db';
import { PROJECT_FOLDERS } from '../../../electron/store/project';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'project-create-'));

describe('createProject', () => {
  it('creates in an empty folder and in a killed creation’s empty layout, then opens', async () => {
    for (const layout of [[], PROJECT_FOLDERS, ['cache']] as const) {
      const dir = path.join(tmp(), 'p');
      for (const f of layout) mkdirSync(path.join(dir, f), { recursive: true });
      mkdirSync(dir, { recursive: true });
      const store = await createProject(dir, 'named');
      await store.close();
      const again = await openProject(dir);
      await again.close();
    }
  });

  it('refuses a folder with anything else in it, naming the folder', async () => {
    const withFile = path.join(tmp(), 'p');
    mkdirSync(withFile);
    writeFileSync(path.join(withFile, 'notes.txt'), 'mine');
    await expect(createProject(withFile)).rejects.toThrow(`${withFile} exists and is not an empty folder`);
    const withFilledCache = path.join(tmp(), 'q');
    mkdirSync(path.join(withFilledCache, 'cache'), { recursive: true });
    writeFileSync(path.join(withFilledCache, 'cache', 'x'), 'x');
    await expect(createProject(withFilledCache)).rejects.toThrow('is not an empty folder');
    const asFile = path.join(tmp(), 'f');
    writeFileSync(asFile, 'x');
    await expect(createProject(asFile)).rejects.toThrow('is not an empty folder');
    const existing = path.join(tmp(), 'e');
    await (await createProject(existing)).close();
    await expect(createProject(existing)).rejects.toThrow('is already a project');
  });
});
