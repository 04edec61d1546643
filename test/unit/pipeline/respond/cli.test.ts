// `mia-dpo respond` argument handling in-process (runCli, the code path of
// bin/mia-dpo.mjs): usage errors exit 2 naming the option, a missing model
// folder exits 1 naming the folder. The full run is in the e2e test.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../electron/cli/run';

const home = mkdtempSync(path.join(os.tmpdir(), 'cli-respond-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (write: (s: string) => void) => new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
  const code = await runCli(args, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false });
  return { code, out, err };
}

describe('mia-dpo respond', () => {
  it.each([
    [['respond'], /missing project folder DIR/],
    [['respond', 'p'], /--model is required/],
    [['respond', 'p', '--model', 'm', '--ep', 'tpu'], /--ep must be one of auto, cpu, webgpu, cuda, got "tpu"/],
    [['respond', 'p', '--model', 'm', '--max-new-tokens', '0'], /--max-new-tokens must be an integer >= 1, got 0/],
    [['respond', 'p', '--model', 'm', '--layer', '1.5'], /--layer must be an integer >= 0, got 1.5/],
    [['respond', 'p', '--model', 'm', '--temperature=-1'], /--temperature must be a number >= 0, got -1/],
    [['respond', 'p', '--model', 'm', '--temperature', 'warm'], /--temperature must be a number >= 0, got warm/],
    [['respond', 'p', '--model', 'm', '--temperature', ' '], /--temperature must be a number >= 0, got \s/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('exits 1 naming a model folder that does not exist, and starts no job', async () => {
    const proj = path.join(home, 'proj');
    expect((await run('project', 'create', proj)).code).toBe(0);
    const missing = path.join(home, 'no-such-model');
    const r = await run('respond', proj, '--model', missing, '--json');
    expect(r.code).toBe(1);
    expect(r.err + r.out).toContain(`model folder ${missing} does not exist`);
    const jobs = JSON.parse((await run('jobs', proj, '--json')).out) as unknown[] | { jobs: unknown[] };
    expect(Array.isArray(jobs) ? jobs : jobs.jobs).toHaveLength(0);
  });
});
