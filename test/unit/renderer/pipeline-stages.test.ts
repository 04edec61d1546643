import { describe, expect, it } from 'vitest';
import { canStart, stageState } from '../../../renderer/src/lib/pipeline-stages';

describe('pipeline stage state', () => {
  it('follows an unfinished job first, then a failed last run, then what the stage made', () => {
    expect(stageState({ job: { state: 'running' }, made: 10, inputReady: true })).toBe('running');
    expect(stageState({ job: { state: 'paused' }, made: 0, inputReady: true })).toBe('paused');
    expect(stageState({ job: { state: 'failed' }, made: 10, inputReady: true })).toBe('failed');
    expect(stageState({ job: { state: 'cancelled' }, made: 0, inputReady: true })).toBe('cancelled');
    expect(stageState({ job: { state: 'done' }, made: 10, inputReady: true })).toBe('done');
    expect(stageState({ made: 3, inputReady: false })).toBe('done');
    expect(stageState({ made: 0, inputReady: true })).toBe('ready');
    expect(stageState({ made: 0, inputReady: false })).toBe('waiting');
    expect(stageState({ job: { state: 'running' }, made: 0, inputReady: true, available: false })).toBe('unavailable');
  });

  it('allows a start only when no run of the stage is under way', () => {
    expect(canStart('running')).toBe(false);
    expect(canStart('queued')).toBe(false);
    expect(canStart('paused')).toBe(false);
    expect(canStart('unavailable')).toBe(false);
    for (const s of ['done', 'failed', 'cancelled', 'ready', 'waiting'] as const) expect(canStart(s)).toBe(true);
  });
});
