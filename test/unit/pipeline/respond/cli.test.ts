// `mia-dpo respond` argument handling in-process (runCli, the code path of
// bin/mia-dpo.mjs): usage errors exit 2 naming the option with the request
// schema's message, defaults are the schema's, a missing model folder exits 1
// naming the folder. The full run is in the e2e test.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../electron/cli/run';
import { respondRequest } from '../../../../electron/cli/commands/respond';
import { EP_CHOICES } from '../../../../shared/ep';
import { RespondOptions } from '../../../../shared/pipeline/respond';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

const home = mkdtempSync(path.join(os.tmpdir(), 'cli-respond-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (write: (s: string) => void) =>
    new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
  const code = await runCli(args, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false });
  return { code, out, err };
}

/** What the request schema says about `value` for `field`: the message the CLI must print after the option's name. */
function schemaMessage(field: keyof typeof RespondOptions.shape, value: unknown): string {
  const r = RespondOptions.shape[field].safeParse(value);
  if (r.success) throw new Error(`${String(value)} is a valid ${field}`);
  return r.error.issues[0]!.message;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('mia-dpo respond', () => {
  it.each([
    [['respond'], /required option '--model <DIR>' not specified/],
    [['respond', 'p'], /required option '--model <DIR>' not specified/],
    [['respond', '--model', 'm'], /missing required argument 'DIR'/],
    [['respond', 'p', '--model', 'm', '--bogus'], /unknown option '--bogus'/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/usage: mia-dpo respond DIR --model DIR/);
  });

  it.each([
    ['--ep', 'tpu', 'ep', 'tpu'],
    ['--max-new-tokens', '0', 'maxNewTokens', 0],
    ['--layer', '1.5', 'layer', 1.5],
    ['--temperature=-1', undefined, 'temperature', -1],
    ['--temperature', 'warm', 'temperature', NaN],
    ['--temperature', ' ', 'temperature', NaN],
    ['--seed', '-3', 'seed', -3],
  ] as const)(
    "%s %s exits 2 with the request schema's message naming the option",
    async (flag, value, field, parsed) => {
      const r = await run('respond', 'p', '--model', 'm', flag, ...(value === undefined ? [] : [value]), '--json');
      const option = flag.split('=')[0]!;
      expect(r.code).toBe(2);
      const given = value ?? flag.split('=')[1]!;
      expect(r.err).toMatch(
        new RegExp(`^mia-dpo: ${escape(option)}: ${escape(schemaMessage(field, parsed))} \\(got "${escape(given)}"\\)`),
      );
      expect(JSON.parse(r.out)).toMatchObject({
        ok: false,
        error: { kind: 'bad-input', message: expect.stringContaining(option) },
      });
    },
  );

  it('takes its defaults from the request schema', () => {
    expect(respondRequest({ model: 'm' })).toEqual(RespondOptions.parse({ model: 'm' }));
    expect(respondRequest({ model: 'm', pad: true, maxNewTokens: '7', temperature: '0.5', adapter: 'lora' })).toEqual(
      RespondOptions.parse({
        model: 'm',
        aspect: 'pad',
        maxNewTokens: 7,
        temperature: 0.5,
        adapter: path.resolve('lora'),
      }),
    );
  });

  it("pads images by default as the reference; --crop asks for the processor's centre crop, --pad is still accepted", async () => {
    expect(respondRequest({ model: 'm' })).toMatchObject({ aspect: 'pad', template: 'model' });
    expect(respondRequest({ model: 'm', crop: true }).aspect).toBe('crop');
    expect(respondRequest({ model: 'm', pad: true }).aspect).toBe('pad');
    expect(respondRequest({ model: 'm', template: 'llava_v0' }).template).toBe('llava_v0');
    const both = await run('respond', 'p', '--model', 'm', '--pad', '--crop');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--pad and --crop exclude each other/);
    const badTemplate = await run('respond', 'p', '--model', 'm', '--template', 'v1');
    expect(badTemplate.code).toBe(2);
    expect(badTemplate.err).toMatch(/^mia-dpo: --template: /);
    const help = (await run('respond', '--help')).out.replace(/\s+/g, ' ');
    expect(help).toMatch(/--pad pad images to a square with the mean colour, as the reference \(the default\)/);
    expect(help).toContain('--crop');
    expect(help).toContain('one of model, llava_v0; default: model');
  });

  it("shows the schema's defaults and choices in its help", async () => {
    const r = await run('respond', '--help');
    expect(r.code).toBe(0);
    const d = RespondOptions.parse({ model: 'm' });
    for (const [flag, value] of [
      ['--max-new-tokens <N>', d.maxNewTokens],
      ['--temperature <T>', d.temperature],
      ['--seed <S>', d.seed],
    ] as const) {
      expect(r.out).toMatch(new RegExp(`${flag}[^\\n]*\\(default: ${value}\\)`));
    }
    expect(r.out.replace(/\s+/g, ' ')).toContain(`one of ${EP_CHOICES.join(', ')}; default: ${d.ep}`);
    expect(r.out).toContain('--adapter <DIR>');
  });

  it('prints one line naming the execution provider and why before the job runs', async () => {
    const proj = path.join(home, 'proj-ep');
    expect((await run('project', 'create', proj)).code).toBe(0);
    const model = (await writeTinyLlava({ seed: 2, textLayers: 2, visionLayers: 2 })).dir;
    const r = await run('respond', proj, '--model', model, '--ep', 'cpu');
    expect(r.code).toBe(0);
    expect(r.err.split('\n').filter((l) => l.startsWith('execution provider:'))).toEqual([
      'execution provider: cpu (as asked)',
    ]);
    expect(r.out).toMatch(/^answered 0 augmented sample\(s\)/);
  }, 60_000);

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
