// Property test of every API command (issue 13): random payloads, and objects
// with the request schema's own keys holding random values, go through the one
// dispatch the transports share, against a service with a project holding an
// import. Every reply is a value or a typed error, never an internal error.
// Commands that would touch paths the payload names (create/open a project,
// import, export, respond with a model folder) only get payloads their schema
// refuses: a random valid path could be this repository; so does project.close,
// which would leave the rest nothing to work on.
import path from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, dispatchToReply, type Channel } from '../../../shared/api';
import { makeDemoDataset } from '../../../electron/io/demo-dataset';
import { removeTempDirs, runImport, serviceWithProject } from '../io/helpers';

afterAll(removeTempDirs);

const ONLY_INVALID = new Set<string>([
  'project.close',
  'project.create',
  'project.open',
  'project.recent.remove',
  'dataset.import',
  'pipeline.export',
  'pipeline.respond',
]);

/** Values a field is likely to choke on: boundaries, wrong types, FTS syntax, huge and odd strings. */
const fieldArb = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.integer(),
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 0.5, -0),
  fc.constantFrom('', ' ', '"', '*', 'NEAR(', 'a OR', '%', '\u0000', '../..', 'x'.repeat(2000), 'ő\ud800'),
  fc.string({ maxLength: 30 }),
);

function keysOf(schema: z.ZodType): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function payloadArb(channel: Channel): fc.Arbitrary<unknown> {
  const keys = keysOf(COMMANDS[channel].request);
  const shaped =
    keys.length === 0 ? fc.constant({}) : fc.dictionary(fc.constantFrom(...keys), fieldArb, { maxKeys: keys.length });
  return fc.oneof(shaped, fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(undefined, null, [], 'x', 1));
}

describe('API payload properties', () => {
  it('every command answers random payloads with a value or a typed error, never an internal one', async () => {
    const { service, dir } = await serviceWithProject();
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 6, images: 3 });
    expect((await runImport(service, { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot })).job.state).toBe(
      'done',
    );
    const channels = Object.keys(COMMANDS) as Channel[];
    /** Replies past validation: the handlers themselves were exercised, not only the schemas. */
    let handled = 0;
    for (const channel of channels) {
      await fc.assert(
        fc.asyncProperty(payloadArb(channel), async (payload) => {
          if (ONLY_INVALID.has(channel) && COMMANDS[channel].request.safeParse(payload ?? {}).success) return;
          const reply = await dispatchToReply(service.handlers, channel, payload);
          if (!reply.ok) expect(reply.error.kind, `${channel}: ${reply.error.message}`).not.toBe('internal');
          if (reply.ok || !reply.error.message.startsWith('invalid request')) handled++;
        }),
        { numRuns: 40 },
      );
    }
    expect(handled).toBeGreaterThan(channels.length * 4);
    // Unknown channels are a typed refusal too.
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 1 }), async (channel) => {
        const reply = await dispatchToReply(service.handlers, channel, {});
        if (typeof channel !== 'string' || !(channel in COMMANDS))
          expect(reply).toMatchObject({ ok: false, error: { kind: 'bad-input' } });
      }),
      // CI's counterexample: String() of an object whose toString is null throws.
      { numRuns: 50, examples: [[[{ toString: null }]], [{ toString: null, valueOf: null }], ['toString']] },
    );
    await service.close();
  }, 60_000);
});
