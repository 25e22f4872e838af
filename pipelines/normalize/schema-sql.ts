/**
 * The canonical schemas (schemas/) as DuckDB checks, for the bulk path: each check is true only where zod is certain
 * to accept the value, so a row the SQL passes is one the record path would pass. Read from the zod definitions
 * themselves, not written twice; a rule this module does not know (a refinement it has never seen, a format it
 * cannot judge) makes the dataset stay on the record path, with the reason.
 */
import type { z } from 'zod';
import { type DatasetName, datasets, withoutDotDotOrDoubleSlash } from '../../schemas/index.js';
import { sqlDouble, sqlString } from '../mapping/sql-literal.js';

export interface FieldCheckSql {
  optional: boolean;
  /** SQL boolean over the field's typed value (never NULL for a non-null value). */
  check: (value: string) => string;
}

export type SchemaSqlResult = { ok: true; fields: Map<string, FieldCheckSql> } | { ok: false; reason: string };

class NotCompilable extends Error {}

const MAX_SAFE = '9007199254740991';
/** JS and RE2 agree on \p{L} and \p{N} for ASCII and the CJK Unified Ideographs; other text is left to zod. */
const UNICODE_CLASS_GUARD =
  "(strlen(VALUE) = length(VALUE) or regexp_full_match(VALUE, '[\\x00-\\x7f\\x{4e00}-\\x{9fff}]*'))";
/** URLs every WHATWG parser takes as they are (zod's z.url() is new URL()): other ones are left to zod. */
const PLAIN_URL =
  'https?://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?(\\?[A-Za-z0-9._~%=&-]*)?';

interface ZodDef {
  type: string;
  innerType?: z.ZodType;
  checks?: { _zod: { def: Record<string, unknown> } }[];
  format?: string;
  entries?: Record<string, unknown>;
}

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** The checks of every field of a canonical dataset, or why one cannot be checked in SQL. */
export function schemaSql(dataset: DatasetName): SchemaSqlResult {
  const fields = new Map<string, FieldCheckSql>();
  try {
    for (const [name, schema] of Object.entries(datasets[dataset].shape as Record<string, z.ZodType>)) {
      try {
        fields.set(name, fieldCheck(schema));
      } catch (error) {
        if (error instanceof NotCompilable) throw new NotCompilable(`${dataset}.${name}: ${error.message}`);
        throw error;
      }
    }
  } catch (error) {
    if (error instanceof NotCompilable) return { ok: false, reason: error.message };
    throw error;
  }
  return { ok: true, fields };
}

function fieldCheck(schema: z.ZodType): FieldCheckSql {
  let def = defOf(schema);
  let optional = false;
  if (def.type === 'optional') {
    optional = true;
    def = defOf(def.innerType!);
  }
  const parts: ((value: string) => string)[] = [];
  if (def.type === 'string') {
    if (def.format === 'datetime') {
      // Only time steps fill a timestamp column: an instant in the plausible range, which zod's ISO text passes.
    } else if (def.format === 'url') {
      parts.push((x) => `regexp_full_match(${x}, '${PLAIN_URL}')`);
    } else if (def.format !== undefined && def.format !== 'regex') {
      throw new NotCompilable(`string format ${def.format}`);
    }
    for (const check of def.checks ?? []) parts.push(stringCheck(check._zod.def));
  } else if (def.type === 'number') {
    parts.push((x) => `isfinite(${x})`);
    for (const check of def.checks ?? []) parts.push(numberCheck(check._zod.def));
  } else if (def.type === 'enum') {
    const list = Object.values(def.entries ?? {}).map((v) => {
      if (typeof v !== 'string') throw new NotCompilable('an enum of values that are not text');
      return sqlString(v);
    });
    parts.push((x) => `${x} in (${list.join(', ')})`);
  } else if (def.type !== 'boolean') {
    throw new NotCompilable(`a ${def.type} field`);
  }
  return { optional, check: (x) => (parts.length === 0 ? 'true' : `(${parts.map((p) => p(x)).join(' and ')})`) };
}

function stringCheck(def: Record<string, unknown>): (x: string) => string {
  switch (def.check) {
    case 'min_length':
      // DuckDB counts code points, JS UTF-16 units (never fewer): at least n code points is at least n units.
      return (x) => `length(${x}) >= ${Number(def.minimum)}`;
    case 'max_length': {
      // UTF-16 units never exceed UTF-8 bytes; past that, only text without astral characters is counted exactly.
      const n = Number(def.maximum);
      return (x) =>
        `(strlen(${x}) <= ${n} or (length(${x}) <= ${n} and not regexp_matches(${x}, '[\\x{10000}-\\x{10FFFF}]')))`;
    }
    case 'string_format': {
      if (def.format !== 'regex') throw new NotCompilable(`string format ${String(def.format)}`);
      const pattern = def.pattern as RegExp;
      if (pattern.flags.replace('u', '') !== '') throw new NotCompilable(`a pattern with flags ${pattern.flags}`);
      const source = pattern.source;
      if (/\(\?[=!<]|\\[1-9]/.test(source)) throw new NotCompilable(`a pattern RE2 cannot run: ${source}`);
      const guarded = /\\p\{/.test(source);
      return (x) =>
        `(${guarded ? `${UNICODE_CLASS_GUARD.replaceAll('VALUE', x)} and ` : ''}regexp_matches(${x}, ${sqlString(source)}))`;
    }
    case 'custom':
      if (def.fn === withoutDotDotOrDoubleSlash)
        return (x) => `(not contains(${x}, '..') and not contains(${x}, '//'))`;
      throw new NotCompilable('a refinement the bulk path does not know');
    default:
      throw new NotCompilable(`a string check ${String(def.check)}`);
  }
}

function numberCheck(def: Record<string, unknown>): (x: string) => string {
  switch (def.check) {
    case 'greater_than':
      return (x) => `${x} ${def.inclusive ? '>=' : '>'} ${sqlDouble(Number(def.value))}`;
    case 'less_than':
      return (x) => `${x} ${def.inclusive ? '<=' : '<'} ${sqlDouble(Number(def.value))}`;
    case 'number_format':
      if (def.format === 'safeint') return (x) => `(${x} = floor(${x}) and abs(${x}) <= ${MAX_SAFE})`;
      throw new NotCompilable(`number format ${String(def.format)}`);
    default:
      throw new NotCompilable(`a number check ${String(def.check)}`);
  }
}
