// Crash-safe training checkpoints under `<out>/checkpoints/step-NNNNNN/`: the
// adapter as a PEFT folder (so any checkpoint loads with --adapter), the
// optimizer and other tensors in training_state.safetensors, the step and the
// trainer's JSON state (epoch, data order, RNG, config) in trainer_state.json,
// and manifest.json with each file's size and SHA-256. A checkpoint is built
// under a temporary name and renamed into place (durable-fs.ts); a reader
// trusts only folders whose files all match their manifest.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, toAppError } from '../../../shared/errors';
import { commitDir, isTempName, tempSibling } from '../../common/durable-fs';
import { openAdapterBase, type AdapterBase } from '../models/adapter-base';
import { loraFromPeft, type LoraModuleWeights, type LoraWeights } from '../models/lora';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PeftAdapter } from '../models/peft';
import { writeAdapterInto, type AnyAdapterSettings, type ExportAdapterOptions } from '../models/peft-export';
import { toFloat32 } from '../weights/decode';
import { SafetensorsFile } from '../weights/reader';
import { writeSafetensors, type TensorsToWrite } from '../weights/writer';

export const CHECKPOINTS_DIR = 'checkpoints';
export const MANIFEST = 'manifest.json';
export const TRAINING_STATE = 'training_state.safetensors';
export const TRAINER_STATE = 'trainer_state.json';

export interface StateTensor {
  dims: number[];
  data: Float32Array;
}

export interface CheckpointContent {
  step: number;
  adapter: ExportAdapterOptions;
  /** Optimizer moments and any other float32 state, by name. */
  tensors: Map<string, StateTensor>;
  /** epoch, data order, rng state, config: anything JSON. */
  state: Record<string, unknown>;
}

export interface CheckpointFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface CheckpointManifest {
  step: number;
  dir: string;
  files: CheckpointFile[];
}

export interface SkippedCheckpoint {
  dir: string;
  reason: string;
}

export interface LoadedCheckpoint {
  step: number;
  dir: string;
  manifest: CheckpointManifest;
  lora: LoraWeights;
  settings: AnyAdapterSettings;
  tensors: Map<string, StateTensor>;
  state: Record<string, unknown>;
  /** Newer checkpoint folders that were incomplete or damaged, newest first. */
  skipped: SkippedCheckpoint[];
}

const STEP_DIR = /^step-(\d+)$/;
export const stepDirName = (step: number): string => `step-${String(step).padStart(6, '0')}`;

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes checkpoint `c` to `<outDir>/checkpoints/step-NNNNNN/` (replacing one of the same step) and returns its manifest. */
export async function writeCheckpoint(outDir: string, c: CheckpointContent): Promise<CheckpointManifest> {
  if (!Number.isInteger(c.step) || c.step < 0)
    throw new AppError('internal', `checkpoint step ${c.step} is not a whole number`);
  const root = path.join(outDir, CHECKPOINTS_DIR);
  await mkdir(root, { recursive: true });
  const dest = path.join(root, stepDirName(c.step));
  const tmp = tempSibling(dest);
  await mkdir(tmp);
  try {
    await writeAdapterInto(tmp, c.adapter);
    const tensors: TensorsToWrite = {};
    for (const [name, t] of c.tensors) tensors[name] = { dtype: 'F32', shape: t.dims, data: t.data };
    await writeSafetensors(path.join(tmp, TRAINING_STATE), tensors, { format: 'pt' });
    const trainer = {
      step: c.step,
      adapter: { settings: c.adapter.settings, dtype: c.adapter.dtype ?? 'F32' },
      state: c.state,
    };
    await writeFile(path.join(tmp, TRAINER_STATE), JSON.stringify(trainer, null, 1));
    const files: CheckpointFile[] = [];
    for (const name of [ADAPTER_CONFIG, ADAPTER_WEIGHTS, TRAINING_STATE, TRAINER_STATE]) {
      const file = path.join(tmp, name);
      files.push({ name, bytes: (await stat(file)).size, sha256: await sha256File(file) });
    }
    await writeFile(path.join(tmp, MANIFEST), JSON.stringify({ step: c.step, files }, null, 1));
    await commitDir(tmp, dest);
    return { step: c.step, dir: dest, files };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The step folders under `<outDir>/checkpoints`, newest first. */
async function stepDirs(outDir: string): Promise<{ step: number; dir: string }[]> {
  const root = path.join(outDir, CHECKPOINTS_DIR);
  if (!existsSync(root)) return [];
  const found: { step: number; dir: string }[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    const m = STEP_DIR.exec(e.name);
    if (m && e.isDirectory()) found.push({ step: Number(m[1]), dir: path.join(root, e.name) });
  }
  return found.sort((a, b) => b.step - a.step);
}

/** The folder's manifest if every listed file is there with its size (and, with `hashes`, its SHA-256); else why not. */
async function checkManifest(
  dir: string,
  step: number,
  hashes: boolean,
): Promise<{ manifest: CheckpointManifest } | { reason: string }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8'));
  } catch (e) {
    return { reason: `${MANIFEST} unreadable (${(e as Error).message})` };
  }
  const m = raw as { step?: unknown; files?: unknown };
  if (m.step !== step || !Array.isArray(m.files)) return { reason: `${MANIFEST} is not this step's manifest` };
  const files = m.files as CheckpointFile[];
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS, TRAINING_STATE, TRAINER_STATE])
    if (!files.some((x) => x.name === f)) return { reason: `${MANIFEST} does not list ${f}` };
  for (const f of files) {
    const file = path.join(dir, f.name);
    if (typeof f.name !== 'string' || f.name !== path.basename(f.name))
      return { reason: `${MANIFEST} lists a bad name` };
    if (!existsSync(file)) return { reason: `${f.name} is missing` };
    const size = (await stat(file)).size;
    if (size !== f.bytes) return { reason: `${f.name} has ${size} bytes, the manifest says ${f.bytes}` };
    if (hashes && (await sha256File(file)) !== f.sha256) return { reason: `${f.name} does not match its SHA-256` };
  }
  return { manifest: { step, dir, files } };
}

