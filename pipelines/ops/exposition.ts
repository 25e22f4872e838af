/**
 * The Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/), written
 * by hand: a scrape is a few dozen families, and the format is small enough that a writer is shorter than the
 * adapter a client library would need to read cityhub's live objects at scrape time.
 */

import { CityhubError } from '../errors.js';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels?: Labels;
  value: number;
}

/** A counter (its name ends in `_total`) or a gauge: one value per label set. */
export interface ScalarFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: readonly Sample[];
}

/** One labelled series of a histogram: each bucket's own count (not cumulative), the sum and count of observations. */
export interface HistogramSeries {
  labels?: Labels;
  /** Observations per bucket, in the order of the family's bounds, then those above the last bound (+Inf). */
  bucketCounts: readonly number[];
  sum: number;
  count: number;
}

export interface HistogramFamily {
  name: string;
  help: string;
  type: 'histogram';
  /** Upper bounds (inclusive, `le`), ascending, without +Inf. */
  bounds: readonly number[];
  series: readonly HistogramSeries[];
}

export type MetricFamily = ScalarFamily | HistogramFamily;

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A family cityhub's own code built wrong (a bad name, a counter without `_total`): a bug, not an input. */
export class InvalidMetricError extends CityhubError {}

/** A label value as the format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/** HELP text escapes backslash and line feed only (a double quote stays). */
function escapeHelp(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  for (const [name] of pairs) if (!labelName.test(name) || name.startsWith('__')) throw new InvalidMetricError(name);
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

function checkFamily(family: MetricFamily): void {
  if (!metricName.test(family.name)) throw new InvalidMetricError(`not a metric name: ${family.name}`);
  if (family.type === 'counter' && !family.name.endsWith('_total'))
    throw new InvalidMetricError(`a counter's name ends in _total: ${family.name}`);
  if (family.type === 'histogram') {
    const { bounds } = family;
    if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!)))
      throw new InvalidMetricError(`histogram bounds must be finite and ascending: ${family.name}`);
    for (const series of family.series)
      if (series.bucketCounts.length !== bounds.length + 1)
        throw new InvalidMetricError(`${family.name}: one count per bound and one for +Inf`);
  }
}

/**
 * The exposition of these families: `# HELP` and `# TYPE` once per family, then its samples; a histogram as its
 * cumulative `_bucket{le=…}` series ending in `le="+Inf"` (equal to `_count`), `_sum` and `_count`. Families must have
 * distinct names (the caller's job: each is built in one place).
 */
export function exposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    checkFamily(family);
    if (seen.has(family.name)) throw new InvalidMetricError(`family ${family.name} given twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type !== 'histogram') {
      for (const sample of family.samples)
        lines.push(`${family.name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
      continue;
    }
    for (const series of family.series) {
      let cumulative = 0;
      family.bounds.forEach((bound, i) => {
        cumulative += series.bucketCounts[i]!;
        lines.push(`${family.name}_bucket${labelText(series.labels, ['le', formatValue(bound)])} ${cumulative}`);
      });
      cumulative += series.bucketCounts[family.bounds.length]!;
      lines.push(`${family.name}_bucket${labelText(series.labels, ['le', '+Inf'])} ${cumulative}`);
      lines.push(`${family.name}_sum${labelText(series.labels)} ${formatValue(series.sum)}`);
      lines.push(`${family.name}_count${labelText(series.labels)} ${series.count}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
