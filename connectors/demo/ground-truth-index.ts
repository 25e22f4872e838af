/** Sorted day lists and day indexes the sharing and scenario truths search: "any day of X in [start, end]?". */

/** Index of the first element >= x in a sorted array. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a sorted day list has a day in [start, end]. */
export function anyIn(sorted: readonly number[] | undefined, start: number, end: number): boolean {
  if (!sorted) return false;
  const i = lowerBound(sorted, start);
  return i < sorted.length && sorted[i]! <= end;
}

/** key → region → sorted distinct days. */
export type DayIndex = Map<string, Map<string, number[]>>;

export function buildIndex<T>(
  rows: readonly T[],
  key: (r: T) => string,
  region: (r: T) => string,
  day: (r: T) => number,
): DayIndex {
  const sets = new Map<string, Map<string, Set<number>>>();
  for (const row of rows) {
    const k = key(row);
    let byRegion = sets.get(k);
    if (!byRegion) {
      byRegion = new Map();
      sets.set(k, byRegion);
    }
    const reg = region(row);
    let days = byRegion.get(reg);
    if (!days) {
      days = new Set();
      byRegion.set(reg, days);
    }
    days.add(day(row));
  }
  const index: DayIndex = new Map();
  for (const [k, byRegion] of sets) {
    index.set(k, new Map([...byRegion].map(([reg, days]) => [reg, [...days].sort((a, b) => a - b)])));
  }
  return index;
}

/** Any row of `key` within the region prefix with a day in [start, end]. */
export function anyWithin(index: DayIndex, key: string, prefix: string, start: number, end: number): boolean {
  for (const [reg, days] of index.get(key) ?? []) if (reg.startsWith(prefix) && anyIn(days, start, end)) return true;
  return false;
}

/** Code-point order (= UTF-8 byte order = DuckDB's VARCHAR order). */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
