/**
 * The Arrow IPC stream body, typed from the DuckDB result's column types. A module of its own, loaded on the first
 * request for Arrow (app.ts): apache-arrow takes about 150 ms to load, which no other response needs.
 */

import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import {
  Bool,
  type DataType,
  DateDay,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  Schema,
  Table,
  TimestampMillisecond,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import type { JsValue } from '../models/query.js';
import type { ResultSet } from './formats.js';

function arrowType(type: DuckDBType): DataType {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return new Bool();
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.TINYINT:
      return new Int32();
    case DuckDBTypeId.BIGINT:
      return new Int64();
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DECIMAL:
      return new Float64();
    case DuckDBTypeId.DATE:
      return new DateDay();
    case DuckDBTypeId.TIMESTAMP_TZ:
      return new TimestampMillisecond('UTC');
    case DuckDBTypeId.TIMESTAMP:
      return new TimestampMillisecond();
    case DuckDBTypeId.LIST:
      return new List(new Field('item', new Utf8(), true));
    default:
      return new Utf8();
  }
}

function arrowValue(value: JsValue, type: DataType): unknown {
  if (value === null) return null;
  if (type instanceof Int64) return BigInt(value as number | string);
  if (type instanceof DateDay) return new Date(`${value as string}T00:00:00Z`);
  if (type instanceof TimestampMillisecond) return new Date(value as string);
  if (type instanceof List) return (value as JsValue[]).map((v) => (v === null ? null : String(v)));
  if (type instanceof Utf8 && typeof value !== 'string') return JSON.stringify(value);
  return value;
}

/** The result as an Arrow IPC stream (one record batch; an empty result is a schema and no rows). */
export function arrowBody(result: ResultSet): Buffer {
  const types = result.types.map(arrowType);
  const fields = result.columns.map((name, c) => new Field(name, types[c]!, true));
  const vectors: Record<string, Vector> = {};
  result.columns.forEach((name, c) => {
    const values = result.rows.map((row) => arrowValue(row[c]!, types[c]!));
    vectors[name] = vectorFromArray(values, types[c]!);
  });
  const table = result.rows.length === 0 ? new Table(new Schema(fields)) : new Table(vectors);
  return Buffer.from(tableToIPC(table, 'stream'));
}
