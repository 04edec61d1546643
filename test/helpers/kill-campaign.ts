// Kill campaigns (issue 13): a `mia-dpo` command is SIGKILLed at a seeded
// random moment, then run again to the end, then the project is reopened
// through `mia-dpo serve` and read over the HTTP API. Each trial must end with
// `PRAGMA integrity_check` ok, the same result as an uninterrupted run (a
// digest of the database) and the same view through the API.
//
// API (for the import, respond, train and eval campaigns):
//   runKillCampaign(spec): Promise<CampaignReport>
//     spec.name             label used in failure messages
//     spec.trials           how many kill trials (see campaignSize for the quick/full count)
//     spec.seed             seeds the kill moments (a failure names the trial and its delay: rerun with the seed)
//     spec.concurrency      trials run side by side (default 2; most time is process start-up)
//     spec.freshProject(t)  a new project folder for trial t (e.g. cpSync of a prepared one)
//     spec.args(dir)        the mia-dpo arguments of the command under test
//     spec.digest(dir)      the result as a canonical string read from the database (compared to the clean run)
//     spec.apiView(call)    what the API shows of the result, read with call(channel, payload) after reopening
//     spec.afterKill?(dir)  extra invariants right after a kill (throw to fail)
//     spec.rerunAccepts?(r) a rerun outcome accepted besides exit 0 (e.g. a refusal because the killed run had finished)
//   The clean run is timed; kill moments are drawn uniformly in [0, its wall time], so they cover
//   start-up, units of work, commits and shutdown.
//   campaignSize(quick, full): `full` when MIA_CAMPAIGN=full, else `quick`.
//   integrityCheck(dbFile), mulberry32(seed), runMiaDpo(args, options), withServe(dir, env, fn) are exported too.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../electron/common/mulberry32';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/mia-dpo.mjs');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

export type ApiCall = (channel: string, payload?: unknown) => Promise<unknown>;

export interface CampaignSpec {
  name: string;
  trials: number;
  seed: number;
  concurrency?: number;
  env?: Record<string, string>;
  freshProject(trial: number): Promise<string>;
  args(dir: string): string[];
  digest(dir: string): string;
  apiView(call: ApiCall): Promise<unknown>;
  afterKill?(dir: string): void | Promise<void>;
  rerunAccepts?(run: CliRun): boolean;
}

export interface TrialReport {
  trial: number;
  delayMs: number;
  /** False when the command ended before its kill moment. */
  killed: boolean;
}

export interface CampaignReport {
  cleanMs: number;
  trials: TrialReport[];
  kills: number;
}

/** The full count when MIA_CAMPAIGN=full (bench/CI nightly), the quick one otherwise. */
export function campaignSize(quick: number, full: number): number {
  return process.env['MIA_CAMPAIGN'] === 'full' ? full : quick;
}

export { mulberry32 };

/** Runs bin/mia-dpo.mjs; with `killAfterMs` the wrapper's whole process group gets SIGKILL that long after spawn. */
export function runMiaDpo(
  args: string[],
  options: { env?: Record<string, string>; killAfterMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const started = Date.now();
    // Its own process group: SIGKILL reaches the wrapper and the CLI child at once, like a power cut.
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer =
      options.killAfterMs === undefined
        ? null
        : setTimeout(() => {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              // Already gone.
            }
          }, options.killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, wallMs: Date.now() - started });
    });
  });
}

/**
 * A killed process's database opened as the app's next open does: read-write, so SQLite rolls back a
 * hot journal or rebuilds the WAL index first (a read-only connection fails on both with
 * SQLITE_READONLY_ROLLBACK / _RECOVERY, which is no damage).
 */
export function openAfterKill(dbFile: string): Database.Database {
  return new Database(dbFile, { fileMustExist: true });
}

