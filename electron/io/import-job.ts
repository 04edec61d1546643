// The dataset import as a job kind: reads entries in units of UNIT_ENTRIES,
// checks their images, stages them (resumable by entry index), and commits
// everything as one source at the end (all-or-nothing per run).
import path from 'node:path';
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { ImportSource } from '../../shared/api';
import { AppError } from '../../shared/errors';
import type { JobKind, JobRun, UnitResult } from '../jobs/kind';
import type { Write } from '../store/table';
import type { ImportQueries, StagedEntry, StagedImage, StagedProblem } from './import-queries';
import { listFolderImages, type FolderItem } from './folder';
import { byteString, fromByteString, storedPath, surrogateEscapedBytes } from './fs-path';
import { checkImage, resolveInRoot, type ImageCheck } from './images';
import { parseEntry } from './llava/entry';
import { detectFormat, readLlavaEntries, type RawEntry } from './llava/read';

export const UNIT_ENTRIES = 500;
/** Images checked at once: sharp decodes on the libuv pool. */
const IMAGE_CONCURRENCY = 4;

export const ImportParams = z.object({
  source: ImportSource,
  abortOnProblem: z.boolean(),
  /** Entries per unit (commit); smaller in crash tests to get many commit points. */
  unitEntries: z.int().positive().default(UNIT_ENTRIES),
  /** The source's content hash when submitted (./source-hash): a later import of the same content is refused. */
  contentHash: z.string().nullable().default(null),
});
export type ImportParams = z.output<typeof ImportParams>;
/** The index of the next entry to read. */
export const ImportCursor = z.object({ index: z.int().nonnegative() });
export type ImportCursor = z.infer<typeof ImportCursor>;

/** A source of entries in file order, resumable from an index. */
interface EntrySource {
  next(): Promise<{ entry: RawEntry | null; total: number | null }>;
  close(): Promise<void>;
}

async function llavaSource(file: string, skip: number): Promise<EntrySource> {
  const st = await stat(file).catch((e: Error) =>
    Promise.reject(new AppError('not-found', `dataset file ${file} not found`, { subject: file, cause: e })),
  );
  // Opening a FIFO waits for a writer and a device never ends: only a regular file is a dataset.
  if (!st.isFile()) throw new AppError('bad-file', `dataset file ${file} is not a regular file`, { subject: file });
  const size = st.size;
  const entries = readLlavaEntries(file, await detectFormat(file), skip);
  return {
    async next() {
      const r = await entries.next();
      if (r.done) return { entry: null, total: null };
      const e = r.value;
      // Entries so far scaled by the share of the file read: an estimate until the end.
      const total = e.bytesRead > 0 ? Math.max(e.index + 1, Math.round(((e.index + 1) * size) / e.bytesRead)) : null;
      return { entry: e, total };
    },
    close: async () => void (await entries.return(undefined)),
  };
}

async function folderSource(root: string, skip: number): Promise<{ source: EntrySource; items: FolderItem[] }> {
  const items = await listFolderImages(root).catch((e: Error) =>
    Promise.reject(
      new AppError('not-found', `image folder ${root} cannot be read: ${e.message}`, { subject: root, cause: e }),
    ),
  );
  let at = skip;
  return {
    items,
    source: {
      async next() {
        if (at >= items.length) return { entry: null, total: items.length };
        const index = at++;
        return { entry: { index, line: null, value: items[index], bytesRead: 0 }, total: items.length };
      },
      close: async () => undefined,
    },
  };
}

