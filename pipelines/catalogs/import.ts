import { z } from 'zod';
import { type CatalogName, catalogs, type Region } from '../../schemas/index.js';
import { declaredFields } from './declared-fields.js';
import { catalogHeaders, headerIndex, normalizeHeader } from './headers.js';
import type { Catalogs } from './load.js';
import { type CatalogTable, readCatalogTable } from './read-table.js';
import { booleanValue, calendarDateValue, describeAccepted, enumValue, splitList } from './values.js';

/** One thing wrong with a catalog file, where it is: file, line (CSV line, sheet row or JSON entry) and field. */
export interface CatalogProblem {
  file: string;
  line?: number;
  unit?: CatalogTable['unit'];
  field?: string;
  message: string;
}

export interface CatalogImport<N extends CatalogName> {
  file: string;
  format?: CatalogTable['format'];
  encoding?: CatalogTable['encoding'];
  /** The entries that are valid on their own (all of them when there are no problems). */
  entries: Catalogs[N];
  /** Allowed but worth saying (a column no field is known by), one line each. */
  warnings: string[];
  problems: CatalogProblem[];
}

export interface ImportContext {
  /** The region catalog to check region codes and scenario regions against (not checked without it). */
  regions?: readonly Region[];
}

/** `file:12 field share_type: …` (CSV line), `file row 12 …` (sheet row), `file entry 12 …` (JSON array index + 1). */
export function describeProblem(p: CatalogProblem): string {
  const where =
    p.line === undefined
      ? ''
      : p.unit === 'row'
        ? ` row ${p.line}`
        : p.unit === 'entry'
          ? ` entry ${p.line}`
          : `:${p.line}`;
  return `${p.file}${where}${p.field ? ` field ${p.field}` : ''}: ${p.message}`;
}

/** The field that identifies an entry; two entries with the same value are an error. */
const keyField: Record<CatalogName, string> = {
  regions: 'code',
  data_resources: 'resource_code',
  scenarios: 'scenario_code',
  devices: 'device_id',
};

type FieldKind = 'text' | 'list' | 'number' | 'boolean' | 'date' | 'fields' | { enum: readonly string[] };

function unwrap(t: z.ZodType): z.ZodType {
  let cur = t;
  while (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault) cur = cur.unwrap() as z.ZodType;
  return cur;
}

/** How each field's cells are read, from its schema: the schema stays the one statement of what a field is. */
function fieldKinds(name: CatalogName): Map<string, FieldKind> {
  const kinds = new Map<string, FieldKind>();
  for (const [field, type] of Object.entries(catalogs[name].shape as Record<string, z.ZodType>)) {
    const inner = unwrap(type);
    if (inner instanceof z.ZodArray)
      kinds.set(field, unwrap(inner.element as z.ZodType) instanceof z.ZodObject ? 'fields' : 'list');
    else if (inner instanceof z.ZodNumber) kinds.set(field, 'number');
    else if (inner instanceof z.ZodBoolean) kinds.set(field, 'boolean');
    else if (inner instanceof z.ZodEnum) kinds.set(field, { enum: inner.options as string[] });
    else if ((inner as unknown as { format?: string }).format === 'date') kinds.set(field, 'date');
    else kinds.set(field, 'text');
  }
  return kinds;
}

class CellError extends Error {}

/** One cell as its field's schema expects it; an empty cell is an absent field (undefined). */
function readCell(field: string, kind: FieldKind, cell: unknown, file: string): unknown {
  if (cell === null || cell === undefined || (typeof cell === 'string' && cell.trim() === '')) return undefined;
  const text = typeof cell === 'string' ? cell.trim() : undefined;
  if (kind === 'date') return calendarDateValue(cell);
  if (kind === 'fields') {
    try {
      return declaredFields(cell, file);
    } catch (error) {
      throw new CellError(`cannot read the declared fields: ${(error as Error).message}`);
    }
  }
  if (text === undefined) {
    if (kind === 'text' && typeof cell === 'number') return String(cell);
    if (kind === 'list' && typeof cell === 'number') return [String(cell)];
    return cell;
  }
  if (kind === 'text') return text;
  if (kind === 'list') return splitList(text);
  if (kind === 'number') return /^[+-]?(\d+\.?\d*|\.\d+)$/u.test(text) ? Number(text) : text;
  if (kind === 'boolean') return booleanValue(text) ?? text;
  const value = enumValue(field, kind.enum, text);
  if (value === undefined)
    throw new CellError(`unknown value "${text}"; accepted: ${describeAccepted(field, kind.enum)}`);
  return value;
}

/**
 * Raw header → field (null: not a known column), with a warning per unknown header and, for a sheet's header row
 * (`clashes`), a problem per two columns meaning one field. JSON entries are checked for that one by one.
 */
