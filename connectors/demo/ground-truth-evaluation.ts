/**
 * Ground truth of `mart_evaluation` (四维评价), docs/indicators.md "Four-dimension evaluation": the evaluation
 * scheme's arithmetic applied to the truth's own indicator rows (the hotline, event, sensor, sharing and coverage
 * truths), so it is as independent of the SQL as they are. The indicator catalog (sql/seeds/indicators.json) says
 * which mart row and column holds each indicator; the scheme is config `models.indicators.evaluation`.
 */
import type { PeriodRegionCell } from './ground-truth-frame.js';

type Dimension = 'operation' | 'management' | 'service' | 'effectiveness';

/** The keys of an indicator catalog entry the evaluation reads. */
export interface CatalogIndicator {
  code: string;
  name_zh: string;
  dimension: Dimension;
  unit: string;
  mart: string;
  value_column: string;
  numerator_column: string | null;
  denominator_column: string;
  row_filter?: Record<string, string>;
  grains: readonly string[];
  higher_is_better?: boolean;
}

/** Config `models.indicators.evaluation`, in its own keys. */
export interface EvaluationSchemeInput {
  dimension_weights?: Partial<Record<Dimension, number>>;
  indicators?: readonly { code: string; weight?: number; full_score_at?: number }[];
}

export interface EvaluationRow extends EvaluationCell {
  level: 'indicator' | 'dimension' | 'composite';
  dimension: string;
  indicator_code: string;
  indicator_name: string | null;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  weight: number;
  full_score_at: number | null;
  /** Weighted means on dimension and composite rows: compare with a tolerance (summation order differs). */
  score: number | null;
  scored_count: number;
  indicator_count: number;
}

/** The cells evaluation scores: one per (month, quarter or year period, region of the scope). */
export type EvaluationCell = PeriodRegionCell;

/** Truth rows of a mart, by mart name: the rows an indicator's value, numerator and denominator are read from. */
export type MartRows = ReadonlyMap<string, readonly object[]>;

interface ScoredIndicator {
  indicator: CatalogIndicator;
  weight: number;
  fullScoreAt: number;
  dimensionWeight: number;
}

/** The scheme with its defaults: every ratio indicator where higher is better, weight 1, full score at 1. */
function scoredIndicators(catalog: readonly CatalogIndicator[], scheme: EvaluationSchemeInput): ScoredIndicator[] {
  const byCode = new Map(catalog.map((i) => [i.code, i]));
  const entries: EvaluationSchemeInput['indicators'] & {} =
    scheme.indicators ??
    catalog.filter((i) => i.unit === 'ratio' && (i.higher_is_better ?? true)).map((i) => ({ code: i.code }));
  return entries.map((entry, index) => {
    const indicator = byCode.get(entry.code);
    if (indicator === undefined) {
      throw new Error(`models.indicators.evaluation.indicators[${index}].code: ${entry.code} is not in the catalog`);
    }
    return {
      indicator,
      weight: entry.weight ?? 1,
      fullScoreAt: entry.full_score_at ?? 1,
      dimensionWeight: scheme.dimension_weights?.[indicator.dimension] ?? 1,
    };
  });
}

