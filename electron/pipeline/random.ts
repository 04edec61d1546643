// Seeded pseudo-random numbers for reproducible pipeline runs: the same seed
// and inputs give the same augmentation plan, phrases and noise on any machine.
// sfc32 (a small, fast generator passing PractRand), seeded through splitmix32.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** 32-bit FNV-1a, so string seeds (sample ids) give independent streams. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function createRng(seed: number | string): Rng {
  const mix = splitmix32(typeof seed === 'string' ? hashSeed(seed) : seed);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  let spare: number | null = null;
  const next = (): number => u32() / 4294967296;
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      const u = 1 - next(); // (0, 1]: log is finite
      const r = Math.sqrt(-2 * Math.log(u));
      const theta = 2 * Math.PI * next();
      spare = r * Math.sin(theta);
      return r * Math.cos(theta);
    },
  };
}

/** Fisher-Yates shuffle into a new array. */
export function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Index drawn with probability proportional to its weight; -1 when all weights are 0. */
export function weightedIndex(rng: Rng, weights: readonly number[]): number {
  const total = weights.reduce((s, w) => s + w, 0);
  if (!(total > 0)) return -1;
  let r = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i] as number;
    if (r < 0 && (weights[i] as number) > 0) return i;
  }
  for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
  return -1;
}

/**
 * `k` distinct items of `pool` (whose items are distinct) none of which is in
 * `exclude`, uniformly. Rejection sampling: `k` is tiny next to a real pool,
 * so no per-call copy of a pool of 665k images.
 */
export function sampleDistinct<T>(rng: Rng, pool: readonly T[], k: number, exclude: ReadonlySet<T> = new Set()): T[] {
  // Conservative: assumes every excluded item is in the pool.
  if (pool.length - exclude.size < k)
    throw new RangeError(`need ${k} distinct items, pool has ${pool.length - exclude.size}`);
  const chosen = new Set<T>();
  while (chosen.size < k) {
    const item = pool[rng.int(pool.length)] as T;
    if (!exclude.has(item)) chosen.add(item);
  }
  return [...chosen];
}
