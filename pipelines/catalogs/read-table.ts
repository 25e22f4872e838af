import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { readFirstSheetSync } from './xlsx-sync.js';

/** Cell values as read: text from CSV; numbers, booleans and dates from spreadsheets; anything from JSON. */
export type Cell = unknown;

/** A catalog file as rows of header → cell, with where each row is in the file (for messages). */
export interface CatalogTable {
  format: 'csv' | 'xlsx' | 'json';
  encoding?: 'utf8' | 'gb18030';
  rows: Record<string, Cell>[];
  /** CSV: the file line a row starts on; XLSX: the sheet row number; JSON: the 1-based entry number. */
  lines: number[];
  /** What a line number counts, for messages: `line`, `row` or `entry`. */
  unit: 'line' | 'row' | 'entry';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const gb18030 = new TextDecoder('gb18030');

/**
 * Text of a catalog export: UTF-8 (a BOM is dropped), or GB18030 (which GBK is a subset of) when the bytes are not
 * valid UTF-8 — what Excel on a Chinese Windows saves as "CSV". A GB18030 file that happens to be valid UTF-8 is
 * vanishingly rare for Chinese text, so detection needs no declaration.
 */
export function decodeCatalogText(bytes: Uint8Array): { text: string; encoding: 'utf8' | 'gb18030' } {
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  try {
    return { text: utf8.decode(body), encoding: 'utf8' };
  } catch {
    return { text: gb18030.decode(bytes), encoding: 'gb18030' };
  }
}

export function readCsvTable(text: string): { rows: Record<string, string>[]; lines: number[] } {
  const parsed = parseCsv(text, {
    columns: (header: string[]) => header.map((h) => h.trim()),
    skip_empty_lines: true,
    bom: true,
    info: true,
  }) as { record: Record<string, string>; info: { lines: number } }[];
  return { rows: parsed.map((p) => p.record), lines: parsed.map((p) => p.info.lines) };
}

/** Reads a catalog file by its extension: `.xlsx` (first sheet), `.json` (an array of objects), anything else CSV. */
export function readCatalogTable(file: string): CatalogTable {
  if (/\.xlsx$/iu.test(file)) {
    const sheet = readFirstSheetSync(file);
    const [header, ...body] = sheet.filter((row) => row.cells.some((c) => c !== null && c !== ''));
    if (!header) return { format: 'xlsx', rows: [], lines: [], unit: 'row' };
    const names = header.cells.map((c) => (c === null ? '' : String(c).trim()));
    return {
      format: 'xlsx',
      rows: body.map((row) => Object.fromEntries(names.map((name, i) => [name, row.cells[i] ?? null]))),
      lines: body.map((row) => row.number),
      unit: 'row',
    };
  }
  const { text, encoding } = decodeCatalogText(readFileSync(file));
  if (/\.json$/iu.test(file)) {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) throw new Error('expected a JSON array of entries');
    return { format: 'json', encoding, rows: parsed, lines: parsed.map((_, i) => i + 1), unit: 'entry' };
  }
  return { format: 'csv', encoding, ...readCsvTable(text), unit: 'line' };
}
