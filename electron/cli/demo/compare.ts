// The demo's before/after table: base and adapter on the same benchmark items,
// overall through `eval.compare` (the Compare page's numbers) and per category
// (single, multi) from the items `eval.side` pairs up, with the same
// statistics (eval/stats.ts: Wilson intervals, exact McNemar, the seeded
// paired bootstrap of the difference).
import type { EvalRun, SideBySideItem } from '../../../shared/pipeline/eval';
import { accuracy, paired, wilson, type Accuracy } from '../../pipeline/eval/stats';
import type { Service } from '../../service';

/** `all` and each benchmark category (the world's: single, multi). */
export type ByCategory<T> = Record<string, T>;

export interface DemoComparison {
  before: ByCategory<Accuracy>;
  after: ByCategory<Accuracy>;
  /** Exact two-sided McNemar p on the items both runs answered. */
  mcnemar: ByCategory<number>;
  /** accuracy(after) - accuracy(before) with its paired bootstrap 95% interval. */
  delta: ByCategory<{ delta: number; ci95: [number, number] }>;
}

/** The bootstrap of `eval.compare`'s defaults, so the overall and per-category intervals are drawn alike. */
const BOOTSTRAP = { seed: 0, resamples: 2000 } as const;
const PAGE = 1000;

async function sideItems(service: Service, a: number, b: number, category: string): Promise<SideBySideItem[]> {
  const items: SideBySideItem[] = [];
  for (;;) {
    const page = await service.handlers['eval.side']({
      a,
      b,
      offset: items.length,
      limit: PAGE,
      filter: { category },
    });
    items.push(...page.items);
    if (page.items.length === 0 || items.length >= page.total) return items;
  }
}

export async function compareRuns(service: Service, base: EvalRun, tuned: EvalRun): Promise<DemoComparison> {
  const all = await service.handlers['eval.compare']({ a: base.id, b: tuned.id, ...BOOTSTRAP });
  const whole = (acc: number, correct: number): Accuracy => ({
    n: all.n,
    correct,
    accuracy: acc,
    ci95: wilson(correct, all.n),
  });
  const out: DemoComparison = {
    before: { all: whole(all.accuracy_a, all.both_right + all.a_only) },
    after: { all: whole(all.accuracy_b, all.both_right + all.b_only) },
    mcnemar: { all: all.mcnemar_p },
    delta: { all: { delta: all.delta, ci95: all.delta_ci95 } },
  };
  const categories = [...new Set(base.perCategory.map((c) => c.category))].sort();
  for (const category of categories) {
    const items = await sideItems(service, base.id, tuned.id, category);
    const a = items.map((i) => i.a.correct);
    const b = items.map((i) => i.b.correct);
    const p = paired(a, b, BOOTSTRAP);
    out.before[category] = accuracy(a);
    out.after[category] = accuracy(b);
    out.mcnemar[category] = p.mcnemar_p;
    out.delta[category] = { delta: p.delta, ci95: p.delta_ci95 };
  }
  return out;
}
