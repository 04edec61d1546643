// Adapters out and in for training (issue 9): the trained LoRA written as a
// PEFT folder that Hugging Face PEFT loads onto the same base (key names in the
// base checkpoint's layout, target_modules a regex that only the language
// model's layers match), reloaded and compared before it replaces anything;
// and a PEFT adapter trained elsewhere read back as the starting weights.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { commitDir, fsyncDir, fsyncTree, isMissingOrEmpty, isTempName, tempSibling } from '../../common/durable-fs';
import { fromFloat32, toFloat32 } from '../weights/decode';
import { openAdapterBase, type AdapterBase } from './adapter-base';
import type { IxcLoraTarget } from './ixc';
import {
  LORA_TARGETS,
  initLoraModule,
  loraFromPeft,
  loraModules,
  loraScaleOf,
  type LoraModuleWeights,
  type LoraTarget,
  type LoraWeights,
} from './lora';
import type { OpenModel } from './open';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, PeftAdapter, writePeftAdapter } from './peft';
import type { LoraConfig } from './peft-config';

/**
 * The LoRA hyper-parameters an adapter records (the train command's --lora-* options); `targets` are the family's
 * names (llava-hf q_proj, ... by default; IXC2.5 wqkv, wo, w1, w2, w3).
 */
export interface AdapterSettings<T extends string = LoraTarget> {
  r: number;
  alpha: number;
  dropout: number;
  rslora: boolean;
  targets: readonly T[];
}
/** Settings of an adapter of either family. */
export type AnyAdapterSettings = AdapterSettings<LoraTarget | IxcLoraTarget>;

export interface ExportAdapterOptions {
  /** The base model folder the adapter was trained on (its key layout is followed). */
  baseDir: string;
  lora: LoraWeights;
  settings: AnyAdapterSettings;
  /** Stored dtype of A and B; default F32 (PEFT saves what it trained, fp32 for LoRA). */
  dtype?: 'F32' | 'F16' | 'BF16';
}

export { targetModulesRegex } from './adapter-base';

/** adapter_config.json's fields for `s` on `base` (base_model_name_or_path: the base folder, resolved). */
export function adapterConfig(s: AnyAdapterSettings, base: Pick<AdapterBase, 'dir' | 'targetModules'>): LoraConfig {
  return {
    r: s.r,
    loraAlpha: s.alpha,
    useRslora: s.rslora,
    targetModules: base.targetModules(s.targets),
    baseModel: path.resolve(base.dir),
    loraDropout: s.dropout,
  };
}

/** Refuses LoRA weights that disagree with their settings or adapt anything outside the language model's layers. */
function checkExportable(o: ExportAdapterOptions, base: AdapterBase): void {
  const { lora, settings } = o;
  const fail = (why: string): never => {
    throw new AppError('internal', `cannot export the adapter: ${why}`, { subject: 'adapter' });
  };
  if (lora.rank !== settings.r) fail(`the weights have rank ${lora.rank}, the settings r = ${settings.r}`);
  const scale = loraScaleOf({ rank: settings.r, alpha: settings.alpha, rslora: settings.rslora });
  if (Math.abs(lora.scale - scale) > 1e-9 * scale)
    fail(`the weights' scale ${lora.scale} is not the settings' ${scale} (alpha ${settings.alpha}, r ${settings.r})`);
  if (lora.modules.size === 0) fail('it adapts no module');
  for (const module of lora.modules.keys()) {
    const target = module.slice(module.lastIndexOf('.') + 1);
    if (!base.isLanguageModule(module) || !(settings.targets as readonly string[]).includes(target))
      fail(`${module} is not one of the language model's ${settings.targets.join(', ')} layers`);
  }
}

/** Writes the two PEFT files into `dir` (which must exist) in the base's key layout. */
async function writeAdapterFiles(dir: string, o: ExportAdapterOptions, base: AdapterBase): Promise<void> {
  await writePeftAdapter(dir, {
    config: adapterConfig(o.settings, base),
    layout: base.layout,
    dtype: o.dtype ?? 'F32',
    modules: o.lora.modules,
  });
}