async function readCheckpoint(
  manifest: CheckpointManifest,
  base: AdapterBase,
  skipped: SkippedCheckpoint[],
): Promise<LoadedCheckpoint> {
  const { dir, step } = manifest;
  const trainer = JSON.parse(await readFile(path.join(dir, TRAINER_STATE), 'utf8')) as {
    adapter: { settings: AnyAdapterSettings };
    state: Record<string, unknown>;
  };
  const adapter = await PeftAdapter.load(dir, base);
  const read = await loraFromPeft(adapter, base.isLanguageModule).finally(() => adapter.close());
  // In initLora's module order (the file's is alphabetical), so a resumed run builds the same graph inputs.
  const modules = new Map<string, LoraModuleWeights>();
  for (const m of base.loraModules(trainer.adapter.settings.targets)) {
    const w = read.modules.get(m.module);
    if (w) modules.set(m.module, w);
  }
  if (modules.size !== read.modules.size)
    throw new AppError('bad-file', `${dir}: the adapter's modules do not match the targets in ${TRAINER_STATE}`);
  const lora = { ...read, modules };
  const file = await SafetensorsFile.open(path.join(dir, TRAINING_STATE));
  const tensors = new Map<string, StateTensor>();
  try {
    for (const t of file.tensors)
      tensors.set(t.name, { dims: [...t.shape], data: toFloat32(t.dtype, await file.read(t.name)) });
  } finally {
    await file.close();
  }
  return { step, dir, manifest, lora, settings: trainer.adapter.settings, tensors, state: trainer.state, skipped };
}

/**
 * The newest checkpoint whose files all match its manifest (sizes and hashes),
 * loaded against the base model; newer ones that are torn or damaged are
 * skipped, each reported through `onSkip` and listed in `skipped`. Null when
 * there is no usable checkpoint.
 */
export async function latestCheckpoint(
  outDir: string,
  baseDir: string,
  opts: { onSkip?: (s: SkippedCheckpoint) => void } = {},
): Promise<LoadedCheckpoint | null> {
  const candidates = await stepDirs(outDir);
  if (candidates.length === 0) return null;
  const skipped: SkippedCheckpoint[] = [];
  const skip = (dir: string, reason: string): void => {
    const s = { dir, reason };
    skipped.push(s);
    opts.onSkip?.(s);
  };
  const base = await openAdapterBase(baseDir);
  try {
    for (const { step, dir } of candidates) {
      const checked = await checkManifest(dir, step, true);
      if ('reason' in checked) {
        skip(dir, checked.reason);
        continue;
      }
      try {
        return await readCheckpoint(checked.manifest, base, skipped);
      } catch (e) {
        skip(dir, toAppError(e).message);
      }
    }
    return null;
  } finally {
    await base.close();
  }
}

/**
 * Keeps the newest `keep` complete checkpoints (manifest present, sizes right)
 * and removes every other step folder and leftover temporary folder. Each is
 * renamed to a temporary name before removal, so a crash mid-way never leaves
 * a half-deleted folder under a step name. Only the run writing `outDir` may call this.
 */
export async function pruneCheckpoints(outDir: string, keep: number): Promise<void> {
  if (!Number.isInteger(keep) || keep < 1)
    throw new AppError('bad-input', `keep = ${keep} must be a whole number >= 1`);
  const root = path.join(outDir, CHECKPOINTS_DIR);
  if (!existsSync(root)) return;
  let kept = 0;
  const doomed: string[] = [];
  for (const { step, dir } of await stepDirs(outDir)) {
    if (kept < keep && 'manifest' in (await checkManifest(dir, step, false))) kept++;
    else doomed.push(dir);
  }
  for (const dir of doomed) {
    const aside = tempSibling(dir);
    await rename(dir, aside);
    await rm(aside, { recursive: true, force: true });
  }
  for (const name of await readdir(root))
    if (isTempName(name)) await rm(path.join(root, name), { recursive: true, force: true });
}
