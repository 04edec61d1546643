// `mia-dpo demo [DIR]`: the first-run experience. Draws a small LLaVA-format
// dataset (with a few deliberately bad entries), creates a project, imports
// it, then serves the UI and opens it in a browser when a display exists.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { makeDemoDataset } from '../../io/demo-dataset';
import { createService } from '../../service';
import { EXIT, type CliCommand, type CliIo } from '../command';
import { waitForJob } from '../wait-job';
import { parsePort, serveUntilStopped } from './serve';

function openInBrowser(url: string, io: CliIo): void {
  const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (!hasDisplay) return;
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => io.stderr.write(`(could not run ${opener}; open the URL above yourself)\n`));
  child.unref();
}

/** The demo owns its folder: a rerun starts fresh. Anything else in the way is left alone. */
function prepareDemoFolder(dir: string): void {
  if (!existsSync(dir) || readdirSync(dir).length === 0) return;
  const ours = existsSync(path.join(dir, 'project', 'project.sqlite')) || existsSync(path.join(dir, 'dataset', 'llava.json'));
  if (!ours) throw new AppError('conflict', `${dir} exists and is not a demo folder; give the demo a new or empty folder`, { subject: dir });
  rmSync(dir, { recursive: true, force: true });
}

export const demoCommand: CliCommand = {
  name: 'demo',
  usage: 'demo [DIR] [--port N] [--no-serve]',
  summary: 'create a demo project from a generated dataset, import it and open the UI',
  options: { port: { type: 'string' }, 'no-serve': { type: 'boolean' } },
  async run(args, io) {
    const dir = path.resolve(args.positionals[0] ?? 'demo-project');
    prepareDemoFolder(dir);
    const dataset = await makeDemoDataset(path.join(dir, 'dataset'));
    io.stdout.write(`generated ${dataset.entries} LLaVA entries (${dataset.badEntries} deliberately bad) in ${dataset.file}\n`);
    const service = await createService();
    let ok: boolean;
    try {
      await service.handlers['project.create']({ dir: path.join(dir, 'project'), name: 'MIA-DPO demo' });
      const { jobId } = await service.handlers['dataset.import']({ source: { kind: 'llava', file: dataset.file, imagesRoot: dataset.imagesRoot }, abortOnProblem: false });
      const job = await waitForJob(service, jobId, io, 'import');
      ok = job.state === 'done';
      io.stdout.write(ok ? `imported ${String(job.result?.samples)} samples, ${String(job.result?.problemEntries)} problem entries\n` : `import ${job.state}: ${job.error?.message ?? ''}\n`);
    } finally {
      await service.close();
    }
    if (!ok) return EXIT.failure;
    if (args.values['no-serve']) return EXIT.ok;
    await serveUntilStopped(path.join(dir, 'project'), parsePort(args.values.port), io, (url) => openInBrowser(url, io));
    return EXIT.ok;
  },
};
