import { describe, expect, it } from 'vitest';
import { CHANNELS, type ApiHandlers } from '../../../shared/api';
import { answerIpc } from '../../../electron/main/ipc';
import { APP_ORIGIN } from '../../../electron/main/security';

function handlers(calls: string[]): ApiHandlers {
  const all = Object.fromEntries(CHANNELS.map((c) => [c, async () => calls.push(c)])) as unknown as ApiHandlers;
  all['jobs.get'] = async (r) => {
    calls.push(`jobs.get ${r.id}`);
    throw new Error('boom');
  };
  all['project.info'] = async () => {
    calls.push('project.info');
    return { project: null };
  };
  return all;
}

describe('IPC answers', () => {
  const trusted = [APP_ORIGIN];

  it('runs commands from the app frame', async () => {
    const calls: string[] = [];
    expect(await answerIpc(handlers(calls), trusted, 'app://app/index.html', 'project.info', {})).toEqual({
      ok: true,
      value: { project: null },
    });
    expect(calls).toEqual(['project.info']);
  });

  it('carries the studio pages’ commands like every other: the table decides, not a list in main', async () => {
    const calls: string[] = [];
    for (const [channel, payload] of [
      ['pipeline.overview', {}],
      ['pipeline.augmented', { offset: 0, limit: 10 }],
      ['model.inspect', { dir: '/models/m' }],
    ] as const) {
      expect((await answerIpc(handlers(calls), trusted, 'app://app/index.html', channel, payload)).ok).toBe(true);
    }
    expect(calls).toEqual(['pipeline.overview', 'pipeline.augmented', 'model.inspect']);
  });

  it('refuses senders outside the app origin without running anything', async () => {
    const calls: string[] = [];
    for (const sender of ['https://evil.example/', 'file:///tmp/x.html', 'app://images/1', undefined]) {
      const reply = await answerIpc(handlers(calls), trusted, sender, 'project.info', {});
      expect(reply.ok, String(sender)).toBe(false);
      expect(!reply.ok && reply.error.message).toMatch(/IPC refused/);
    }
    expect(calls).toEqual([]);
  });

  it('validates channel and payload before the handler', async () => {
    const calls: string[] = [];
    const unknown = await answerIpc(handlers(calls), trusted, 'app://app/', 'fs.readFile', { path: '/etc/passwd' });
    const malformed = await answerIpc(handlers(calls), trusted, 'app://app/', 'jobs.get', { id: -1 });
    expect(unknown).toMatchObject({ ok: false, error: { kind: 'bad-input' } });
    expect(malformed).toMatchObject({ ok: false, error: { kind: 'bad-input' } });
    expect(calls).toEqual([]);
  });

  it('returns handler failures as errors, never throws', async () => {
    const reply = await answerIpc(handlers([]), trusted, 'app://app/', 'jobs.get', { id: 3 });
    expect(reply).toEqual({ ok: false, error: { kind: 'internal', message: 'boom' } });
  });
});
