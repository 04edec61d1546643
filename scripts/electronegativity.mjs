#!/usr/bin/env node
// Runs Electronegativity (Doyensec's Electron security scanner) over electron/
// through its programmatic API and fails on any HIGH finding (issue 13). The
// Electron version is passed explicitly so the scanner never needs the network
// (offline it cannot read the release list); lower findings are printed for
// review. Usage: node scripts/electronegativity.mjs [DIR] (npm run lint:electron;
// DIR defaults to electron/).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const electronVersion = require('electron/package.json').version;
const run = require('@doyensec/electronegativity');

const result = await run({
  input: path.resolve(process.argv[2] ?? path.join(root, 'electron')),
  isRelative: true,
  isVerbose: false,
  electronVersionOverride: electronVersion,
  customScan: [],
  excludeFromScan: [],
  parserPlugins: [],
});
const issues = result.issues ?? [];
const high = issues.filter((i) => i.severity?.name === 'HIGH' || i.severity?.name === 'CRITICAL');
for (const i of issues) {
  const where = `${i.file}:${i.location?.line ?? '?'}:${i.location?.column ?? '?'}`;
  process.stdout.write(`${String(i.severity?.name).padEnd(8)} ${i.id} ${where} ${i.description ?? ''}\n`);
}
process.stdout.write(
  `electronegativity (Electron ${electronVersion}): ${issues.length} finding(s), ${high.length} high\n`,
);
process.exit(high.length > 0 ? 1 : 0);