function mapHeaders(
  name: CatalogName,
  headers: Iterable<string>,
  file: string,
  result: CatalogImport<CatalogName>,
  clashes: boolean,
) {
  const index = headerIndex(name);
  const mapped = new Map<string, string | null>();
  const byField = new Map<string, string>();
  for (const header of headers) {
    const field = index.get(normalizeHeader(header)) ?? null;
    mapped.set(header, field);
    if (field === null) {
      if (header !== '')
        result.warnings.push(
          `${file}: unknown column "${header}" ignored (columns of ${name}: ${Object.keys(catalogHeaders[name]).join(', ')} or their names in docs/catalogs.md)`,
        );
      continue;
    }
    const earlier = byField.get(field);
    if (!clashes) continue;
    if (earlier !== undefined)
      result.problems.push({
        file,
        field,
        message: `columns "${earlier}" and "${header}" both mean ${field}; keep one`,
      });
    else byField.set(field, header);
  }
  return mapped;
}

/**
 * Reads one catalog export (CSV in UTF-8/GB18030, XLSX, JSON; Chinese or English headers and values), validates each
 * entry with the catalog's schema, and finds duplicate codes and — given the region catalog — unknown regions.
 * Collects every problem instead of stopping at the first, so one `catalogs check` shows all of them.
 */
export function importCatalogFile<N extends CatalogName>(
  name: N,
  file: string,
  context: ImportContext = {},
): CatalogImport<N> {
  const result: CatalogImport<N> = { file, entries: [] as unknown as Catalogs[N], warnings: [], problems: [] };
  let table: CatalogTable;
  try {
    table = readCatalogTable(file);
  } catch (error) {
    result.problems.push({ file, message: (error as Error).message });
    return result;
  }
  result.format = table.format;
  result.encoding = table.encoding;
  const schema = catalogs[name];
  const kinds = fieldKinds(name);
  const headers = new Set<string>();
  for (const row of table.rows) if (isRecord(row)) for (const key of Object.keys(row)) headers.add(key);
  const mapped = mapHeaders(name, headers, file, result as CatalogImport<CatalogName>, table.format !== 'json');
  const knownRegions = context.regions ? new Set(context.regions.map((r) => r.code)) : undefined;
  const firstLineOf = new Map<string, number>();
  const entries: unknown[] = [];

  for (const [index, row] of table.rows.entries()) {
    const line = table.lines[index]!;
    const problem = (field: string | undefined, message: string) =>
      result.problems.push({ file, line, unit: table.unit, field, message });
    if (!isRecord(row)) {
      problem(undefined, 'expected an object');
      continue;
    }
    const candidate: Record<string, unknown> = {};
    const headerOf = new Map<string, string>();
    let readable = true;
    for (const [header, cell] of Object.entries(row)) {
      const field = mapped.get(header);
      if (!field) continue;
      const earlier = headerOf.get(field);
      if (earlier !== undefined) {
        problem(field, `keys "${earlier}" and "${header}" both mean ${field}; keep one`);
        readable = false;
        continue;
      }
      headerOf.set(field, header);
      try {
        const value = readCell(field, kinds.get(field)!, cell, file);
        if (value !== undefined) candidate[field] = value;
      } catch (error) {
        if (!(error instanceof CellError)) throw error;
        problem(field, error.message);
        readable = false;
      }
    }
    const key = candidate[keyField[name]];
    if (typeof key === 'string') {
      const first = firstLineOf.get(key);
      if (first !== undefined)
        problem(keyField[name], `duplicate ${keyField[name]} "${key}" (first at ${describeLine(table.unit, first)})`);
      else firstLineOf.set(key, line);
    }
    if (!readable) continue;
    const parsed = schema.safeParse(candidate);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problem(issue.path.join('.') || undefined, issue.message);
      continue;
    }
    if (knownRegions) for (const [field, message] of unknownRegions(parsed.data, knownRegions)) problem(field, message);
    entries.push(parsed.data);
  }
  result.entries = entries as Catalogs[N];
  return result;
}

function describeLine(unit: CatalogTable['unit'], line: number): string {
  return unit === 'line' ? `line ${line}` : `${unit} ${line}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** [field, message] for each region an entry names that the region catalog does not have. */
function unknownRegions(entry: object, known: ReadonlySet<string>): [string, string][] {
  const found: [string, string][] = [];
  if ('region_code' in entry && typeof entry.region_code === 'string' && !known.has(entry.region_code))
    found.push(['region_code', `region "${entry.region_code}" is not in the region catalog`]);
  if ('regions' in entry && Array.isArray(entry.regions))
    for (const prefix of entry.regions as string[])
      if (![...known].some((code) => code.startsWith(prefix)))
        found.push(['regions', `region "${prefix}" matches no region of the region catalog`]);
  return found;
}
