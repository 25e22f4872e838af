import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { z } from 'zod';
import {
  type CatalogName,
  catalogs,
  type DataResource,
  type Device,
  type Region,
  type Scenario,
} from '../../schemas/index.js';
import { CityhubError } from '../errors.js';
import { packageRoot } from '../package-root.js';

export interface Catalogs {
  regions: Region[];
  data_resources: DataResource[];
  scenarios: Scenario[];
  devices: Device[];
}

export interface VideoEventCode {
  vendor: string;
  code: string;
  event_class: string;
  name: string;
}

export class CatalogError extends CityhubError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    message: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}${field ? ` field ${field}` : ''}: ${message}`);
  }
}

/** CSV cells holding structured values as JSON text (a data resource's declared record fields). */
const jsonFields: ReadonlySet<string> = new Set(['fields']);

/** The cell's JSON value; text that is not JSON stays text, so the schema names the field and what it expected. */
function parseJsonCell(cell: string): unknown {
  try {
    return JSON.parse(cell);
  } catch {
    return cell;
  }
}

/** CSV cells for list fields hold values separated by `|`; JSON for `fields`; empty cells are absent fields. */
function fromCsvRow(row: Record<string, string>, listFields: ReadonlySet<string>, numberFields: ReadonlySet<string>) {
  const out: Record<string, unknown> = {};
  for (const [key, cell] of Object.entries(row)) {
    if (listFields.has(key)) out[key] = cell === '' ? [] : cell.split('|');
    else if (cell === '') continue;
    else if (jsonFields.has(key)) out[key] = parseJsonCell(cell);
    else if (numberFields.has(key)) out[key] = Number(cell);
    else if (cell === 'true' || cell === 'false') out[key] = cell === 'true';
    else out[key] = cell;
  }
  return out;
}

/** Catalog entries with the line each came from (CSV: the file line; JSON: the 1-based entry number). */
function readRows(file: string): { rows: unknown[]; lines: number[]; csv: boolean } {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) throw new CatalogError(file, undefined, undefined, 'expected a JSON array of entries');
    return { rows: parsed, lines: parsed.map((_, i) => i + 1), csv: false };
  }
  return readCsv(text);
}

function readCsv(text: string): { rows: Record<string, string>[]; lines: number[]; csv: true } {
  const parsed = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, info: true }) as {
    record: Record<string, string>;
    info: { lines: number };
  }[];
  return { rows: parsed.map((p) => p.record), lines: parsed.map((p) => p.info.lines), csv: true };
}

/** Loads and validates one catalog file (CSV with a header row, or a JSON array). Errors name file, line and field. */
export function loadCatalogFile<N extends CatalogName>(name: N, file: string): z.infer<(typeof catalogs)[N]>[] {
  const schema = catalogs[name];
  let read: ReturnType<typeof readRows>;
  try {
    read = readRows(file);
  } catch (error) {
    if (error instanceof CatalogError) throw error;
    throw new CatalogError(file, undefined, undefined, (error as Error).message);
  }
  const shape = schema.shape as Record<string, z.ZodType>;
  const listFields = new Set(Object.keys(shape).filter((k) => k.startsWith('required_') || k === 'event_classes'));
  const numberFields = new Set(['reporting_interval_s', 'min_online_rate', 'lon', 'lat']);
  return read.rows.map((row, index) => {
    const candidate = read.csv ? fromCsvRow(row as Record<string, string>, listFields, numberFields) : row;
    const parsed = schema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CatalogError(file, read.lines[index], issue.path.join('.'), issue.message);
    }
    return parsed.data as z.infer<(typeof catalogs)[N]>;
  });
}

export function bundledRegionsPath(): string {
  return resolve(packageRoot(), 'sql/seeds/regions.csv');
}

/** The vendor code → national event class table (sql/seeds/video_event_codes.csv). */
export function loadVideoEventCodes(
  file = resolve(packageRoot(), 'sql/seeds/video_event_codes.csv'),
): VideoEventCode[] {
  const { rows, lines } = readCsv(readFileSync(file, 'utf8'));
  for (const [index, row] of rows.entries()) {
    if (!row.vendor || !row.code || !/^\d{4}$/.test(row.event_class ?? '')) {
      throw new CatalogError(file, lines[index], 'event_class', 'expected vendor, code and a 4-digit event class');
    }
  }
  return rows as unknown as VideoEventCode[];
}

export function videoEventCodeMap(codes: readonly VideoEventCode[]): Map<string, string> {
  return new Map(codes.map((c) => [`${c.vendor}\u0001${c.code}`, c.event_class]));
}
