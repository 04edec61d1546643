// Options shared by `mia-dpo generate` and `mia-dpo score`: the model folder,
// images, prompt, adapter and execution provider, parsed into LlavaSession
// options and a prompt.
import type { ParseArgsConfig } from 'node:util';
import { UsageError, type ParsedArgs } from '../command';
import type { LlavaSessionOptions, PromptInput } from '../../engine/generate/session';
import type { EpChoice } from '../../../shared/ep';

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  image: { type: 'string', multiple: true },
  prompt: { type: 'string' },
  raw: { type: 'boolean' },
  adapter: { type: 'string' },
  'merge-adapter': { type: 'boolean' },
  ep: { type: 'string' },
  'feature-cache': { type: 'string' },
  pad: { type: 'boolean' },
  json: { type: 'boolean' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

const EPS: readonly EpChoice[] = ['auto', 'cpu', 'webgpu', 'cuda'];

export function required(args: ParsedArgs, name: string): string {
  const v = args.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function numberArg(args: ParsedArgs, name: string): number | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${String(v)}"`);
  return n;
}

export function sessionOptions(args: ParsedArgs, extra: Partial<LlavaSessionOptions> = {}): LlavaSessionOptions {
  const ep = (args.values['ep'] as string | undefined) ?? 'auto';
  if (!(EPS as readonly string[]).includes(ep)) throw new UsageError(`--ep must be one of ${EPS.join(', ')}, got "${ep}"`);
  const o: LlavaSessionOptions = { modelDir: required(args, 'model'), ep: ep as EpChoice, aspect: args.values['pad'] ? 'pad' : 'crop', ...extra };
  const adapter = args.values['adapter'];
  if (typeof adapter === 'string') o.adapter = { dir: adapter, merge: args.values['merge-adapter'] === true };
  const cache = args.values['feature-cache'];
  if (typeof cache === 'string') o.featureCacheDir = cache;
  return o;
}

export function promptInput(args: ParsedArgs): PromptInput {
  const images = (args.values['image'] as unknown as string[] | undefined) ?? [];
  return { images, prompt: required(args, 'prompt'), raw: args.values['raw'] === true };
}
