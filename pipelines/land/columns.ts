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
