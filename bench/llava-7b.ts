// LLaVA-1.5-7B-shaped generation on this machine (issue 15's 7B benchmark; docs/benchmarks.md, "7B-shaped
// generate"). Not a bench suite (`npm run bench` would spend an hour here) and not part of `npm test`. Steps, each
// printing one JSON line (run them at the lowest priority on a shared box: `nice -n 19 node --import tsx ...`):
//
//   bench/llava-7b.ts write MODEL [TEXT VISION]         the random fp16 checkpoint (LLAVA_15_7B, streamed), timed;
//                                                       TEXT / VISION layers: a cut-down model to try the steps on
//   bench/llava-7b.ts quantize MODEL CACHE BITS         the engine's int8/int4 cache (block 32), timed, peak RSS
//   bench/llava-7b.ts plan-dpo MODEL SEQ ANSWER RANK    the training planner's estimate for an int4, checkpointed
//                                                       LoRA-DPO step on MODEL (compare: dpo-peak-child.ts)
//   bench/llava-7b.ts generate MODEL CACHE FORMAT N [IMAGES]  `mia-dpo generate --weights FORMAT --json` on a
//                                                       prompt of IMAGES images (default 2) for N new tokens
//                                                       under /usr/bin/time -v, then the
//                                                       memory bandwidth and the planner's estimate in the same run
//
// The generate step watches the CLI's process tree and stops it above $LIMIT_GIB (default 10) of RSS.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { planGenerate, planTrain, RUNTIME_BASE_BYTES } from '../electron/engine/generate/memory-plan';
import { openModel } from '../electron/engine/models/open';
import { isQuantized, quantizedWeights } from '../electron/engine/models/quantized';
import { LLAVA_15_7B, writeRandomLlava } from '../electron/engine/models/random-checkpoint';
import { copyBandwidth, reduceBandwidth } from './weight-formats.bench';

const GiB = 2 ** 30;
const peakRss = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const print = (o: object): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};
const CLI = path.resolve(import.meta.dirname, '..', 'bin', 'mia-dpo.mjs');
const PROMPT = 'What is different between the first image and the second one?';

/** RSS in bytes of `root` and all its descendants (ps). */
function treeRss(root: number): number {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,rss='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
  const inTree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows)
      if (inTree.has(ppid) && !inTree.has(pid)) {
        inTree.add(pid);
        grew = true;
      }
  }
  return rows.reduce((s, [pid, , rss]) => s + (inTree.has(pid) ? rss * 1024 : 0), 0);
}

