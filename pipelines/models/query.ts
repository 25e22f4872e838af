import { access } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
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
import { sqlString } from '../mapping/sql-literal.js';
import { FileAccessQueryError, MartsFileError, MartsQueryError, ReadOnlyQueryError } from './errors.js';

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

/** `/a/b` → `/a/b/`: DuckDB matches allowed directories by prefix, and `/a/b` would also allow `/a/bc`. */
function directoryPrefix(dir: string): string {
  const abs = resolve(dir);
  return abs.endsWith(sep) ? abs : `${abs}${sep}`;
}

/**
 * Opens a marts file read-only: no writes, configuration locked, no file system access beyond the file itself —
 * and, when `lakeDir` is given, reads of files under that folder (read_parquet over the lake). Writes under the lake
 * are refused by queryMarts' statement check (only SELECT and EXPLAIN run), not by DuckDB.
 * The caller closes the returned instance (closeSync) when done.
 */
export async function openMartsReadOnly(
  martsPath: string,
  lakeDir?: string,
): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  let instance: DuckDBInstance | undefined;
  try {
    await access(martsPath);
    instance = await DuckDBInstance.create(martsPath, { access_mode: 'READ_ONLY' });
    const connection = await instance.connect();
    // allowed_directories can only be set while external access is still on, and external access cannot be turned
    // back on once off: set the list, then close the door, then lock the configuration.
    if (lakeDir !== undefined)
      await connection.run(`set allowed_directories = [${sqlString(directoryPrefix(lakeDir))}]`);
    await connection.run('set enable_external_access = false');
    await connection.run('set lock_configuration = true');
    return { instance, connection };
  } catch (err) {
    instance?.closeSync();
    throw new MartsFileError(martsPath, 'open', err);
  }
}

const readStatements = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

function queryError(o: QueryOptions, err: unknown): MartsQueryError {
  if (err instanceof MartsQueryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const file = /Cannot access (?:file|directory) "([^"]*)"/.exec(message)?.[1];
  if (file !== undefined) return new FileAccessQueryError(o.martsPath, o.sql, file, o.lakeDir, { cause: err });
  if (/read-only|Permission Error/i.test(message))
    return new ReadOnlyQueryError(o.martsPath, o.sql, 'write', { cause: err });
  return new MartsQueryError(o.martsPath, o.sql, message, { cause: err });
}

export interface QueryOptions {
  martsPath: string;
  sql: string;
  /** The lake root: the query may read files under it (read_parquet('<lake>/sensor_reading/**\/*.parquet')). */
  lakeDir?: string;
  /**
   * Values of the query's named parameters (`$region` → params.region), bound as VARCHAR and cast by DuckDB to the
   * type the query gives them: never spliced into the SQL text.
   */
  params?: Readonly<Record<string, string>>;
}

/** Binds every parameter of the statement; a parameter without a value, or a value no parameter takes, is an error. */
function bindParams(o: QueryOptions, prepared: DuckDBPreparedStatement): void {
  const params = o.params ?? {};
  const used = new Set<string>();
  for (let index = 1; index <= prepared.parameterCount; index++) {
    const name = prepared.parameterName(index);
    if (!Object.hasOwn(params, name)) {
      throw new MartsQueryError(
        o.martsPath,
        o.sql,
        `the query uses $${name}: give its value with --param ${name}=VALUE`,
      );
    }
    prepared.bindVarchar(index, params[name]!);
    used.add(name);
  }
  const unused = Object.keys(params).filter((name) => !used.has(name));
  if (unused.length > 0) {
    throw new MartsQueryError(
      o.martsPath,
      o.sql,
      `--param ${unused.join(', ')}: the query has no such parameter (it uses ${used.size === 0 ? 'none' : [...used].map((n) => `$${n}`).join(', ')})`,
    );
  }
}

/** Receives a query result as it streams: the column names once, then the rows chunk by chunk (about 2,048 each). */
export interface QueryConsumer {
  columns(names: string[]): void | Promise<void>;
  rows(rows: JsValue[][]): void | Promise<void>;
}

/**
 * One read-only statement (SELECT, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN) against the marts file, streamed: each chunk
 * is converted and handed to the consumer (awaited) before the next is fetched, so memory does not grow with the
 * result. Returns the number of rows.
 */
export async function streamQuery(o: QueryOptions, consumer: QueryConsumer): Promise<number> {
  const { instance, connection } = await openMartsReadOnly(o.martsPath, o.lakeDir);
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
    bindParams(o, prepared);
    const result = await prepared.stream();
    const types = result.columnTypes();
    await consumer.columns(result.columnNames());
    let count = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const rows = chunk.getRows();
      const converted: JsValue[][] = new Array(rows.length);
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!;
        const out: JsValue[] = new Array(row.length);
        for (let c = 0; c < row.length; c++) out[c] = toJsValue(row[c]!, types[c]!);
        converted[r] = out;
      }
      count += converted.length;
      await consumer.rows(converted);
    }
    return count;
  } catch (err) {
    throw queryError(o, err);
  } finally {
    prepared?.destroySync();
    connection.closeSync();
    instance.closeSync();
  }
}

/** Like streamQuery, collecting the whole result: for small results (indicators, tests). */
export async function queryMarts(o: QueryOptions): Promise<QueryResult> {
  const result: QueryResult = { columns: [], rows: [] };
  await streamQuery(o, {
    columns: (names) => {
      result.columns = names;
    },
    rows: (rows) => {
      for (const row of rows) result.rows.push(row);
    },
  });
  return result;
}