/** `PRAGMA integrity_check` of a killed process's database file, joined ('ok' when sound). */
export function integrityCheck(dbFile: string): string {
  const db = openAfterKill(dbFile);
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/** Starts `mia-dpo serve DIR`, runs `fn` with an API caller (token and Origin as the page sends them), stops it. */
export async function withServe<T>(
  dir: string,
  env: Record<string, string> | undefined,
  fn: (call: ApiCall) => Promise<T>,
): Promise<T> {
  const child = spawn(process.execPath, [BIN, 'serve', dir, '--port', '0'], { env: { ...process.env, ...env } });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const url = await new Promise<URL>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(out);
        if (m) resolve(new URL(m[1]!));
      });
      void exited.then(() => reject(new Error(`serve ${dir} exited before serving: ${out}`)));
    });
    const call: ApiCall = async (channel, payload = {}) => {
      const target = new URL(`/api/${channel}`, url);
      target.search = url.search;
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: url.origin },
        body: JSON.stringify(payload),
      });
      const reply = (await res.json()) as { ok: boolean; value?: unknown; error?: { message: string } };
      if (!reply.ok) throw new Error(`API ${channel} of serve ${dir}: ${reply.error?.message ?? res.status}`);
      return reply.value;
    };
    const result = await fn(call);
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`serve ${dir} exited with ${code} on SIGTERM: ${out}`);
    return result;
  } finally {
    child.kill('SIGTERM');
  }
}

function fail(spec: CampaignSpec, what: string, detail: string): never {
  throw new Error(`${spec.name} (seed ${spec.seed}): ${what}\n${detail}`);
}

function checkFinished(spec: CampaignSpec, run: CliRun, what: string): void {
  if (run.code === 0 || spec.rerunAccepts?.(run)) return;
  fail(spec, `${what} exited ${run.code ?? run.signal}`, run.stderr.slice(-2000));
}

export async function runKillCampaign(spec: CampaignSpec): Promise<CampaignReport> {
  const clean = await spec.freshProject(-1);
  const cleanRun = await runMiaDpo(spec.args(clean), { env: spec.env });
  if (cleanRun.code !== 0) fail(spec, `the uninterrupted run exited ${cleanRun.code}`, cleanRun.stderr);
  const expected = spec.digest(clean);
  const expectedView = JSON.stringify(await withServe(clean, spec.env, spec.apiView));

  const random = mulberry32(spec.seed);
  const delays = Array.from({ length: spec.trials }, () => Math.floor(random() * cleanRun.wallMs));
  const trials: TrialReport[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < delays.length) {
      const trial = next++;
      const delayMs = delays[trial]!;
      const where = `trial ${trial} (kill at ${delayMs} ms of ${cleanRun.wallMs})`;
      const dir = await spec.freshProject(trial);
      const killedRun = await runMiaDpo(spec.args(dir), { env: spec.env, killAfterMs: delayMs });
      const killed = killedRun.signal === 'SIGKILL';
      if (!killed) checkFinished(spec, killedRun, `${where}: the run that ended before its kill`);
      const db = path.join(dir, 'project.sqlite');
      const afterKill = integrityCheck(db);
      if (afterKill !== 'ok') fail(spec, `${where}: integrity_check after the kill`, afterKill);
      if (killed) await spec.afterKill?.(dir);
      checkFinished(spec, await runMiaDpo(spec.args(dir), { env: spec.env }), `${where}: the rerun`);
      const final = integrityCheck(db);
      if (final !== 'ok') fail(spec, `${where}: integrity_check after the rerun`, final);
      const digest = spec.digest(dir);
      if (digest !== expected)
        fail(spec, `${where}: the result differs from the uninterrupted run`, `${digest}\n---\n${expected}`);
      const view = JSON.stringify(await withServe(dir, spec.env, spec.apiView));
      if (view !== expectedView)
        fail(spec, `${where}: the API view through serve differs`, `${view}\n---\n${expectedView}`);
      trials.push({ trial, delayMs, killed });
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency ?? 2 }, worker));
  trials.sort((a, b) => a.trial - b.trial);
  return { cleanMs: cleanRun.wallMs, trials, kills: trials.filter((t) => t.killed).length };
}