function problemEntry(e: RawEntry, externalId: string | null, problem: StagedProblem): StagedEntry {
  return { index: e.index, line: e.line, externalId, sample: null, problems: [problem] };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

class ImportRun implements JobRun<ImportCursor, ImportQueries> {
  private source: EntrySource | null = null;
  /** Checked images of this run, by absolute path (good ones survive a crash in staging). */
  private readonly checked = new Map<string, ImageCheck>();

  constructor(
    private readonly params: ImportParams,
    private readonly jobId: number,
    private readonly seenIds: Set<string>,
    staged: StagedImage[],
  ) {
    for (const image of staged) this.checked.set(image.path, { ok: true, image });
  }

  private get root(): string {
    const s = this.params.source;
    return path.resolve(s.kind === 'llava' ? s.imagesRoot : s.root);
  }

  /** The dataset file, or the folder for a folder import. */
  private describeSource(): string {
    const s = this.params.source;
    return s.kind === 'llava' ? path.resolve(s.file) : this.root;
  }

  private async open(skip: number): Promise<EntrySource> {
    const s = this.params.source;
    if (s.kind === 'llava') return llavaSource(path.resolve(s.file), skip);
    return (await folderSource(this.root, skip)).source;
  }

  /** Image references of one entry: resolved path, or the problem found without touching the disk. */
  private resolve(rel: string): { rel: string; abs: string | null; problem: StagedProblem | null } {
    // A name carried as surrogate-escaped bytes is resolved on its bytes (./fs-path).
    const bytes = surrogateEscapedBytes(rel);
    if (bytes !== null) {
      const r = resolveInRoot(byteString(this.root), byteString(bytes));
      const shown = storedPath(bytes);
      return r.ok
        ? { rel: shown, abs: storedPath(fromByteString(r.path)), problem: null }
        : {
            rel: shown,
            abs: null,
            problem: { ...r.problem, message: `image "${shown}" is outside the image root ${this.root}`, path: shown },
          };
    }
    const r = resolveInRoot(this.root, rel);
    return r.ok ? { rel, abs: r.path, problem: null } : { rel, abs: null, problem: r.problem };
  }

  private toEntry(e: RawEntry): {
    entry: StagedEntry;
    refs: { rel: string; abs: string | null; problem: StagedProblem | null }[];
  } {
    if ('fatal' in e)
      return { entry: problemEntry(e, null, { reason: 'malformed-entry', message: e.fatal, path: null }), refs: [] };
    if ('malformed' in e)
      return {
        entry: problemEntry(e, null, { reason: 'malformed-entry', message: e.malformed, path: null }),
        refs: [],
      };
    if (this.params.source.kind === 'folder') {
      const item = e.value as FolderItem;
      const ref = item.symlink
        ? {
            rel: item.rel,
            abs: null,
            problem: {
              reason: 'symlink' as const,
              message: `${item.rel} is a symbolic link; link targets are not imported`,
              path: item.rel,
            },
          }
        : { rel: item.rel, abs: item.abs, problem: null };
      return {
        entry: {
          index: e.index,
          line: null,
          externalId: item.rel,
          sample: { externalId: item.rel, conversation: [], images: [] },
          problems: [],
        },
        refs: [ref],
      };
    }
    const parsed = parseEntry(e.value);
    if (!parsed.ok)
      return {
        entry: problemEntry(e, parsed.externalId, { reason: 'malformed-entry', message: parsed.message, path: null }),
        refs: [],
      };
    if (this.seenIds.has(parsed.externalId)) {
      const problem = {
        reason: 'duplicate-id' as const,
        message: `id "${parsed.externalId}" was already used by an earlier entry; this entry is skipped`,
        path: null,
      };
      return { entry: problemEntry(e, parsed.externalId, problem), refs: [] };
    }
    this.seenIds.add(parsed.externalId);
    const sample = { externalId: parsed.externalId, conversation: parsed.conversation, images: [] };
    return {
      entry: { index: e.index, line: e.line, externalId: parsed.externalId, sample, problems: [] },
      refs: parsed.images.map((rel) => this.resolve(rel)),
    };
  }

  async runUnit(cursor: ImportCursor | null): Promise<UnitResult<ImportCursor, ImportQueries>> {
    this.source ??= await this.open(cursor?.index ?? 0);
    const built: ReturnType<ImportRun['toEntry']>[] = [];
    let total: number | null = null;
    let finished = false;
    let nextIndex = cursor?.index ?? 0;
    while (built.length < this.params.unitEntries) {
      const r = await this.source.next();
      total = r.total ?? total;
      if (r.entry === null) {
        finished = true;
        break;
      }
      if ('fatal' in r.entry && r.entry.index === 0) {
        throw new AppError('bad-file', `${this.describeSource()} is not a LLaVA dataset: ${r.entry.fatal}`, {
          subject: this.describeSource(),
        });
      }
      built.push(this.toEntry(r.entry));
      nextIndex = r.entry.index + 1;
      if ('fatal' in r.entry) {
        finished = true;
        break;
      }
    }
    // Decision 0202: a file without a single LLaVA entry (0 bytes, `[]`, one JSON object) is not a dataset, not an empty source.
    if (finished && this.params.source.kind === 'llava' && this.seenIds.size === 0) {
      const what = nextIndex === 0 ? 'it has no entries' : `none of its ${nextIndex} entries is a LLaVA entry`;
      throw new AppError('bad-file', `${this.describeSource()} is not a LLaVA dataset: ${what}`, {
        subject: this.describeSource(),
      });
    }
    const fresh = [
      ...new Set(
        built.flatMap((b) => b.refs.filter((r) => r.abs !== null && !this.checked.has(r.abs)).map((r) => r.abs!)),
      ),
    ];
    const relOf = new Map(built.flatMap((b) => b.refs.map((r) => [r.abs, r.rel] as const)));
    const results = await mapLimit(fresh, IMAGE_CONCURRENCY, (abs) => checkImage(this.root, relOf.get(abs)!, abs));
    const newImages: StagedImage[] = [];
    fresh.forEach((abs, i) => {
      const check = results[i]!;
      this.checked.set(abs, check);
      if (check.ok) newImages.push(check.image);
    });
    const entries = built.map(({ entry, refs }) => {
      for (const ref of refs) {
        const check = ref.abs === null ? null : this.checked.get(ref.abs)!;
        const problem = ref.problem ?? (check && !check.ok ? { ...check.problem, path: ref.rel } : null);
        entry.sample?.images.push(problem === null ? ref.abs : null);
        if (problem) entry.problems.push(problem);
      }
      return entry;
    });
    const bad = this.params.abortOnProblem ? entries.find((e) => e.problems.length > 0) : undefined;
    if (bad) {
      const p = bad.problems[0]!;
      throw new AppError(
        'bad-input',
        `import stopped at entry ${bad.index}${bad.externalId ? ` (id ${bad.externalId})` : ''}: ${p.message}`,
        { subject: p.path ?? undefined },
      );
    }
    const done = nextIndex;
    return {
      cursor: { index: nextIndex },
      done,
      total: finished ? done : total,
      write: { method: 'stageImportUnit', args: { jobId: this.jobId, entries, images: newImages } },
      finished,
    };
  }

  async finish(): Promise<Write<ImportQueries>> {
    return {
      method: 'commitImport',
      args: { jobId: this.jobId, kind: this.params.source.kind, path: this.describeSource(), imagesRoot: this.root },
    };
  }

  async close(): Promise<void> {
    await this.source?.close();
  }
}

export const importJob: JobKind<ImportParams, ImportCursor, ImportQueries> = {
  kind: 'import',
  params: ImportParams,
  cursor: ImportCursor,
  label: (p) =>
    p.source.kind === 'llava'
      ? `Import ${path.basename(p.source.file)}`
      : `Import folder ${path.basename(p.source.root)}`,
  async plan(params, ctx) {
    const state = await ctx.store.call('loadImportState', { jobId: ctx.jobId });
    return new ImportRun(params, ctx.jobId, new Set(state.externalIds), state.images);
  },
  discard: (jobId) => ({ method: 'discardImport', args: { jobId } }),
};
