/**
 * A mart's rows against its ground truth, for the tests that build the marts from the demo city
 * (pipelines/models/ground-truth.test.ts on a written lake, test/e2e/demo-ground-truth.test.ts through the hub): rows
 * matched by the mart's grain, every column the truth has compared, exactly — except sums and means of DOUBLEs, which
 * SQL adds up in another order, compared to a relative tolerance.
 */
import { isDeepStrictEqual } from 'node:util';
import type { DemoGroundTruth, EvaluationRow } from './ground-truth.js';

export interface MartTruth {
  mart: string;
  rows: readonly object[];
  /** The mart's grain: the columns that identify a row. */
  key: readonly string[];
  /** Columns compared to a relative tolerance. */
  approx: readonly string[];
}

/** Every mart the truth computes (`mart_indicators`, the catalog itself, is checked against its file instead). */
export function martTruths(truth: DemoGroundTruth, evaluation: readonly EvaluationRow[]): MartTruth[] {
  const region = ['grain', 'period', 'region_code'];
  const breakdown = [...region, 'breakdown', 'breakdown_value'];
  return [
    { mart: 'mart_data_sharing', rows: truth.data_sharing, key: region, approx: [] },
    {
      mart: 'mart_resource_sharing',
      rows: truth.resource_sharing,
      key: ['grain', 'period', 'resource_code'],
      approx: [],
    },
    { mart: 'mart_scenario_coverage', rows: truth.scenario_coverage, key: region, approx: [] },
    {
      mart: 'mart_scenario_status',
      rows: truth.scenario_status,
      key: ['grain', 'period', 'scenario_code', 'region_code'],
      approx: [],
    },
    { mart: 'mart_hotline', rows: truth.hotline, key: breakdown, approx: [] },
    {
      mart: 'mart_event_closure',
      rows: truth.event_closure,
      key: breakdown,
      approx: ['handling_hours_sum', 'handling_hours_avg', 'closure_hours_sum', 'closure_hours_avg'],
    },
    { mart: 'mart_sensor_health', rows: truth.sensor_health, key: [...region, 'device_type'], approx: [] },
    {
      mart: 'mart_evaluation',
      rows: evaluation,
      key: [...region, 'level', 'dimension', 'indicator_code'],
      // An hours indicator's value and numerator are DOUBLE sums; dimension and composite scores weighted means.
      approx: ['value', 'numerator', 'score'],
    },
  ];
}

/** The columns to select from the mart: every column of the truth's rows. */
export function truthColumns(t: MartTruth): string[] {
  return t.rows.length === 0 ? [...t.key] : Object.keys(t.rows[0]!);
}

const RELATIVE_TOLERANCE = 1e-9;

function close(a: unknown, b: unknown): boolean {
  if (typeof a !== 'number' || typeof b !== 'number') return a === b;
  return Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(1, Math.abs(b));
}

/**
 * What differs between the mart's rows (as a query returns them: column names and row arrays) and the truth's, in
 * words, at most `limit` lines and a count of the rest: [] when they are equal.
 */
export function martDifferences(
  t: MartTruth,
  actual: { columns: readonly string[]; rows: readonly (readonly unknown[])[] },
  limit = 25,
): string[] {
  const columns = truthColumns(t);
  const keyOf = (r: Record<string, unknown>) => JSON.stringify(t.key.map((k) => r[k]));
  const want = new Map<string, Record<string, unknown>>();
  for (const row of t.rows as Record<string, unknown>[]) want.set(keyOf(row), row);
  const got = new Map<string, Record<string, unknown>>();
  const problems: string[] = [];
  for (const values of actual.rows) {
    const row = Object.fromEntries(actual.columns.map((c, i) => [c, values[i]]));
    const key = keyOf(row);
    if (got.has(key)) problems.push(`${t.mart} ${key}: twice in the mart`);
    got.set(key, row);
  }
  if (want.size !== t.rows.length) problems.push(`${t.mart}: the truth repeats a key`);
  for (const [key, truth] of want) {
    const mart = got.get(key);
    if (mart === undefined) {
      problems.push(`${t.mart} ${key}: missing from the mart`);
      continue;
    }
    for (const c of columns) {
      const same = t.approx.includes(c) ? close(mart[c], truth[c]) : isDeepStrictEqual(mart[c], truth[c]);
      if (!same) {
        problems.push(`${t.mart} ${key} ${c}: mart ${JSON.stringify(mart[c])}, truth ${JSON.stringify(truth[c])}`);
      }
    }
  }
  for (const key of got.keys()) if (!want.has(key)) problems.push(`${t.mart} ${key}: not in the truth`);
  return problems.length <= limit
    ? problems
    : [...problems.slice(0, limit), `${t.mart}: … and ${problems.length - limit} more differences`];
}
