// `mia-dpo selftest [--ep cpu|webgpu]`: runs the engine's self-checks
// (electron/engine/selftest: every gradient rule against finite differences
// and a short training run) and exits 1 when any check fails.
import { z } from 'zod';
import { EpChoice } from '../../../shared/ep';
import { EXIT, jsonOutput, writeJson, type CliCommand } from '../command';
import { parseOptions, valueOption } from '../options';
import { ProgressBar } from '../progress';

/** The self-checks run on the CPU or on WebGPU (CUDA has no training kernels here). */
const Options = z.strictObject({ ep: EpChoice.extract(['cpu', 'webgpu']).default('cpu') });

export const selftestCommand: CliCommand = {
  name: 'selftest',
  summary: 'check that the ML engine computes and trains correctly on this machine',
  define: (cmd) =>
    cmd
      .addOption(valueOption('--ep <EP>', 'execution provider to check', Options.shape.ep))
      .option('--json', 'print the report as JSON'),
  async run(args, io) {
    const { ep } = parseOptions(Options, { ep: args.values['ep'] });
    // Loaded on demand: the runtime (onnxruntime-node) is heavy and no other command needs it.
    const { runSelftest, selftestPassed } = await import('../../engine/selftest');
    const bar = new ProgressBar(io, `selftest ${ep}`);
    const started = Date.now();
    const report = await runSelftest({
      ep,
      onProgress: (done, total) =>
        bar.update({ done, total, ratePerSec: done / Math.max(1e-3, (Date.now() - started) / 1000), etaSec: null }),
    });
    bar.end();
    const ok = selftestPassed(report);
    if (jsonOutput(args)) writeJson(io, { ok, ...report });
    else {
      for (const o of report.ops)
        io.stdout.write(
          `${o.ok ? 'ok  ' : 'FAIL'} gradient ${o.op}${o.error ? `: ${o.error}` : ` (max rel err ${o.maxRelErr.toExponential(2)})`}\n`,
        );
      const t = report.train;
      io.stdout.write(
        `${t.ok ? 'ok  ' : 'FAIL'} training: loss ${t.initialLoss.toFixed(3)} -> ${t.finalLoss.toFixed(3)} in ${t.steps} steps${t.error ? `: ${t.error}` : ''}\n`,
      );
      io.stdout.write(ok ? `selftest passed on ${ep}\n` : `selftest FAILED on ${ep}\n`);
    }
    return ok ? EXIT.ok : EXIT.failure;
  },
};
