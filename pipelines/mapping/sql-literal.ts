/**
 * DuckDB literals built from values a city's files supply (codes, zone names, unit factors). The mapping compiles
 * to SQL text, so every value must come back out of DuckDB exactly as it went in, whatever bytes it holds.
 */
import { CityhubError } from '../errors.js';

/** A value that has no DuckDB literal (a lone UTF-16 surrogate cannot be written as UTF-8 SQL text). */
export class SqlLiteralError extends CityhubError {
  constructor(
    readonly value: string,
    readonly problem: string,
  ) {
    super(`cannot write ${JSON.stringify(value)} as a DuckDB literal: ${problem}`);
  }
}

/**
 * A DuckDB VARCHAR literal. Standard SQL strings: a quote is doubled, a backslash is an ordinary character. NUL would
 * end the statement text in DuckDB's parser, so it is spliced in with chr(0).
 */
export function sqlString(value: string): string {
  if (!value.isWellFormed()) throw new SqlLiteralError(value, 'it holds a lone surrogate');
  const quoted = `'${value.replaceAll("'", "''")}'`;
  if (!value.includes('\0')) return quoted;
  return `(${quoted.replaceAll('\0', "' || chr(0) || '")})`;
}

/**
 * A DuckDB DOUBLE literal holding exactly this number: the shortest round-trip text of the double, parsed by DuckDB
 * from a string (a bare `0.1` would first become a DECIMAL).
 */
export function sqlDouble(value: number): string {
  if (Number.isNaN(value)) return "'nan'::DOUBLE";
  if (!Number.isFinite(value)) return value > 0 ? "'inf'::DOUBLE" : "'-inf'::DOUBLE";
  return `'${Object.is(value, -0) ? '-0.0' : String(value)}'::DOUBLE`;
}

/** A DuckDB literal of a code-table value: text, boolean or number. */
export function sqlValue(value: string | number | boolean): string {
  if (typeof value === 'string') return sqlString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return sqlDouble(value);
}

/**
 * DuckDB expression rounding a DOUBLE exactly as JS `Math.round` does (halves toward +∞; DuckDB's round() takes
 * them away from zero). `x - floor(x)` is exact for any double, so the comparison sees the true fraction.
 */
export function sqlJsRound(expr: string): string {
  return `list_transform([${expr}], lambda x: case when x - floor(x) >= 0.5 then floor(x) + 1 else floor(x) end)[1]`;
}

/**
 * A TIMESTAMP holding a UTC wall clock as the TIMESTAMPTZ instant, by its microseconds: timezone('UTC', …) gives the
 * same instant through ICU's calendar at ten times the cost per row.
 */
export function sqlUtcInstant(timestamp: string): string {
  return `make_timestamptz(epoch_us(${timestamp}))`;
}

/** A DuckDB quoted identifier (a table or column name): a double quote is doubled. */
export function sqlIdentifier(name: string): string {
  if (!name.isWellFormed() || name.includes('\0')) throw new SqlLiteralError(name, 'not usable as an identifier');
  return `"${name.replaceAll('"', '""')}"`;
}
