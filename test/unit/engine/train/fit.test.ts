// Training end to end: the tiny block fits the copy task (loss from about 2.6
// to below 0.05 in 40 steps) with the same curve on CPU and WebGPU, params and
// optimizer state staying on the GPU between steps there.
import { describe, expect, it } from 'vitest';
import { fitCopyTask } from '../../../../electron/engine/selftest/fit';
import { useSwiftShader } from '../../../helpers/ort';

useSwiftShader();

const STEPS = 40;
const TARGET = 0.05;

describe('tiny block fits the copy task', () => {
  it('on CPU and WebGPU with matching loss curves', async () => {
    const cpu = await fitCopyTask({ ep: 'cpu', steps: STEPS });
    const gpu = await fitCopyTask({ ep: 'webgpu', steps: STEPS });
    expect(cpu[0]).toBeGreaterThan(1);
    expect(cpu[STEPS - 1]).toBeLessThan(TARGET);
    expect(gpu[STEPS - 1]).toBeLessThan(TARGET);
    for (let s = 0; s < STEPS; s++) expect(Math.abs(gpu[s]! - cpu[s]!), `step ${s}`).toBeLessThanOrEqual(1e-3 * Math.max(cpu[s]!, 1e-2));
  });
});
