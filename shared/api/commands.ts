// The command table: every request -> response the UI (or CLI) can send to the
// engine side. Keys are the channel names used by all transports (IPC, HTTP,
// in-process); import `Channel`/`CHANNELS`, never repeat the string literals.
import { z } from 'zod';
import {
  Id,
  Job,
  pageRequest,
  Problem,
  ProjectInfo,
  RecentListed,
  SampleDetail,
  SampleSummary,
  Source,
} from './domain';
import { PIPELINE_COMMANDS } from '../pipeline/commands';
import { EVAL_COMMANDS } from '../pipeline/eval';
import { FIGURE_COMMANDS } from '../pipeline/figures';
import { ModelInspection } from './model';
import { TRAIN_COMMANDS } from '../pipeline/train';

const Empty = z.strictObject({});
const Page = pageRequest({ max: 1000, default: 100 });
const ById = z.strictObject({ id: Id });

/** Where an import reads from: a LLaVA JSON/JSONL file with its image root, or a plain folder of images. */
export const ImportSource = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('llava'), file: z.string().min(1), imagesRoot: z.string().min(1) }),
  z.strictObject({ kind: z.literal('folder'), root: z.string().min(1) }),
]);
export type ImportSource = z.infer<typeof ImportSource>;

export const SampleFilter = z.strictObject({
  sourceId: Id.optional(),
  hasProblems: z.boolean().optional(),
  /** Full-text search over question and answer (words, prefix match on the last one). */
  text: z.string().max(500).optional(),
});
export type SampleFilter = z.infer<typeof SampleFilter>;

export const COMMANDS = {
  'project.create': {
    request: z.strictObject({ dir: z.string().min(1), name: z.string().min(1).optional() }),
    response: ProjectInfo,
  },
  'project.open': { request: z.strictObject({ dir: z.string().min(1) }), response: ProjectInfo },
  'project.close': { request: Empty, response: z.object({ closed: z.boolean() }) },
  'project.recent': { request: Empty, response: z.object({ projects: z.array(RecentListed) }) },
  /** Drops a folder from the recent list (its project, if any, is left alone); `removed` is false when it was not listed. */
  'project.recent.remove': {
    request: z.strictObject({ dir: z.string().min(1) }),
    response: z.object({ removed: z.boolean() }),
  },
  /** The open project, or null when none is open (the UI shows the start page). */
  'project.info': { request: Empty, response: z.object({ project: ProjectInfo.nullable() }) },

  'dataset.import': {
    request: z.strictObject({
      source: ImportSource,
      abortOnProblem: z.boolean().default(false),
      /** Import a source again although the same content was imported from the same path before. */
      again: z.boolean().optional(),
    }),
    response: z.object({ jobId: Id }),
  },

  'jobs.list': { request: Empty, response: z.object({ jobs: z.array(Job) }) },
  'jobs.get': { request: ById, response: Job },
  'jobs.cancel': { request: ById, response: Job },
  'jobs.pause': { request: ById, response: Job },
  'jobs.resume': { request: ById, response: Job },

  'samples.page': {
    request: z.strictObject({ ...Page, filter: SampleFilter.default({}) }),
    response: z.object({ total: z.int().nonnegative(), items: z.array(SampleSummary) }),
  },
  'samples.get': { request: ById, response: SampleDetail },

  'sources.list': { request: Empty, response: z.object({ sources: z.array(Source) }) },

  'problems.list': {
    request: z.strictObject({ ...Page, jobId: Id.optional(), sourceId: Id.optional() }),
    response: z.object({ total: z.int().nonnegative(), items: z.array(Problem) }),
  },

  /** What a model folder is and whether this version can run it (never fails for an unusable folder: `supported` false with the reason). */
  'model.inspect': { request: z.strictObject({ dir: z.string().min(1) }), response: ModelInspection },

  ...PIPELINE_COMMANDS,
  ...EVAL_COMMANDS,
  ...TRAIN_COMMANDS,
  ...FIGURE_COMMANDS,
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export type Channel = keyof typeof COMMANDS;
export const CHANNELS = Object.keys(COMMANDS) as Channel[];

/** What a caller passes (defaults not yet applied). */
export type RequestIn<C extends Channel> = z.input<(typeof COMMANDS)[C]['request']>;
/** What a handler receives (validated, defaults applied). */
export type Request<C extends Channel> = z.output<(typeof COMMANDS)[C]['request']>;
export type Response<C extends Channel> = z.output<(typeof COMMANDS)[C]['response']>;

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.hasOwn(COMMANDS, name);
}
