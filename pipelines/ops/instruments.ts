/**
 * The few things recorded as they happen (flush and build durations, API requests); everything else in /metrics is
 * read from the live objects at scrape time. Each records in O(1) without allocating once its series exists.
 */
import type { HistogramFamily, HistogramSeries, ScalarFamily } from './exposition.js';

/** Observations counted into fixed buckets (upper bounds, inclusive), with their sum and count. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  get observations(): number {
    return this.count;
  }

  family(): HistogramFamily {
    const series: HistogramSeries = { bucketCounts: [...this.counts], sum: this.sum, count: this.count };
    return { name: this.name, help: this.help, type: 'histogram', bounds: this.bounds, series: [series] };
  }
}

/** A counter with labels: one value per combination of label values, the combinations kept as they first occur. */
export class LabeledCounter<const L extends readonly string[]> {
  private readonly series = new Map<string, { values: readonly string[]; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: L,
  ) {}

  /** Adds `by` to the series of these label values (in the order of labelNames). */
  inc(values: { readonly [K in keyof L]: string }, by = 1): void {
    // A separator no label value holds in practice; a collision would only merge two series' counts.
    const key = (values as readonly string[]).join('\u0000');
    const found = this.series.get(key);
    if (found) found.count += by;
    else this.series.set(key, { values: [...(values as readonly string[])], count: by });
  }

  /** The value of one series (0 when it never counted). */
  get(values: { readonly [K in keyof L]: string }): number {
    return this.series.get((values as readonly string[]).join('\u0000'))?.count ?? 0;
  }

  family(): ScalarFamily {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      samples: [...this.series.values()].map(({ values, count }) => ({
        labels: Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]!])),
        value: count,
      })),
    };
  }
}