/** A column of a truth row, or null when the row has no such column or no value. */
function column(row: object, name: string | null): number | null {
  if (name === null || !Object.hasOwn(row, name)) return null;
  const value = (row as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : null;
}

const cellKey = (grain: string, period: string, region: string) => `${grain}\u0000${period}\u0000${region}`;

/** Each indicator's (value, numerator, denominator) per cell, from the rows of its mart that its row_filter keeps. */
function indicatorValues(indicator: CatalogIndicator, marts: MartRows) {
  const rows = marts.get(indicator.mart);
  if (rows === undefined) throw new Error(`indicator ${indicator.code}: the ground truth has no ${indicator.mart}`);
  const filter = Object.entries(indicator.row_filter ?? {});
  const out = new Map<string, { value: number | null; numerator: number | null; denominator: number | null }>();
  for (const row of rows) {
    const r = row as Record<string, unknown>;
    if (!filter.every(([c, v]) => Object.hasOwn(r, c) && r[c] === v)) continue;
    if (!indicator.grains.includes(String(r.grain))) continue;
    out.set(cellKey(String(r.grain), String(r.period), String(r.region_code)), {
      value: column(row, indicator.value_column),
      numerator: column(row, indicator.numerator_column),
      denominator: column(row, indicator.denominator_column),
    });
  }
  return out;
}

/** sum(weight × score) / sum(weight) over the scores that are not null (and the weights that count); null when none. */
function weightedMean(items: readonly { weight: number; score: number | null }[]): number | null {
  let sum = 0;
  let weights = 0;
  for (const { weight, score } of items) {
    if (score === null) continue;
    sum += weight * score;
    weights += weight;
  }
  return weights === 0 ? null : sum / weights;
}

export function scoreEvaluation(
  cells: readonly EvaluationCell[],
  marts: MartRows,
  catalog: readonly CatalogIndicator[],
  scheme: EvaluationSchemeInput = {},
): EvaluationRow[] {
  const scored = scoredIndicators(catalog, scheme);
  const values = new Map(scored.map((s) => [s.indicator.code, indicatorValues(s.indicator, marts)]));
  const rows: EvaluationRow[] = [];
  for (const cell of cells) {
    const key = cellKey(cell.grain, cell.period, cell.region_code);
    const indicatorRows: (EvaluationRow & { dimensionWeight: number })[] = [];
    for (const s of scored) {
      if (!s.indicator.grains.includes(cell.grain)) continue;
      const v = values.get(s.indicator.code)!.get(key);
      const value = v?.value ?? null;
      indicatorRows.push({
        ...cell,
        level: 'indicator',
        dimension: s.indicator.dimension,
        indicator_code: s.indicator.code,
        indicator_name: s.indicator.name_zh,
        value,
        numerator: v?.numerator ?? null,
        denominator: v?.denominator ?? null,
        weight: s.weight,
        full_score_at: s.fullScoreAt,
        score: value === null ? null : 100 * Math.min(1, value / s.fullScoreAt),
        scored_count: value === null ? 0 : 1,
        indicator_count: 1,
        dimensionWeight: s.dimensionWeight,
      });
    }
    if (indicatorRows.length === 0) continue;
    const dimensions = new Map<string, (typeof indicatorRows)[number][]>();
    for (const row of indicatorRows) {
      const list = dimensions.get(row.dimension);
      if (list) list.push(row);
      else dimensions.set(row.dimension, [row]);
    }
    const dimensionRows: EvaluationRow[] = [...dimensions].map(([dimension, members]) => ({
      ...cell,
      level: 'dimension',
      dimension,
      indicator_code: 'all',
      indicator_name: null,
      value: null,
      numerator: null,
      denominator: null,
      weight: members[0]!.dimensionWeight,
      full_score_at: null,
      score: weightedMean(members),
      scored_count: members.reduce((n, m) => n + m.scored_count, 0),
      indicator_count: members.length,
    }));
    rows.push(...indicatorRows.map(({ dimensionWeight: _, ...row }) => row), ...dimensionRows, {
      ...cell,
      level: 'composite',
      dimension: 'all',
      indicator_code: 'all',
      indicator_name: null,
      value: null,
      numerator: null,
      denominator: null,
      weight: 1,
      full_score_at: null,
      // A dimension weighted 0 weighs nothing.
      score: weightedMean(dimensionRows.filter((d) => d.weight > 0)),
      scored_count: dimensionRows.reduce((n, d) => n + d.scored_count, 0),
      indicator_count: dimensionRows.reduce((n, d) => n + d.indicator_count, 0),
    });
  }
  return rows;
}
