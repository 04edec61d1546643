// `mia-dpo selftest [--ep cpu|webgpu]`: runs the engine's self-checks
// (electron/engine/selftest) and exits non-zero when any check fails.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { EXIT, UsageError, writeJson, type CliCommand } from '../command';

const SELFTEST_MODULE = new URL('../../engine/selftest/index.ts', import.meta.url);

/** What the engine's runSelftest reports; checked, since the module is loaded by path. */
const SelftestReport = z.object({
  checks: z.array(z.object({ name: z.string(), ok: z.boolean() }).loose()),
}).loose();

export const selftestCommand: CliCommand = {
  name: 'selftest',
  usage: 'selftest [--ep cpu|webgpu] [--json]',
  summary: 'check that the ML runtime works on this machine',
  options: { ep: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const ep = (args.values.ep as string | undefined) ?? 'cpu';
    if (ep !== 'cpu' && ep !== 'webgpu') throw new UsageError(`--ep must be cpu or webgpu, got "${ep}"`);
    if (!existsSync(fileURLToPath(SELFTEST_MODULE))) throw new AppError('unsupported', 'this build has no engine self-test (electron/engine/selftest is missing)');
    const mod = (await import(SELFTEST_MODULE.href)) as { runSelftest?: (o: { ep: string }) => Promise<unknown> };
    if (typeof mod.runSelftest !== 'function') throw new AppError('internal', 'electron/engine/selftest does not export runSelftest');
    const report = SelftestReport.parse(await mod.runSelftest({ ep }));
    const failed = report.checks.filter((c) => !c.ok);
    if (args.values.json) writeJson(io, { ok: failed.length === 0, ...report });
    else for (const c of report.checks) io.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}\n`);
    return failed.length === 0 ? EXIT.ok : EXIT.failure;
  },
};
