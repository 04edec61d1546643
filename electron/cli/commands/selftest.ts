// `mia-dpo selftest [--ep cpu|webgpu]`: runs the engine's self-checks
// (electron/engine/selftest: every gradient rule against finite differences
// and a short training run) and exits 1 when any check fails.
import { EXIT, UsageError, writeJson, type CliCommand } from '../command';
import { ProgressBar } from '../progress';

export const selftestCommand: CliCommand = {
  name: 'selftest',
  usage: 'selftest [--ep cpu|webgpu] [--json]',
  summary: 'check that the ML engine computes and trains correctly on this machine',
  options: { ep: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const ep = (args.values.ep as string | undefined) ?? 'cpu';
    if (ep !== 'cpu' && ep !== 'webgpu') throw new UsageError(`--ep must be cpu or webgpu, got "${ep}"`);
    // Loaded on demand: the runtime (onnxruntime-node) is heavy and no other command needs it.
    const { runSelftest, selftestPassed } = await import('../../engine/selftest');
    const bar = new ProgressBar(io, `selftest ${ep}`);
    const started = Date.now();
    const report = await runSelftest({
      ep,
      onProgress: (done, total) => bar.update({ done, total, ratePerSec: done / Math.max(1e-3, (Date.now() - started) / 1000), etaSec: null }),
    });
    bar.end();
    const ok = selftestPassed(report);
    if (args.values.json) writeJson(io, { ok, ...report });
    else {
      for (const o of report.ops) io.stdout.write(`${o.ok ? 'ok  ' : 'FAIL'} gradient ${o.op}${o.error ? `: ${o.error}` : ` (max rel err ${o.maxRelErr.toExponential(2)})`}\n`);
      const t = report.train;
      io.stdout.write(`${t.ok ? 'ok  ' : 'FAIL'} training: loss ${t.initialLoss.toFixed(3)} -> ${t.finalLoss.toFixed(3)} in ${t.steps} steps${t.error ? `: ${t.error}` : ''}\n`);
      io.stdout.write(ok ? `selftest passed on ${ep}\n` : `selftest FAILED on ${ep}\n`);
    }
    return ok ? EXIT.ok : EXIT.failure;
  },
};