/** Reloads a written adapter as PEFT names resolve against the base and compares every value and field. */
async function verifyAdapter(dir: string, o: ExportAdapterOptions, base: AdapterBase): Promise<void> {
  const fail = (why: string): never => {
    throw new AppError('internal', `${path.join(dir, ADAPTER_WEIGHTS)}: the written adapter does not reload: ${why}`, {
      subject: dir,
    });
  };
  const loaded = await PeftAdapter.load(dir, base);
  try {
    const want = adapterConfig(o.settings, base);
    const c = loaded.config;
    if (c.r !== want.r || c.loraAlpha !== want.loraAlpha || c.useRslora !== want.useRslora)
      fail(`adapter_config.json reads back as r ${c.r}, alpha ${c.loraAlpha}, rslora ${c.useRslora}`);
    const missing = [...o.lora.modules.keys()].filter((m) => !loaded.modules.has(m));
    const extra = [...loaded.modules.keys()].filter((m) => !o.lora.modules.has(m));
    if (missing.length || extra.length)
      fail(`modules missing: [${missing.join(', ')}], unexpected: [${extra.join(', ')}]`);
    const dtype = o.dtype ?? 'F32';
    for (const [module, m] of o.lora.modules) {
      const got = await loaded.read(module);
      for (const [half, wrote, read] of [
        ['A', m.a, got.a],
        ['B', m.b, got.b],
      ] as const) {
        const expect = dtype === 'F32' ? wrote : toFloat32(dtype, fromFloat32(dtype, wrote));
        const at = expect.findIndex((v, i) => !Object.is(v, read[i]));
        if (read.length !== expect.length || at >= 0)
          fail(`${module} lora_${half} differs at element ${at} (${read[at]} read, ${expect[at]} written)`);
      }
    }
  } finally {
    await loaded.close();
  }
}

/**
 * Writes a PEFT adapter folder atomically and proves it reloads. A missing or
 * empty `dir` is built whole under a temporary name and renamed into place; an
 * existing one (a training `--out` that also holds `checkpoints/`) gets its two
 * adapter files replaced by renames after the reload check (replaceAdapterFiles).
 */
export async function exportPeftAdapter(dir: string, o: ExportAdapterOptions): Promise<void> {
  const base = await openAdapterBase(o.baseDir);
  try {
    checkExportable(o, base);
    if (existsSync(dir) && !(await stat(dir)).isDirectory())
      throw new AppError('bad-input', `${dir}: is a file; the adapter is written as a folder`, { subject: dir });
    const whole = await isMissingOrEmpty(dir);
    const tmp = whole ? tempSibling(path.resolve(dir)) : tempSibling(path.join(dir, 'adapter'));
    await mkdir(path.dirname(tmp), { recursive: true });
    if (!whole) await removeLeftovers(dir);
    await mkdir(tmp);
    try {
      await writeAdapterFiles(tmp, o, base);
      await verifyAdapter(tmp, o, base);
      if (whole) {
        await commitDir(tmp, dir);
        return;
      }
      await replaceAdapterFiles(tmp, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } finally {
    await base.close();
  }
}

/** Temporary folders of exports into `dir` that a crash interrupted. */
async function removeLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir))
    if (name.startsWith('.adapter.tmp-') && isTempName(name))
      await rm(path.join(dir, name), { recursive: true, force: true });
}

/**
 * Moves the two adapter files from `tmp` into `dir`, which may hold an older
 * adapter, so that no crash leaves new weights beside an old config or the
 * reverse: when the configs differ the old weights go first (a crash then
 * leaves a folder without weights, which fails to load by name), then the
 * config, then the weights, each a rename.
 */
