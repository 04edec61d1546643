// Job results typed per kind: the API's Job schema accepts each kind's
// result as the jobs produce it, narrows `result` by `kind`, and refuses a
// result that does not match its kind with an error naming the job.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiClient, importCountsLine, inProcessTransport, parseJob, type JobRecord } from '../../../shared/api';
import { makeDemoDataset } from '../../../electron/io/demo-dataset';
import { removeTempDirs, serviceWithProject } from '../io/helpers';

afterAll(removeTempDirs);

const record = (kind: string, result: Record<string, unknown> | null): JobRecord => ({
  id: 4,
  kind,
  label: 'a job',
  state: 'done',
  progress: { done: 1, total: 1, ratePerSec: 0, etaSec: null },
  createdAt: 1,
  updatedAt: 1,
  error: null,
  result,
});

describe('job results per kind', () => {
  it('an import run through the client comes back with its summary typed', async () => {
    const { service, dir } = await serviceWithProject();
    try {
      const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 12, bad: true });
      const done = new Promise<void>((resolve) =>
        service.onEvent((e) => e.type === 'job.state' && e.state === 'done' && resolve()),
      );
      const client = createApiClient(inProcessTransport(service.handlers, service));
      const { jobId } = await client.invoke('dataset.import', {
        source: { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot },
      });
      await done;
      const job = await client.invoke('jobs.get', { id: jobId });
      if (job.kind !== 'import' || job.result === null)
        throw new Error(`expected a finished import, got ${JSON.stringify(job)}`);
      expect(job.result.samples).toBe(ds.entries - 2);
      expect(job.result.problemEntries).toBe(ds.badEntries);
      const { entries, imported, flagged, rejected } = job.result;
      expect(imported! + flagged! + rejected!).toBe(entries);
      expect(entries).toBe(ds.entries);
      expect((await client.invoke('jobs.list', {})).jobs.map((j) => j.kind)).toEqual(['import']);
    } finally {
      await service.close();
    }
  });

  it('accepts what each kind leaves: augment counts (or an older empty summary), selection counts, nothing before done', () => {
    const counts = { samples: 5, keptOutOfComposites: { grounding: 1, visualGenome: 2 }, skipped: 0 };
    expect(parseJob(record('augment', counts)).result).toEqual(counts);
    expect(parseJob(record('augment', {})).result).toEqual({});
    expect(() => parseJob(record('augment', { samples: -1 }))).toThrow(/job 4 \(augment\)/);
    expect(parseJob(record('respond', {})).result).toEqual({});
    expect(parseJob(record('select', { kept: 3, newPairs: 2 })).result).toEqual({ kept: 3, newPairs: 2 });
    expect(parseJob(record('import', null)).result).toBeNull();
    // An import stored before entries/imported/flagged/rejected were recorded still reads.
    const older = { sourceId: 1, samples: 34, problems: 6, problemEntries: 6, images: 30 };
    expect(parseJob(record('import', older)).result).toEqual(older);
    expect(importCountsLine(older)).toBe('34 samples imported, 6 entries with problems');
    expect(importCountsLine({ ...older, entries: 36, imported: 30, flagged: 4, rejected: 2 })).toBe(
      '36 entries read: 30 imported, 4 flagged, 2 rejected',
    );
  });

  it('refuses a result that does not match its kind, or a kind the API does not know, naming the job', () => {
    expect(() => parseJob(record('import', { samples: 3 }))).toThrow(/job 4 \(import\).*sourceId/);
    expect(() => parseJob(record('select', { kept: -1, newPairs: 0 }))).toThrow(/job 4 \(select\)/);
    expect(() => parseJob(record('train', {}))).toThrow(
      expect.objectContaining({ kind: 'internal', subject: 'job 4' }),
    );
  });
});
