/**
 * Response bodies by `Accept`: JSON (default), CSV (UTF-8, RFC 4180, a BOM on request for Excel) and an Arrow IPC
 * stream (apache-arrow), typed from the DuckDB result's column types.
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
import { formatRows } from '../models/format.js';
import type { JsValue } from '../models/query.js';

export type ResponseFormat = 'json' | 'csv' | 'arrow';

export const mediaTypes: Record<ResponseFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  arrow: 'application/vnd.apache.arrow.stream',
};

/**
 * The format an `Accept` header asks for: the first of its media types (by q, then order) the API serves;
 * undefined when it names only others (406). No header, or `*\/*`, is JSON.
 */
export function negotiate(accept: string | undefined): ResponseFormat | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  const ranges = accept
    .split(',')
    .map((part, order) => {
      const [type, ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { type: type!.trim(), q: q === undefined ? 1 : Number(q), order };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.order - b.order);
  for (const { type } of ranges) {
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return 'json';
    if (type === 'text/csv' || type === 'text/*') return 'csv';
    if (type === 'application/vnd.apache.arrow.stream') return 'arrow';
  }
  return undefined;
}

export interface ResultSet {
  columns: string[];
  types: DuckDBType[];
  rows: JsValue[][];
}

export function rowObjects(result: ResultSet): Record<string, JsValue>[] {
  return result.rows.map((row) => {
    const out: Record<string, JsValue> = {};
    for (let c = 0; c < result.columns.length; c++) out[result.columns[c]!] = row[c]!;
    return out;
  });
}

export function csvBody(result: ResultSet, bom: boolean): Buffer {
  const text = formatRows({ columns: result.columns, rows: result.rows }, 'csv');
  return Buffer.from(bom ? `\uFEFF${text}` : text, 'utf8');
}

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
