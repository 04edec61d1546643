// The one line the model commands (generate, score, respond) print about the
// execution provider: which one runs and why, pointing at the README's "GPUs"
// section for the setup instead of repeating (and drifting from) its advice.
import type { EpChoice } from '../../shared/ep';
import type { ExplicitEp } from '../engine/runtime/local';
import { acquireRuntime } from '../engine/runtime/runtime';

const SEE = 'see README "GPUs"';

/** `execution provider: EP (why)`, from what was asked for and what the runtime chose. */
export function epLine(choice: EpChoice, chosen: { ep: ExplicitEp; fallbackReason?: string | undefined }): string {
  const { ep, fallbackReason } = chosen;
  let why: string;
  if (fallbackReason !== undefined)
    why = `${choice === 'auto' ? 'auto found no GPU' : `${choice} unavailable`}: ${fallbackReason}; ${SEE}`;
  else if (choice !== 'auto') why = 'as asked';
  else if (ep === 'cpu') why = `auto found no GPU; ${SEE}`;
  else why = `auto: ${ep === 'cuda' ? 'CUDA provider libraries found' : 'a WebGPU adapter was found'}`;
  return `execution provider: ${ep} (${why})\n`;
}

/**
 * The runtime's choice for `choice`, made before a job opens its model: the lease keeps the process's session host
 * (and its one detection) alive until `release`, so the job's own choice is the same and costs nothing.
 */
export async function chooseEp(choice: EpChoice): Promise<{ line: string; release: () => Promise<void> }> {
  const lease = acquireRuntime();
  try {
    return { line: epLine(choice, await lease.runtime.choose(choice)), release: () => lease.release() };
  } catch (e) {
    await lease.release();
    throw e;
  }
}
