// The `model-merge` job (issue 11, Training page; decision 0620): a training
// run's adapter (its final one or a checkpoint's) folded into the base model
// by the engine's writeMerged, into a new folder. Two units:
// 1. build: the merged model is written under `.<out>.tmp-merge-<job id>` beside
//    the destination (a name of this job, so a rerun after a kill removes what
//    the killed run left and starts clean), opened as a model to check it and
//    fsynced; progress is streamed per tensor (tensors written / total), and a
//    pause or cancel stops it before the next tensor;
// 2. commit: that folder is renamed to the destination (commitDir). A kill
//    after the rename but before the job recorded it finds the folder in place
//    (with the files unit 1 wrote) and finishes.
// The destination is never a half folder: it appears whole or not at all. A
// paused job drops its build and builds again on resume.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { commitDir, fsyncTree } from '../../common/durable-fs';
import { openAdapterBase } from '../../engine/models/adapter-base';
import { checkMergeTarget, writeMerged } from '../../engine/models/merge';
import type { JobKind, JobRun } from '../../jobs/kind';
import type { TrainQueries } from '../train/queries';

export const MergeJobParams = z.strictObject({
  runId: z.int().nonnegative(),
  /** The checkpoint merged; absent: the run's final adapter. */
  checkpointStep: z.int().nonnegative().optional(),
  /** The base model folder (the run's). */
  modelDir: z.string().min(1),
  /** The PEFT adapter folder merged (the run's output folder or the checkpoint's). */
  adapterDir: z.string().min(1),
  /** The folder to create (absolute). */
  out: z.string().min(1),
  /** Largest shard in bytes; default the engine's (2GB). */
  shardBytes: z.int().positive().optional(),
});
export type MergeJobParams = z.output<typeof MergeJobParams>;

const Built = z.object({ tensors: z.int().nonnegative(), merged: z.int().nonnegative(), files: z.array(z.string()) });
export const MergeCursor = z.discriminatedUnion('phase', [
  Built.extend({ phase: z.literal('built') }),
  Built.extend({ phase: z.literal('done') }),
]);
export type MergeCursor = z.infer<typeof MergeCursor>;

/** Where job `jobId` builds its merge of `out`: hidden, beside it, named after the job. */
export const mergeTempDir = (out: string, jobId: number): string =>
  path.join(path.dirname(out), `.${path.basename(out)}.tmp-merge-${jobId}`);

/** Minimum time between two progress events of the build. */
const PROGRESS_EVERY_MS = 250;

/** Whether `out` holds exactly the files a build listed and opens as a model (a rename a kill kept from being recorded). */
async function holdsMerge(out: string, files: readonly string[]): Promise<boolean> {
  if (!existsSync(out)) return false;
  const names = (await readdir(out)).sort();
  if (names.length !== files.length || names.some((n, i) => n !== files[i])) return false;
  try {
    await (await openAdapterBase(out)).close();
    return true;
  } catch {
    return false;
  }
}

export const modelMergeJob: JobKind<MergeJobParams, MergeCursor, TrainQueries> = {
  kind: 'model-merge',
  params: MergeJobParams,
  cursor: MergeCursor,
  label: (p) =>
    `merge ${p.checkpointStep === undefined ? 'the adapter' : `checkpoint ${p.checkpointStep}`} of training run ${p.runId} into ${p.out}`,
  async plan(p, ctx): Promise<JobRun<MergeCursor, TrainQueries>> {
    const tmp = mergeTempDir(p.out, ctx.jobId);
    let finalCursor: MergeCursor | null = null;

    const build = async (): Promise<MergeCursor> => {
      // What a killed or paused run of this job left.
      await rm(tmp, { recursive: true, force: true });
      await checkMergeTarget(p.modelDir, p.out);
      await mkdir(tmp, { recursive: true });
      const started = Date.now();
      let last = 0;
      const result = await writeMerged(
        {
          modelDir: p.modelDir,
          adapterDir: p.adapterDir,
          outDir: p.out,
          signal: ctx.signal,
          ...(p.shardBytes === undefined ? {} : { shardBytes: p.shardBytes }),
          onTensor: (done, total) => {
            const now = Date.now();
            if (done < total && now - last < PROGRESS_EVERY_MS) return;
            last = now;
            const rate = done / Math.max(1e-3, (now - started) / 1000);
            ctx.emit({
              type: 'job.progress',
              jobId: ctx.jobId,
              progress: { done, total, ratePerSec: rate, etaSec: (total - done) / rate },
            });
          },
        },
        tmp,
      );
      await fsyncTree(tmp);
      return { phase: 'built', tensors: result.tensors, merged: result.merged.length, files: result.files };
    };

    return {
      async runUnit(cursor) {
        if (cursor?.phase === 'done') {
          finalCursor = cursor;
          return { cursor, done: cursor.tensors, total: cursor.tensors, write: null, finished: true };
        }
        if (cursor?.phase === 'built') {
          const done: MergeCursor = { ...cursor, phase: 'done' };
          if (existsSync(tmp)) {
            try {
              await checkMergeTarget(p.modelDir, p.out);
              await commitDir(tmp, p.out);
            } catch (e) {
              await rm(tmp, { recursive: true, force: true });
              throw e;
            }
            finalCursor = done;
            ctx.log('info', `merged model written to ${p.out}`);
            return { cursor: done, done: cursor.tensors, total: cursor.tensors, write: null, finished: true };
          }
          if (await holdsMerge(p.out, cursor.files)) {
            finalCursor = done;
            return { cursor: done, done: cursor.tensors, total: cursor.tensors, write: null, finished: true };
          }
          ctx.log('info', `the merge of ${p.out} was interrupted before it was in place: building it again`);
        }
        const next = await build();
        return { cursor: next, done: next.tensors, total: next.tensors, write: null, finished: false };
      },
      async finish() {
        const c = finalCursor;
        if (c === null) throw new AppError('internal', `merge job ${ctx.jobId} finished without its result`);
        return {
          method: 'modelMerged',
          args: {
            runId: p.runId,
            step: p.checkpointStep ?? null,
            out: p.out,
            tensors: c.tensors,
            merged: c.merged,
            files: c.files,
          },
        };
      },
      // A build not renamed yet is dropped (paused, cancelled, failed or closed): a resume builds again. A kill
      // skips this, and the next run renames the complete build or, for an incomplete one, removes it.
      close: () => rm(tmp, { recursive: true, force: true }),
    };
  },
  discard: () => null,
};