/** Two 336 x 336 PNGs (a gradient and a checkerboard), so the prompt holds 2 x 576 image tokens. */
async function images(dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const s = 336;
  const files: string[] = [];
  for (const kind of [0, 1]) {
    const px = Buffer.alloc(s * s * 3);
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++)
        for (let c = 0; c < 3; c++)
          px[(y * s + x) * 3 + c] = kind === 0 ? (x + y * c) % 256 : ((x >> 5) + (y >> 5)) % 2 ? 230 : 20 + 60 * c;
    const file = path.join(dir, `image-${kind}.png`);
    await sharp(px, { raw: { width: s, height: s, channels: 3 } })
      .png()
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** Runs `cmd` under /usr/bin/time -v; stdout, its maximum resident set and the largest tree RSS sampled every 2 s. */
async function timed(cmd: string[], env: NodeJS.ProcessEnv, limit: number) {
  const child = spawn('/usr/bin/time', ['-v', ...cmd], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let sampled = 0;
  let killed = false;
  const started = performance.now();
  const timer = setInterval(() => {
    try {
      const rss = treeRss(child.pid!);
      // A line per sample on stderr: when the peak came (session creation, prefill, decode).
      process.stderr.write(`${((performance.now() - started) / 1000).toFixed(0)} s ${(rss / GiB).toFixed(2)} GiB\n`);
      sampled = Math.max(sampled, rss);
      if (sampled > limit && !killed) {
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      }
    } catch {
      // the tree is gone
    }
  }, 2000);
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  clearInterval(timer);
  const maxRss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? 0) * 1024;
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(err)?.[1];
  if (code !== 0 || killed)
    throw new Error(`${killed ? `stopped above ${limit / GiB} GiB` : `exit ${code}`}:\n${err.slice(-3000)}`);
  return { out, maxRss, sampled, wall };
}

const [step, ...args] = process.argv.slice(2);
if (step === 'write' && args[0]) {
  const t0 = performance.now();
  // Optional layer counts: a cut-down model of the same widths, to check the commands in minutes.
  const layers = args[1] ? { textLayers: Number(args[1]), visionLayers: Number(args[2] ?? 24) } : {};
  await writeRandomLlava({ ...LLAVA_15_7B, ...layers }, args[0]);
  print({ step, seconds: (performance.now() - t0) / 1000, peakRssGiB: peakRss() / GiB });
} else if (step === 'quantize' && args.length === 3) {
  const [dir, cache, bits] = args as [string, string, string];
  const model = await openModel(dir);
  const t0 = performance.now();
  const q = await quantizedWeights(model.checkpoint, { bits: Number(bits) as 4 | 8, block: 32 }, cache);
  const seconds = (performance.now() - t0) / 1000;
  await model.checkpoint.close();
  const bytes = statSync(path.join(q.dir, 'model.safetensors')).size;
  print({ step, bits, built: q.built, seconds, fileGiB: bytes / GiB, peakRssGiB: peakRss() / GiB, dir: q.dir });
} else if (step === 'generate' && (args.length === 4 || args.length === 5)) {
  const [dir, cache, format, n] = args as [string, string, string, string];
  const count = Number(args[4] ?? 2);
  const limit = Number(process.env['LIMIT_GIB'] ?? 10) * GiB;
  const files = (await images(path.join(cache, 'images'))).slice(0, count);
  const cmd = [process.execPath, CLI, 'generate', '--model', dir, ...files.flatMap((f) => ['--image', f])];
  cmd.push('--prompt', count === 2 ? PROMPT : 'Describe the image.');
  cmd.push('--weights', format, '--max-new-tokens', n, '--ep', 'cpu', '--json');
  const run = await timed(cmd, { ...process.env, MIA_DPO_CACHE: cache }, limit);
  const res = JSON.parse(run.out) as {
    load_ms: number;
    input_ids: number[];
    tokens: number[];
    attention: { layer: number; per_image_mean: number[] };
    timing: { prefill_ms: number; decode_ms: number; sessions_ms: number };
  };
  // The same run's other side: memory bandwidth, after the CLI has exited (so its pages are not shared).
  const bandwidth = Math.max(copyBandwidth(), await reduceBandwidth());
  const model = await openModel(dir);
  const c = model.checkpoint;
  const tensors = c.names().map((name) => ({ name, shape: c.get(name).shape, dtype: c.get(name).dtype }));
  const bits = format === 'int8' ? 8 : 4;
  // What a decode step reads as the engine runs it: codes + float32 scales of the quantized linears, every other text
  // tensor but the embedding table as a float32 copy (norms, lm_head: fp16 files are cast at session creation).
  let decodeBytes = 0;
  let quantizedBytes = 0;
  for (const t of tensors) {
    if (!t.name.startsWith('language_model.') || t.name.endsWith('embed_tokens.weight')) continue;
    const numel = t.shape.reduce((x, y) => x * y, 1);
    if (format !== 'fp32' && isQuantized(t.name, t.shape, { bits, block: 32 })) {
      const q = (numel * bits) / 8 + (numel / 32) * 4;
      decodeBytes += q;
      quantizedBytes += q;
    } else decodeBytes += 4 * numel;
  }
  const seq = res.input_ids.length + Number(n);
  const plan = planGenerate({ spec: model.spec, tensors, format: format as 'int4', block: 32, seq, images: count });
  await c.close();
  const newTokens = res.tokens.length;
  const decodeSteps = Math.max(newTokens - 1, 1);
  const decodeTokPerS = (decodeSteps / res.timing.decode_ms) * 1000;
  const bound = bandwidth / decodeBytes;
  print({
    step,
    format,
    wall: run.wall,
    promptTokens: res.input_ids.length,
    newTokens,
    attention: { layer: res.attention.layer, perImageMean: res.attention.per_image_mean },
    loadS: res.load_ms / 1000,
    sessionsS: res.timing.sessions_ms / 1000,
    prefillS: res.timing.prefill_ms / 1000,
    prefillTokPerS: res.input_ids.length / ((res.timing.prefill_ms - res.timing.sessions_ms) / 1000),
    decodeS: res.timing.decode_ms / 1000,
    decodeTokPerS,
    bandwidthGiBs: bandwidth / GiB,
    decodeReadGiB: decodeBytes / GiB,
    boundTokPerS: bound,
    fractionOfBound: decodeTokPerS / bound,
    quantizedLinearGiB: quantizedBytes / GiB,
    peakRssGiB: run.maxRss / GiB,
    sampledTreeRssGiB: run.sampled / GiB,
    runtimeBaseGiB: RUNTIME_BASE_BYTES / GiB,
    planGiB: plan.totalBytes / GiB,
    planParts: plan.parts.map((p) => `${p.what}: ${(p.bytes / GiB).toFixed(2)}`),
  });
} else if (step === 'plan-dpo' && args.length === 4) {
  // The training planner for a checkpoint (trainer.ts plan's inputs): an int4 base, checkpointing, LoRA on the seven
  // linears with dropout, one pair of graph length SEQ and answer length ANSWER. Compare with the figure
  // test/helpers/dpo-peak-child.ts prints for the same case, and scale to 32 layers.
  const [dir, seq, answer, rank] = args as [string, string, string, string];
  const model = await openModel(dir);
  const c = model.checkpoint;
  const tensors = c.names().map((name) => ({ name, shape: c.get(name).shape, dtype: c.get(name).dtype }));
  const r = Number(rank);
  const loraParams = tensors
    .filter((t) => /^language_model\.model\.layers\.\d+\.(self_attn|mlp)\.\w+_proj\.weight$/.test(t.name))
    .reduce((n, t) => n + r * (t.shape[0]! + t.shape[1]!), 0);
  const plan = planTrain({
    spec: model.spec,
    tensors,
    format: 'int4',
    block: 32,
    pairs: 1,
    seq: Number(seq),
    answer: Number(answer),
    loraParams,
    rank: r,
    dropout: true,
    checkpointing: true,
  });
  await c.close();
  print({
    step,
    layers: model.spec.text.numLayers,
    planGiB: plan.totalBytes / GiB,
    parts: plan.parts.map((p) => `${p.what}: ${(p.bytes / GiB).toFixed(2)}`),
  });
} else {
  process.stderr.write(
    'usage: llava-7b.ts write MODEL [TEXT_LAYERS VISION_LAYERS] | quantize MODEL CACHE BITS | generate MODEL CACHE FORMAT NEW_TOKENS [IMAGES] | plan-dpo MODEL SEQ ANSWER RANK\n',
  );
  process.exit(2);
}
