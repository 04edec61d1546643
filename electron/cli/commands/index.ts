// The CLI's subcommands, one file each; a later issue adds its command here.
import type { CliCommand } from '../command';
import { demoCommand } from './demo';
import { importCommand } from './import';
import { jobsCommand } from './jobs';
import { projectCommand } from './project';
import { selftestCommand } from './selftest';
import { serveCommand } from './serve';

export const CLI_COMMANDS: readonly CliCommand[] = [projectCommand, importCommand, serveCommand, jobsCommand, selftestCommand, demoCommand];
