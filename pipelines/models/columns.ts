import { z } from 'zod';

/** A column's DuckDB type, derived from the zod schema (docs/lake.md "Column types"). */
export type DuckType = 'VARCHAR' | 'TIMESTAMPTZ' | 'DATE' | 'DOUBLE' | 'BIGINT' | 'INTEGER' | 'BOOLEAN' | 'VARCHAR[]';

export interface ColumnSpec {
  name: string;
  type: DuckType;
}

/** Columns the lander adds to every landed row (docs/lake.md). */
export const landingColumnSpecs: ColumnSpec[] = [
  { name: '_source', type: 'VARCHAR' },
  { name: '_ingested_at', type: 'TIMESTAMPTZ' },
  { name: '_topic', type: 'VARCHAR' },
  { name: '_partition', type: 'INTEGER' },
  { name: '_offset', type: 'BIGINT' },
];

function unwrap(t: z.ZodType): z.ZodType {
  let cur = t;
  while (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodNullable) {
    cur = cur.unwrap() as z.ZodType;
  }
  return cur;
}

function duckType(field: string, t: z.ZodType): DuckType {
  const inner = unwrap(t);
  switch (inner.def.type) {
    case 'string': {
      // z.string() and the z.iso.* string formats (ZodStringFormat) both carry `format` when they have one.
      const format = (inner as unknown as { format?: string | null }).format;
      if (format === 'datetime') return 'TIMESTAMPTZ';
      if (format === 'date') return 'DATE';
      return 'VARCHAR';
    }
    case 'enum':
      return 'VARCHAR';
    case 'number':
      return (inner as z.ZodNumber).isInt ? 'BIGINT' : 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'array':
      if (['string', 'enum'].includes(unwrap((inner as z.ZodArray<z.ZodType>).element).def.type)) return 'VARCHAR[]';
  }
  throw new TypeError(`no DuckDB type for schema field ${field}`);
}

/**
 * The columns of a reference catalog's schema: like columnSpecs, but a field with no column type (a list of
 * objects, such as a data resource's declared `fields`) becomes a VARCHAR holding its JSON, listed in `json`.
 */
export function catalogColumnSpecs(schema: z.ZodObject): { columns: ColumnSpec[]; json: string[] } {
  const json: string[] = [];
  const columns = Object.entries(schema.shape).map(([name, t]): ColumnSpec => {
    try {
      return { name, type: duckType(name, t as z.ZodType) };
    } catch {
      json.push(name);
      return { name, type: 'VARCHAR' };
    }
  });
  return { columns, json };
}

/** The DuckDB columns of a zod object schema, in schema order. */
export function columnSpecs(schema: z.ZodObject): ColumnSpec[] {
  return Object.entries(schema.shape).map(([name, t]) => ({ name, type: duckType(name, t as z.ZodType) }));
}

/** Quotes an identifier for DuckDB. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for DuckDB. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
