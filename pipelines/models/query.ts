import { access } from 'node:fs/promises';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBListType,
  type DuckDBPreparedStatement,
  type DuckDBResultReader,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  StatementType,
} from '@duckdb/node-api';
import { MartsFileError, MartsQueryError, ReadOnlyQueryError } from './errors.js';

/** A JSON-friendly cell value. */
export type JsValue = null | boolean | number | string | JsValue[] | { [key: string]: JsValue };

export interface QueryResult {
  columns: string[];
  rows: JsValue[][];
}

function isoFromMicros(micros: bigint, withZone: boolean): string {
  let ms = micros / 1000n;
  let sub = micros % 1000n;
  if (sub < 0n) {
    ms -= 1n;
    sub += 1000n;
  }
  let iso = new Date(Number(ms)).toISOString();
  if (sub !== 0n) iso = `${iso.slice(0, -1)}${sub.toString().padStart(3, '0')}Z`;
  return withZone ? iso : iso.slice(0, -1);
}

function safeNumber(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/**
 * DuckDB value → JSON-friendly value: integers as numbers (as strings beyond 2^53), DATE as YYYY-MM-DD,
 * TIMESTAMPTZ as ISO 8601 with Z (microseconds kept when present), TIMESTAMP as ISO without zone,
 * lists/arrays as arrays, structs as objects, maps as [{key, value}], anything else as its DuckDB text.
 */
export function toJsValue(value: DuckDBValue, type: DuckDBType): JsValue {
  if (value === null) return null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return safeNumber(value);
  switch (type.typeId) {
    case DuckDBTypeId.DATE:
      return value.toString();
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP: {
      const ts = value as { micros: bigint; isFinite: boolean };
      return ts.isFinite ? isoFromMicros(ts.micros, type.typeId === DuckDBTypeId.TIMESTAMP_TZ) : value.toString();
    }
    case DuckDBTypeId.DECIMAL:
      return Number(value.toString());
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const items = (value as { items: readonly DuckDBValue[] }).items;
      const itemType = (type as DuckDBListType).valueType;
      return items.map((item) => toJsValue(item, itemType));
    }
    case DuckDBTypeId.STRUCT: {
      const entries = (value as { entries: Readonly<Record<string, DuckDBValue>> }).entries;
      const st = type as DuckDBStructType;
      const out: Record<string, JsValue> = {};
      st.entryNames.forEach((name, i) => {
        out[name] = toJsValue(entries[name] ?? null, st.entryTypes[i]!);
      });
      return out;
    }
    case DuckDBTypeId.MAP: {
      const entries = (value as { entries: readonly { key: DuckDBValue; value: DuckDBValue }[] }).entries;
      const mt = type as unknown as { keyType: DuckDBType; valueType: DuckDBType };
      return entries.map((e) => ({ key: toJsValue(e.key, mt.keyType), value: toJsValue(e.value, mt.valueType) }));
    }
    default:
      return value.toString();
  }
}

function convertReader(reader: DuckDBResultReader): QueryResult {
  const types = reader.columnTypes();
  return {
    columns: reader.columnNames(),
    rows: reader.getRows().map((row) => row.map((v, i) => toJsValue(v, types[i]!))),
  };
}

/** Runs a query and converts the whole result. */
export async function readQuery(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
  return convertReader(await connection.runAndReadAll(sql));
}

/**
 * Opens a marts file read-only: no writes, no file system access beyond the file itself, configuration locked.
 * The caller closes the returned instance (closeSync) when done.
 */
export async function openMartsReadOnly(
  martsPath: string,
): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  try {
    await access(martsPath);
    const instance = await DuckDBInstance.create(martsPath, {
      access_mode: 'READ_ONLY',
      enable_external_access: 'false',
      lock_configuration: 'true',
    });
    return { instance, connection: await instance.connect() };
  } catch (err) {
    throw new MartsFileError(martsPath, 'open', err);
  }
}

const readStatements = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

function queryError(martsPath: string, sql: string, err: unknown): MartsQueryError {
  if (err instanceof MartsQueryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/read-only|Permission Error/i.test(message))
    return new ReadOnlyQueryError(martsPath, sql, 'write', { cause: err });
  return new MartsQueryError(martsPath, sql, message, { cause: err });
}

/** One read-only statement (SELECT, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN) against the marts file. */
export async function queryMarts(o: { martsPath: string; sql: string }): Promise<QueryResult> {
  const { instance, connection } = await openMartsReadOnly(o.martsPath);
  let prepared: DuckDBPreparedStatement | undefined;
  try {
    const statements = await connection.extractStatements(o.sql);
    if (statements.count !== 1) {
      throw new MartsQueryError(o.martsPath, o.sql, `expected exactly one statement, got ${statements.count}`);
    }
    prepared = await statements.prepare(0);
    if (!readStatements.has(prepared.statementType)) {
      throw new ReadOnlyQueryError(
        o.martsPath,
        o.sql,
        StatementType[prepared.statementType] ?? String(prepared.statementType),
      );
    }
    return convertReader(await prepared.runAndReadAll());
  } catch (err) {
    throw queryError(o.martsPath, o.sql, err);
  } finally {
    prepared?.destroySync();
    connection.closeSync();
    instance.closeSync();
  }
}
