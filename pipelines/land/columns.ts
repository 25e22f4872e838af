import type { z } from 'zod';
import { type DatasetName, datasets, landingColumns } from '../../schemas/index.js';
import { jsonSchemaOf } from '../../schemas/json-schema.js';

export type DuckType = 'VARCHAR' | 'DOUBLE' | 'BIGINT' | 'INTEGER' | 'BOOLEAN' | 'TIMESTAMPTZ';
export interface Column {
  name: string;
  type: DuckType;
}

/** Physical column types from a zod object schema (docs/lake.md): `*_at` strings are UTC timestamps. */
function columnsOf(schema: z.ZodObject): Column[] {
  const json = jsonSchemaOf(schema);
  return Object.entries(json.properties).map(([name, property]) => {
    let type: DuckType = 'VARCHAR';
    if (property.type === 'integer') type = name === '_partition' ? 'INTEGER' : 'BIGINT';
    else if (property.type === 'number') type = 'DOUBLE';
    else if (property.type === 'boolean') type = 'BOOLEAN';
    else if (name.endsWith('_at')) type = 'TIMESTAMPTZ';
    return { name, type };
  });
}

const cache = new Map<string, Column[]>();

/** Canonical columns followed by the landing columns every row carries. */
export function datasetColumns(dataset: DatasetName): Column[] {
  let columns = cache.get(dataset);
  if (!columns) {
    columns = [...columnsOf(datasets[dataset]), ...columnsOf(landingColumns)];
    cache.set(dataset, columns);
  }
  return columns;
}

/** Dead-letter rows (docs/lake.md). */
export const deadLetterColumns: Column[] = [
  { name: 'feed', type: 'VARCHAR' },
  { name: 'source', type: 'VARCHAR' },
  { name: 'reason_code', type: 'VARCHAR' },
  { name: 'reason', type: 'VARCHAR' },
  { name: 'raw', type: 'VARCHAR' },
  { name: 'raw_truncated', type: 'BOOLEAN' },
  { name: 'records', type: 'BIGINT' },
  { name: 'coordinates', type: 'VARCHAR' },
  { name: '_topic', type: 'VARCHAR' },
  { name: '_partition', type: 'INTEGER' },
  { name: '_offset', type: 'BIGINT' },
  { name: 'dead_lettered_at', type: 'TIMESTAMPTZ' },
];

/**
 * SQL text of a natural-key field (`column`: a quoted column or an expression of its type) as the normalizer writes
 * it: timestamps in toISOString() form, numbers as text, a NULL (an optional field left out) as empty text —
 * concat_ws would skip a NULL with its separator, and the key would no longer match the normalizer's. The lander's
 * recall of landed keys and the bulk path's keys both use it. A timestamp is formatted as its UTC wall time, a plain
 * TIMESTAMP: no time-zone conversion per row.
 */
export function naturalKeyTextSql(column: string, type: DuckType | undefined): string {
  if (type === 'TIMESTAMPTZ')
    return `coalesce(strftime(make_timestamp(epoch_us(${column})), '%Y-%m-%dT%H:%M:%S.%gZ'), '')`;
  return `coalesce(cast(${column} as varchar), '')`;
}