async function replaceAdapterFiles(tmp: string, dir: string): Promise<void> {
  await fsyncTree(tmp);
  const [oldConfig, newConfig] = await Promise.all([
    readFile(path.join(dir, ADAPTER_CONFIG), 'utf8').catch(() => null),
    readFile(path.join(tmp, ADAPTER_CONFIG), 'utf8'),
  ]);
  if (oldConfig !== newConfig) {
    await rm(path.join(dir, ADAPTER_WEIGHTS), { force: true });
    await fsyncDir(dir);
  }
  await rename(path.join(tmp, ADAPTER_CONFIG), path.join(dir, ADAPTER_CONFIG));
  await fsyncDir(dir);
  await rename(path.join(tmp, ADAPTER_WEIGHTS), path.join(dir, ADAPTER_WEIGHTS));
  await fsyncDir(dir);
}

/** Writes the adapter files into an existing folder without the reload check (checkpoints verify by hash instead). */
export async function writeAdapterInto(dir: string, o: ExportAdapterOptions): Promise<void> {
  const base = await openAdapterBase(o.baseDir);
  try {
    checkExportable(o, base);
    await writeAdapterFiles(dir, o, base);
  } finally {
    await base.close();
  }
}

export interface InitAdapter {
  lora: LoraWeights;
  settings: AdapterSettings;
}

/**
 * `--init-adapter DIR`: a PEFT adapter trained elsewhere as the starting LoRA
 * weights on `model`. Keys must all match the base with the base's shapes and
 * adapt only the language model's layers (peft.ts and loraFromPeft refuse the
 * rest, naming the key). Settings come from its adapter_config.json; a value
 * in `want` (the user's --lora-* options) that disagrees is refused, except
 * targets: a target the adapter lacks starts fresh (PEFT init, B = 0, so the
 * model is unchanged), one it has beyond `want.targets` is refused.
 */
/**
 * The LoRA settings of training from the adapter in `dir` (its adapter_config.json
 * `config`, adapting `modules`): the adapter's r, alpha and rsLoRA; a value in
 * `want` (the user's options) that disagrees is refused. Targets: `want.targets`
 * or else the adapter's; one the adapter has beyond `want.targets` is refused.
 */
export function initAdapterSettings(
  dir: string,
  config: LoraConfig,
  modules: Iterable<string>,
  want: Partial<AdapterSettings>,
): AdapterSettings {
  const conflict = (option: string, has: unknown, asked: unknown): never => {
    throw new AppError(
      'bad-input',
      `${path.join(dir, ADAPTER_CONFIG)}: the adapter has ${option} ${String(has)} but ${String(asked)} was asked; leave the option out to use the adapter's`,
      { subject: option },
    );
  };
  const c = config;
  if (want.r !== undefined && want.r !== c.r) conflict('--lora-r', c.r, want.r);
  if (want.alpha !== undefined && want.alpha !== c.loraAlpha) conflict('--lora-alpha', c.loraAlpha, want.alpha);
  if (want.rslora !== undefined && want.rslora !== c.useRslora) conflict('rsLoRA', c.useRslora, want.rslora);
  const has = new Set([...modules].map((m) => m.slice(m.lastIndexOf('.') + 1)));
  const unknown = [...has].filter((t) => !(LORA_TARGETS as readonly string[]).includes(t));
  if (unknown.length)
    throw new AppError(
      'unsupported',
      `${dir}: the adapter adapts ${unknown.join(', ')}, which are not LoRA targets here (${LORA_TARGETS.join(', ')})`,
      { subject: dir },
    );
  const targets = want.targets ?? LORA_TARGETS.filter((t) => has.has(t));
  const beyond = [...has].filter((t) => !(targets as readonly string[]).includes(t));
  if (beyond.length) conflict('targets', LORA_TARGETS.filter((t) => has.has(t)).join(','), targets.join(','));
  return { r: c.r, alpha: c.loraAlpha, rslora: c.useRslora, dropout: want.dropout ?? c.loraDropout, targets };
}

/** initAdapterSettings of the adapter in `dir` on the base in `baseDir`, reading headers and config only. */
export async function readInitAdapterSettings(
  dir: string,
  baseDir: string,
  want: Partial<AdapterSettings>,
): Promise<AdapterSettings> {
  const base = await openAdapterBase(baseDir);
  try {
    const adapter = await PeftAdapter.load(dir, base);
    try {
      return initAdapterSettings(dir, adapter.config, adapter.modules.keys(), want);
    } finally {
      await adapter.close();
    }
  } finally {
    await base.close();
  }
}

