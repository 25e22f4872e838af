import { parseSourceTime } from '../time.js';
import { MappingRejection } from './types.js';

/**
 * Source time → canonical UTC ISO string. Absent stays absent (the schema decides whether it was required);
 * present but not a real time is an implausible_time rejection naming the raw field.
 */
export function utc(value: unknown, rawField: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  // Per-record hot path: a batch of readings often shares its timestamp, so the last conversion is remembered.
  if (value === lastSource) return lastUtc;
  const ms = parseSourceTime(value);
  if (Number.isNaN(ms))
    throw new MappingRejection('implausible_time', rawField, `not a valid time: ${JSON.stringify(value)}`);
  lastUtc = new Date(ms).toISOString();
  lastSource = value;
  return lastUtc;
}
let lastSource: unknown;
let lastUtc = '';

/**
 * A code table from source values to canonical ones. A Map, never a plain object: a source value such as
 * `constructor` or `__proto__` must not resolve through Object.prototype.
 */
export type CodeTable<V = string> = ReadonlyMap<string, V>;

export function codeTable<V = string>(entries: Readonly<Record<string, V>>): CodeTable<V> {
  return new Map(Object.entries(entries));
}

/** A code table lookup for enum-like source values; unknown values pass through so the schema reports them. */
export function lookup(table: CodeTable, value: unknown): unknown {
  return typeof value === 'string' ? (table.get(value) ?? value) : value;
}

/** Empty strings from sources mean "absent". */
export function optional(value: unknown): unknown {
  return value === '' || value === null ? undefined : value;
}
