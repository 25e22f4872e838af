/**
 * The indicator catalog (`<sql>/seeds/indicators.json`): every indicator the marts compute, with where its value,
 * numerator and denominator live. It becomes `mart_indicators` (what the tier API serves as its catalog), and a
 * locality adds its own indicators (特色指标) to it beside its own models. Checked when the project loads (shape) and
 * after every build (the mart and columns it names exist).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { dimension } from '../../schemas/catalogs.js';
import { loadSeedFile } from './seed-files.js';

const column = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a column name');

export const indicatorSchema = z
  .object({
    code: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lowercase letters, digits and _'),
    name_zh: z.string().min(1),
    name_en: z.string().min(1),
    dimension: dimension.describe('运行 operation, 管理 management, 服务 service, 效能 effectiveness'),
    kind: z.enum(['basic', 'advanced', 'local']).describe('基础型, 提升型, or a locality’s own (特色指标)'),
    unit: z.enum(['ratio', 'hours', 'score']),
    mart: z.string().regex(/^mart_[a-z0-9_]+$/, 'a mart table'),
    value_column: column,
    numerator_column: column.nullable().describe('null when the value is not a ratio of counts (a weighted score)'),
    denominator_column: column,
    row_filter: z
      .record(column, z.string())
      .default({})
      .describe('the mart rows that hold the indicator, e.g. { "breakdown": "all" }'),
    grains: z.array(z.enum(['day', 'month', 'quarter', 'year'])).min(1),
    higher_is_better: z.boolean().default(true),
    target: z.number().optional(),
    definition: z.string().min(1),
    formula: z.string().min(1),
    source: z.string().min(1),
  })
  .strict();

export type Indicator = z.infer<typeof indicatorSchema>;

export const indicatorCatalogFile = (sqlDir: string) => join(sqlDir, 'seeds', 'indicators.json');

/** The catalog of a models folder; empty when it has none. Throws ModelDefinitionError naming the entry and key. */
export function loadIndicatorCatalog(sqlDir: string): Promise<Indicator[]> {
  return loadSeedFile(indicatorCatalogFile(sqlDir), 'indicators', indicatorSchema);
}

/** The columns an indicator reads from its mart. */
export function indicatorColumns(indicator: Indicator): { key: string; column: string }[] {
  return [
    { key: 'value_column', column: indicator.value_column },
    ...(indicator.numerator_column === null ? [] : [{ key: 'numerator_column', column: indicator.numerator_column }]),
    { key: 'denominator_column', column: indicator.denominator_column },
    ...Object.keys(indicator.row_filter).map((c) => ({ key: `row_filter.${c}`, column: c })),
    { key: 'grains', column: 'grain' },
    { key: 'grains', column: 'period' },
    { key: 'grains', column: 'region_code' },
  ];
}

/**
 * The relation `{{ indicator_values() }}` stands for: one row per indicator and mart row, `(indicator_code, grain,
 * period, region_code, value, numerator, denominator)`, values as DOUBLE; typed and empty without indicators.
 */
export function indicatorValuesSql(indicators: readonly Indicator[]): string {
  const q = (v: string) => `'${v.replaceAll("'", "''")}'`;
  const id = (v: string) => `"${v.replaceAll('"', '""')}"`;
  const empty =
    'select cast(null as varchar) as indicator_code, cast(null as varchar) as grain, cast(null as varchar) as period, ' +
    'cast(null as varchar) as region_code, cast(null as double) as value, cast(null as double) as numerator, ' +
    'cast(null as double) as denominator where false';
  const parts = indicators.map((i) => {
    const filters = [
      `grain in (${i.grains.map(q).join(', ')})`,
      ...Object.entries(i.row_filter).map(([column, value]) => `${id(column)} = ${q(value)}`),
    ];
    const numerator = i.numerator_column === null ? 'null' : id(i.numerator_column);
    return (
      `select ${q(i.code)}, grain, period, region_code, cast(${id(i.value_column)} as double), ` +
      `cast(${numerator} as double), cast(${id(i.denominator_column)} as double) from ${id(i.mart)} where ${filters.join(' and ')}`
    );
  });
  return `(${[empty, ...parts].join('\nunion all\n')})`;
}
