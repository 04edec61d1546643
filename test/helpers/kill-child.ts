// Runs a TypeScript child script (through tsx) that reports committed units on
// stderr as " N/TOTAL "; with `killAt` it is SIGKILLed a random 0-40 ms after
// reporting that many. The crash tests of the respond and eval jobs share it.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Whether the child was killed, and the most units it reported committed. A failure of its own rejects with its stderr. */
export function runKilledAt(
  script: string,
  args: readonly string[],
  home: string,
  killAt: number | null,
): Promise<{ killed: boolean; reported: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, script, ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config') },
    });
    let err = '';
    let reported = 0;
    let armed = false;
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const m of d.toString().matchAll(/ (\d+)\/\d+ /g)) reported = Math.max(reported, Number(m[1]));
      if (killAt !== null && !armed && reported >= killAt) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), Math.random() * 40);
      }
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, reported });
      else if (code === 0) resolve({ killed: false, reported });
      else reject(new Error(`child failed (${code}): ${err}`));
    });
  });
}
