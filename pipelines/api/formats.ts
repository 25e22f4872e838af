/**
 * Response bodies by `Accept`: JSON (default), CSV (UTF-8, RFC 4180, a BOM on request for Excel) and an Arrow IPC
 * stream (arrow-body.ts, loaded on the first Arrow request).
 */

import type { DuckDBType } from '@duckdb/node-api';
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
