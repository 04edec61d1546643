// Benchmark runner: `npm run bench` runs every suite, `npm run bench -- NAME...`
// the named ones. Each suite is a module `bench/<name>.bench.ts` exporting
// `run(): Promise<BenchTable>`; results print as Markdown tables ready for
// docs/benchmarks.md, with the machine they were measured on.
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchTable } from './table';
import { formatTable } from './table';

const here = path.dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const suites = readdirSync(here)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.replace(/\.bench\.ts$/, ''))
    .filter((name) => wanted.length === 0 || wanted.includes(name))
    .sort();
  if (wanted.length > 0 && suites.length !== wanted.length) {
    const missing = wanted.filter((w) => !suites.includes(w));
    process.stderr.write(`unknown bench suite(s): ${missing.join(', ')}\n`);
    process.exit(2);
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    `Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n\n`,
  );
  for (const name of suites) {
    const mod = (await import(pathToFileURL(path.join(here, `${name}.bench.ts`)).href)) as {
      run: () => Promise<BenchTable>;
    };
    process.stdout.write(`## ${name}\n\n`);
    const table = await mod.run();
    process.stdout.write(formatTable(table) + '\n');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
