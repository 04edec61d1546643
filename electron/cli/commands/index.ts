// The CLI's subcommands, one file each; a later issue adds its command here.
import type { CliCommand } from '../command';
import { augmentCommand } from './augment';
import { benchCommand } from './bench';
import { compareCommand } from './compare';
import { demoCommand } from './demo';
import { evalCommand } from './eval';
import { exportCommand } from './export';
import { figuresCommand } from './figures';
import { generateCommand } from './generate';
import { importCommand } from './import';
import { jobsCommand } from './jobs';
import { mergeCommand } from './merge';
import { modelCommand } from './model';
import { pairsCommand } from './pairs';
import { projectCommand } from './project';
import { respondCommand } from './respond';
import { scoreCommand } from './score';
import { selectCommand } from './select';
import { selftestCommand } from './selftest';
import { serveCommand } from './serve';
import { trainCommand } from './train';

export const CLI_COMMANDS: readonly CliCommand[] = [
  projectCommand,
  importCommand,
  serveCommand,
  jobsCommand,
  selftestCommand,
  demoCommand,
  augmentCommand,
  respondCommand,
  selectCommand,
  pairsCommand,
  exportCommand,
  modelCommand,
  generateCommand,
  scoreCommand,
  benchCommand,
  trainCommand,
  mergeCommand,
  evalCommand,
  compareCommand,
  figuresCommand,
];
