// axe-core in the page under test: injects axe.min.js from node_modules and
// returns the serious and critical violations (rule id, impact, first targets).
// Evaluated through the devtools protocol, which the page's CSP (no inline
// scripts) does not apply to, so the page is checked with its real policy.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document): Promise<{ violations: unknown[] }> } }).axe;
    const { violations } = await axe.run(document);
    return (violations as { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[])
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 3).map((n) => String(n.target[0])),
      }));
  });
}
