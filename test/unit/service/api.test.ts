// The API contract at its edges: every command rejects malformed payloads
// with a typed 'bad-input' error before any handler runs; the client
// validates requests and replies and rebuilds AppError from wire errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  CHANNELS,
  createApiClient,
  dispatch,
  dispatchToReply,
  inProcessTransport,
  type ApiHandlers,
  type ApiTransport,
  type Channel,
} from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import { createService } from '../../../electron/service';
import { PIPELINE_MALFORMED } from '../pipeline/api-malformed';

/** Malformed payloads per command: complete by type, so a new command needs its cases. */
const MALFORMED = {
  'project.create': [{}, { dir: '' }, { dir: 3 }, { dir: '/x', name: '' }, { dir: '/x', extra: 1 }],
  'project.open': [{}, { dir: null }, { dir: ['a'] }],
  'project.close': [{ now: true }, 'close'],
  'project.recent': [{ limit: 3 }, [1]],
  'project.recent.remove': [{}, { dir: '' }, { dir: 1 }, { dir: '/x', all: true }],
  'project.info': [{ dir: '/x' }, 7],
  'dataset.import': [
    {},
    { source: { kind: 'llava', file: 'a.json' } },
    { source: { kind: 'folder' } },
    { source: { kind: 'zip', root: '/x' } },
    { source: { kind: 'folder', root: '/x' }, abortOnProblem: 'yes' },
  ],
  'jobs.list': [{ all: true }],
  'jobs.get': [{}, { id: -1 }, { id: 1.5 }, { id: '1' }],
  'jobs.cancel': [{}, { id: 'x' }],
  'jobs.pause': [{ id: null }],
  'jobs.resume': [{ id: -2 }],
  'samples.page': [
    { offset: -1 },
    { limit: 0 },
    { limit: 100000 },
    { filter: { text: 5 } },
    { filter: { hasProblems: 'no' } },
    { filter: { colour: 'red' } },
  ],
  'samples.get': [{}, { id: 'first' }],
  'sources.list': [{ x: 1 }],
  'problems.list': [{ jobId: 'a' }, { offset: 1.2 }, { sourceId: -1 }],
  'model.inspect': [{}, { dir: '' }, { dir: 3 }, { dir: 'm', json: true }],
  ...PIPELINE_MALFORMED,
  'train.start': [
    {},
    { model: '/m' },
    { model: '/m', out: '/o', lr: -1 },
    { model: '/m', out: '/o', loss: 'kto' },
    { model: '/m', out: '/o', loraTargets: ['lm_head'] },
    { model: '/m', out: '/o', steps: 0 },
    { model: '/m', out: '/o', labelSmoothing: 0.5 },
  ],
  'train.runs': [{ all: true }],
  'train.metrics': [{}, { runId: -1 }, { runId: 1, after: 'x' }],
  'train.checkpoints': [{}, { runId: 'a' }],
  'train.pairs': [{}, { runId: 1, limit: 0 }],
  'train.export': [{}, { runId: 1 }, { runId: 1, out: '' }, { runId: 1, out: '/o', checkpointStep: -1 }],
  'train.merge': [{ out: '/o' }, { runId: 'a', out: '/o' }, { runId: 1, out: '/o', checkpointStep: 1.5 }],
} satisfies Record<Channel, unknown[]>;

const refusing = Object.fromEntries(
  CHANNELS.map((c) => [c, () => Promise.reject(new Error(`handler ${c} must not run on a malformed payload`))]),
) as unknown as ApiHandlers;

async function kindOf(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected a rejection');
}

describe('dispatch', () => {
  it.each(CHANNELS)('%s rejects every malformed payload with bad-input naming the command', async (channel) => {
    for (const payload of MALFORMED[channel]) {
      const error = await kindOf(dispatch(refusing, channel, payload));
      expect(error).toBeInstanceOf(AppError);
      expect(error.kind).toBe('bad-input');
      expect(error.subject).toBe(channel);
      expect(error.message).toContain(channel);
    }
  });

  it('rejects unknown channels, including prototype names', async () => {
    for (const channel of ['nope', 'toString', '__proto__', 42]) {
      expect((await kindOf(dispatch(refusing, channel, {}))).kind).toBe('bad-input');
    }
  });

  it('returns errors as data in dispatchToReply', async () => {
    expect(await dispatchToReply(refusing, 'jobs.get', { id: 'x' })).toMatchObject({
      ok: false,
      error: { kind: 'bad-input', subject: 'jobs.get' },
    });
  });
});

