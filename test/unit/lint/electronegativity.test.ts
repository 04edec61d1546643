// The Electron security scan (Electronegativity, `npm run lint:electron`, part
// of `npm run lint`) fails on a HIGH finding: a window planted in a scratch
// folder without context isolation fails it, naming the check and the file;
// the app's own electron/ passes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'electronegativity-plant-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scan(source: string): Promise<{ code: number; output: string }> {
  const sub = mkdtempSync(path.join(dir, 'case-'));
  writeFileSync(path.join(sub, 'window.ts'), source);
  return scanDir(sub);
}

function scanDir(sub: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'scripts', 'electronegativity.mjs'), sub],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

const windowWith = (prefs: string) => `import { BrowserWindow } from 'electron';
export const win = new BrowserWindow({ show: false, webPreferences: { ${prefs} } });
`;

describe('npm run lint:electron', () => {
  it('fails on a window without context isolation, naming the check and the file; the app passes', async () => {
    const [planted, app] = await Promise.all([
      scan(windowWith('contextIsolation: false, sandbox: true')),
      scanDir(path.join(root, 'electron')),
    ]);
    expect(planted.code, planted.output).toBe(1);
    expect(planted.output).toMatch(/HIGH\s+CONTEXT_ISOLATION_JS_CHECK window\.ts:2/);
    expect(app.code, app.output).toBe(0);
    expect(app.output).toMatch(/finding\(s\), 0 high/);
  }, 120_000);
});
