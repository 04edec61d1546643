// Option values through the request schemas: text becomes numbers where the
// schema wants them, left-out options take the schema's defaults, a bad value
// is a usage error naming the option with the schema's message, and the root
// help lists every command with every option it declares.
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COMMANDS } from '../../../shared/api/commands';
import { UsageError } from '../../../electron/cli/command';
import { CLI_COMMANDS } from '../../../electron/cli/commands';
import { augmentRequest } from '../../../electron/cli/commands/augment';
import { parseOptions, schemaDefault } from '../../../electron/cli/options';
import { runCli } from '../../../electron/cli/run';

const Schema = z.strictObject({
  maxNewTokens: z.int().positive().default(512),
  layers: z.array(z.int().nonnegative()).default([]),
  aspect: z.enum(['crop', 'pad']).default('crop'),
  name: z.string().optional(),
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (write: (s: string) => void) =>
    new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
  const code = await runCli(args, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false });
  return { code, out, err };
}

describe('parseOptions', () => {
  it('turns text into numbers where the schema wants numbers and applies its defaults', () => {
    expect(parseOptions(Schema, { maxNewTokens: '7', layers: ['1', '3'], name: '12' })).toEqual({
      maxNewTokens: 7,
      layers: [1, 3],
      aspect: 'crop',
      name: '12',
    });
    expect(parseOptions(Schema, { maxNewTokens: undefined })).toEqual(Schema.parse({}));
  });

  it('names the option and gives the schema message for a bad value', () => {
    const message = Schema.shape.maxNewTokens.safeParse(0).error?.issues[0]?.message;
    expect(() => parseOptions(Schema, { maxNewTokens: '0' })).toThrow(
      new UsageError(`--max-new-tokens: ${message} (got "0")`),
    );
    expect(() => parseOptions(Schema, { maxNewTokens: '' })).toThrow(
      /--max-new-tokens: Invalid input: expected number, received NaN/,
    );
    expect(() => parseOptions(Schema, { layers: ['2', 'x'] })).toThrow(/--layers: /);
    expect(() => parseOptions(Schema, { aspect: 'square' }, { aspect: '--pad' })).toThrow(/^--pad: Invalid option/);
  });

  it('reads a default as the schema applies it', () => {
    expect([
      schemaDefault(Schema.shape.maxNewTokens),
      schemaDefault(Schema.shape.name),
      schemaDefault(z.string()),
    ]).toEqual([512, undefined, undefined]);
  });
});

describe('the mia-dpo command line', () => {
  it("takes augment's defaults from the pipeline.augment request", () => {
    expect(augmentRequest({})).toEqual(COMMANDS['pipeline.augment'].request.parse({}));
    expect(augmentRequest({ formats: 'grid, pip', count: '3' })).toEqual(
      COMMANDS['pipeline.augment'].request.parse({ formats: ['grid', 'pip'], count: 3 }),
    );
  });

  it('lists every command with every option in --help', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    for (const command of CLI_COMMANDS) {
      const cmd = new Command(command.name);
      command.define(cmd);
      const line = help.out.split('\n').find((l) => l.startsWith(`  ${command.name} `));
      expect(line, command.name).toBeDefined();
      for (const o of cmd.options) expect(line, `${command.name} ${o.long}`).toContain(o.long);
    }
  });

  it('exits 2 with the usage on a bad value of a command without a request (serve --port)', async () => {
    const r = await run('serve', '/x', '--port', '70000');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--port: Too big: expected number to be <=65535 \(got "70000"\)/);
    expect(r.err).toMatch(/usage: mia-dpo serve DIR \[--port N\]/);
  });
});