/**
 * `--init-adapter DIR`: a PEFT adapter trained elsewhere as the starting LoRA
 * weights on `model`. Keys must all match the base with the base's shapes and
 * adapt only the language model's layers (peft.ts and loraFromPeft refuse the
 * rest, naming the key). Settings as initAdapterSettings; a target the adapter
 * lacks starts fresh (PEFT init, B = 0, so the model is unchanged).
 */
export async function loadInitAdapter(
  dir: string,
  model: OpenModel,
  want: Partial<AdapterSettings> = {},
  rng?: () => number,
): Promise<InitAdapter> {
  const adapter = await PeftAdapter.load(dir, model.checkpoint);
  const lora = await loraFromPeft(adapter).finally(() => adapter.close());
  const settings = initAdapterSettings(dir, adapter.config, lora.modules.keys(), want);
  const { targets } = settings;
  const c = adapter.config;
  // In loraModules order, as initLora builds it, so graphs see the same inputs either way.
  const modules = new Map<string, LoraModuleWeights>();
  for (const m of loraModules(model.spec.text, targets)) {
    const loaded = lora.modules.get(m.module);
    if (loaded) modules.set(m.module, loaded);
    else if (rng) modules.set(m.module, initLoraModule(m, c.r, rng));
    else throw new AppError('internal', `loadInitAdapter: ${m.module} needs a fresh init but no rng was given`);
  }
  return { lora: { ...lora, modules }, settings };
}

/** A file of a copied adapter: its name, size and SHA-256 (as checkpoint manifests list them). */
export interface AdapterFile {
  name: string;
  bytes: number;
  sha256: string;
}

async function sha256Of(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Copies the PEFT adapter in `src` (a run's output folder or a checkpoint, whose
 * adapter files already are PEFT) to `dest`, a new folder, verified: each copy's
 * SHA-256 must equal its source's (and `expected`'s, a checkpoint manifest, when
 * given), and the copy must load against the base (every key a module of the
 * base with its shape). Built beside `dest` and renamed into place.
 */
export async function copyPeftAdapter(
  src: string,
  dest: string,
  o: { baseDir: string; expected?: readonly AdapterFile[] },
): Promise<{ dir: string; files: AdapterFile[] }> {
  const out = path.resolve(dest);
  if (out === path.resolve(src))
    throw new AppError('bad-input', `${dest}: the copy must go to a new folder, not over the adapter`, {
      subject: dest,
    });
  if (!(await isMissingOrEmpty(out)))
    throw new AppError('bad-input', `${dest}: already exists and is not empty; the adapter is copied to a new folder`, {
      subject: dest,
    });
  for (const name of [ADAPTER_CONFIG, ADAPTER_WEIGHTS])
    if (!existsSync(path.join(src, name)))
      throw new AppError('not-found', `${path.join(src, name)} does not exist: ${src} holds no adapter`, {
        subject: src,
      });
  const base = await openAdapterBase(o.baseDir);
  const tmp = tempSibling(out);
  try {
    await mkdir(path.dirname(out), { recursive: true });
    await mkdir(tmp);
    const files: AdapterFile[] = [];
    for (const name of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) {
      const from = path.join(src, name);
      const source = await sha256Of(from);
      const want = o.expected?.find((f) => f.name === name);
      if (want !== undefined && (want.sha256 !== source.sha256 || want.bytes !== source.bytes))
        throw new AppError('bad-file', `${from}: differs from its checkpoint's manifest (changed or damaged on disk)`, {
          subject: from,
        });
      await copyFile(from, path.join(tmp, name));
      const copy = await sha256Of(path.join(tmp, name));
      if (copy.sha256 !== source.sha256)
        throw new AppError('runtime', `${path.join(out, name)}: the copy differs from ${from}`, { subject: out });
      files.push({ name, ...copy });
    }
    await (await PeftAdapter.load(tmp, base)).close();
    await commitDir(tmp, out);
    return { dir: out, files };
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await base.close();
  }
}
