// Which parts of the method this build's API offers, read from the command
// table (never guessed from a failed call): a page whose commands are not in
// the table says "not available yet" instead of failing.
import { isChannel } from '../../../shared/api';

/** True when every named command is in the command table. */
export function hasCommands(...names: string[]): boolean {
  return names.every((n) => isChannel(n));
}

export const TRAIN_COMMANDS = ['train.start', 'train.runs', 'train.metrics', 'train.checkpoints'];
export const EVAL_COMMANDS = [
  'eval.bench.import',
  'eval.bench.list',
  'eval.run',
  'eval.runs',
  'eval.table',
  'eval.side',
];