describe('service behind the contract', () => {
  it('answers a real sequence and refuses what the state does not allow', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'svc-'));
    const service = await createService({ configDir: path.join(dir, 'config') });
    const client = createApiClient(inProcessTransport(service.handlers, service));
    expect(await client.invoke('project.info', {})).toEqual({ project: null });
    await expect(client.invoke('samples.page', {})).rejects.toMatchObject({ kind: 'conflict' });
    await expect(client.invoke('project.open', { dir: path.join(dir, 'none') })).rejects.toMatchObject({
      kind: 'not-found',
    });
    writeFileSync(path.join(dir, 'file.txt'), 'x');
    await expect(client.invoke('project.create', { dir })).rejects.toMatchObject({ kind: 'conflict' });
    const info = await client.invoke('project.create', { dir: path.join(dir, 'p'), name: 'Mine' });
    expect(info).toMatchObject({ name: 'Mine', sampleCount: 0, readOnly: false });
    expect(await client.invoke('samples.page', {})).toEqual({ total: 0, items: [] });
    await expect(client.invoke('samples.get', { id: 1 })).rejects.toMatchObject({ kind: 'not-found' });
    await expect(
      client.invoke('dataset.import', { source: { kind: 'folder', root: path.join(dir, 'missing') } }),
    ).rejects.toMatchObject({ kind: 'not-found' });
    expect((await client.invoke('project.recent', {})).projects.map((p) => p.name)).toEqual(['Mine']);
    expect(await client.invoke('project.close', {})).toEqual({ closed: true });
    expect((await client.invoke('project.open', { dir: path.join(dir, 'p') })).name).toBe('Mine');
    await service.close();
  });

  it('keeps the open project open when opening or creating another fails (issue 13 item 7)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'svc-keep-'));
    const service = await createService({ configDir: path.join(dir, 'config') });
    const client = createApiClient(inProcessTransport(service.handlers, service));
    await client.invoke('project.create', { dir: path.join(dir, 'p'), name: 'Kept' });
    await expect(client.invoke('project.open', { dir: path.join(dir, 'none') })).rejects.toMatchObject({
      kind: 'not-found',
    });
    writeFileSync(path.join(dir, 'file.txt'), 'x');
    await expect(client.invoke('project.create', { dir: path.join(dir, 'file.txt') })).rejects.toBeInstanceOf(AppError);
    expect((await client.invoke('project.info', {})).project).toMatchObject({ name: 'Kept', dir: path.join(dir, 'p') });
    expect(await client.invoke('samples.page', {})).toEqual({ total: 0, items: [] });
    expect((await client.invoke('project.open', { dir: path.join(dir, 'p') })).name).toBe('Kept');
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('flags a recent project whose folder is gone and removes it on request', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'api-recent-'));
    const service = await createService({ configDir: path.join(dir, 'config') });
    const client = createApiClient(inProcessTransport(service.handlers, service));
    for (const name of ['kept', 'moved']) {
      await client.invoke('project.create', { dir: path.join(dir, name), name });
      await client.invoke('project.close', {});
    }
    rmSync(path.join(dir, 'moved'), { recursive: true });
    await expect(client.invoke('project.open', { dir: path.join(dir, 'moved') })).rejects.toMatchObject({
      kind: 'not-found',
    });
    expect((await client.invoke('project.recent', {})).projects.map((p) => [p.name, p.missing])).toEqual([
      ['moved', true],
      ['kept', false],
    ]);
    expect(await client.invoke('project.recent.remove', { dir: path.join(dir, 'moved') })).toEqual({ removed: true });
    expect(await client.invoke('project.recent.remove', { dir: path.join(dir, 'moved') })).toEqual({ removed: false });
    expect((await client.invoke('project.recent', {})).projects.map((p) => p.name)).toEqual(['kept']);
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('client', () => {
  const transport = (reply: unknown): ApiTransport & { invoke: ReturnType<typeof vi.fn> } => ({
    invoke: vi.fn(async () => reply),
    onEvent: () => () => undefined,
    imageUrl: (id, size) => `img://${id}/${size}`,
    compositeUrl: (id) => `composite://${id}`,
    seenUrl: (id, index) => `seen://${id}/${index}`,
  });

  it('validates requests before sending', async () => {
    const t = transport({ ok: true, value: {} });
    const client = createApiClient(t);
    // @ts-expect-error the type forbids it too; a JS caller could still send it
    await expect(client.invoke('jobs.get', { id: 'x' })).rejects.toMatchObject({ kind: 'bad-input' });
    expect(t.invoke).not.toHaveBeenCalled();
  });

  it('sends the validated payload with defaults applied', async () => {
    const t = transport({ ok: true, value: { total: 0, items: [] } });
    await createApiClient(t).invoke('samples.page', {});
    expect(t.invoke).toHaveBeenCalledWith('samples.page', { offset: 0, limit: 100, filter: {} });
  });

  it('rebuilds AppError from a wire error and flags malformed replies as internal', async () => {
    const failing = createApiClient(
      transport({ ok: false, error: { kind: 'not-found', message: 'no sample 3', subject: 'sample 3' } }),
    );
    const error = await kindOf(failing.invoke('samples.get', { id: 3 }));
    expect(error).toBeInstanceOf(AppError);
    expect([error.kind, error.message, error.subject]).toEqual(['not-found', 'no sample 3', 'sample 3']);
    await expect(
      createApiClient(transport({ ok: true, value: { closed: 'yes' } })).invoke('project.close', {}),
    ).rejects.toMatchObject({ kind: 'internal' });
    await expect(createApiClient(transport('garbage')).invoke('project.close', {})).rejects.toMatchObject({
      kind: 'internal',
    });
  });

  it('turns a failing transport into a runtime error and drops malformed events', async () => {
    let emit: (e: unknown) => void = () => undefined;
    const client = createApiClient({
      invoke: async () => Promise.reject(new Error('socket closed')),
      onEvent: (l) => ((emit = l), () => undefined),
      imageUrl: () => '',
      compositeUrl: () => '',
      seenUrl: () => '',
    });
    await expect(client.invoke('project.info', {})).rejects.toMatchObject({ kind: 'runtime' });
    const seen: unknown[] = [];
    client.onEvent((e) => seen.push(e));
    emit({ type: 'job.progress', jobId: 1 });
    emit({ type: 'log', level: 'info', message: 'hi', jobId: null, at: 1 });
    expect(seen).toEqual([{ type: 'log', level: 'info', message: 'hi', jobId: null, at: 1 }]);
  });
});
