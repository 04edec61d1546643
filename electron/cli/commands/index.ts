// The CLI's subcommands, one file each; a later issue adds its command here.
import type { CliCommand } from '../command';
import { augmentCommand } from './augment';
import { demoCommand } from './demo';
import { exportCommand } from './export';
import { importCommand } from './import';
import { jobsCommand } from './jobs';
import { pairsCommand } from './pairs';
import { projectCommand } from './project';
import { selectCommand } from './select';
import { selftestCommand } from './selftest';
import { serveCommand } from './serve';

export const CLI_COMMANDS: readonly CliCommand[] = [projectCommand, importCommand, serveCommand, jobsCommand, selftestCommand, demoCommand, augmentCommand, selectCommand, pairsCommand, exportCommand];
