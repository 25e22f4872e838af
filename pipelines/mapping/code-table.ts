/**
 * Code tables: a source's codes (vendor event codes, 已办结, 是/否 …) → canonical values. Built once from an inline
 * object, a file (CSV `code,value` in UTF-8 or GB18030, a JSON object, a YAML map) or a built-in table; looked up per
 * record in JS (a Map: `constructor` or `__proto__` never reach Object.prototype), or compiled to a DuckDB expression
 * giving the same value for the bulk path.
 *
 * Lookup rules, identical in both paths:
 * - null/undefined is absent (undefined in JS, NULL in SQL): the schema decides whether the field was required;
 * - a number or boolean is looked up by its text (JSON `1` and `"1"` are the same code, as `->>` gives `'1'`);
 * - `trim` strips spaces, tabs, CR/LF, NBSP, the ideographic space and BOM at both ends; `case_insensitive` folds
 *   ASCII letters only (JS and DuckDB disagree on Unicode case mappings; Chinese codes have no case);
 * - a code not in the table → `default` when set; else `on_missing: reject` → UNMAPPED (the caller dead-letters
 *   `unmapped_code`), or `pass_through` → the source value unchanged (the schema then judges it).
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { hotlineChannel, hotlineRequestType, hotlineSatisfaction, hotlineStatus } from '../../schemas/hotline-case.js';
import { CityhubError } from '../errors.js';
import { sqlIdentifier, sqlString, sqlValue } from './sql-literal.js';

export const codeValue = z.union([z.string(), z.number().finite(), z.boolean()]);
export type CodeValue = z.infer<typeof codeValue>;

export const codeTableOptions = z
  .object({
    trim: z.boolean().default(false).describe('ignore whitespace around source codes'),
    case_insensitive: z.boolean().default(false).describe('match ASCII letters regardless of case'),
    default: codeValue.optional().describe('value for a code not in the table'),
    on_missing: z
      .enum(['reject', 'pass_through'])
      .default('reject')
      .describe('a code not in the table (and no default): dead-letter it as unmapped_code, or keep the source value'),
  })
  .strict();
export type CodeTableOptions = z.input<typeof codeTableOptions>;

export const codeFileEncoding = z.enum(['utf-8', 'gb18030']);

/** How a mapping names a code table: `builtin:<name>`, a file path, or an object with one of entries/file/builtin. */
export const codeTableSpec = z.union([
  z.string().min(1),
  codeTableOptions
    .extend({
      entries: z.record(z.string(), codeValue).optional(),
      file: z.string().min(1).optional().describe('CSV (code,value), JSON object or YAML map; relative to the mapping'),
      encoding: codeFileEncoding.default('utf-8').describe('encoding of a CSV file'),
      builtin: z.string().min(1).optional(),
    })
    .refine((spec) => [spec.entries, spec.file, spec.builtin].filter((x) => x !== undefined).length === 1, {
      message: 'expected exactly one of entries, file, builtin',
    }),
]);
export type CodeTableSpec = z.input<typeof codeTableSpec>;

export class CodeTableError extends CityhubError {
  constructor(
    /** The file, `inline` or `builtin:<name>`. */
    readonly origin: string,
    readonly line: number | undefined,
    readonly problem: string,
    options: { cause?: unknown } = {},
  ) {
    super(`code table ${origin}${line === undefined ? '' : `:${line}`}: ${problem}`, options);
  }
}

/** Returned by `lookup()` for a code the table does not map when it rejects misses. */
export const UNMAPPED: unique symbol = Symbol('unmapped code');

/** Characters `trim` removes, the same set in JS and in DuckDB's trim(x, chars). */
const TRIM_CHARS = ' \t\r\n\u00a0\u3000\ufeff';
const ASCII_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Above this many codes, SQL looks codes up with a join over a VALUES list instead of a CASE chain. */
const CASE_LIMIT = 64;

interface SourceEntry {
  code: string;
  value: CodeValue;
  line?: number;
}

export class CodeTable {
  private readonly codes = new Map<string, CodeValue>();
  private readonly options: z.output<typeof codeTableOptions>;
  private readonly valueType: 'string' | 'number' | 'boolean' | undefined;

  constructor(
    readonly origin: string,
    entries: Iterable<SourceEntry>,
    options: CodeTableOptions = {},
  ) {
    this.options = codeTableOptions.parse(options);
    const lines = new Map<string, number | undefined>();
    const types = new Set<string>();
    for (const { code, value, line } of entries) {
      const key = this.normalize(code);
      if (this.codes.has(key)) {
        const first = lines.get(key);
        const where = first === undefined ? `code ${JSON.stringify(code)}` : `line ${first}`;
        throw new CodeTableError(origin, line, `duplicate code ${JSON.stringify(code)} (already defined at ${where})`);
      }
      this.codes.set(key, value);
      lines.set(key, line);
      types.add(typeof value);
    }
    if (this.options.default !== undefined) types.add(typeof this.options.default);
    if (types.size > 1) {
      // One SQL column holds the result, so the values must share a type.
      throw new CodeTableError(origin, undefined, `values mix types (${[...types].join(', ')}); use one type`);
    }
    this.valueType = types.values().next().value as CodeTable['valueType'];
  }

  get size(): number {
    return this.codes.size;
  }

  /**
   * Every value a lookup can give besides undefined and UNMAPPED: the table's values and its default; undefined when
   * any value can come out (pass_through gives the source value itself).
   */
  outcomes(): ReadonlySet<CodeValue> | undefined {
    if (this.options.default === undefined && this.options.on_missing === 'pass_through') return undefined;
    const values = new Set(this.codes.values());
    if (this.options.default !== undefined) values.add(this.options.default);
    return values;
  }

  /** The type of the values it gives (text when it has none: pass_through gives the source text). */
  get valueKind(): 'string' | 'number' | 'boolean' {
    return this.valueType ?? 'string';
  }

  /**
   * The canonical value of a source code; undefined when the value is absent; UNMAPPED for a code the table does
   * not map (on_missing: reject); the source value itself for pass_through.
   */
  lookup(value: unknown): CodeValue | typeof UNMAPPED | unknown {
    if (value === undefined || value === null) return undefined;
    let code: string;
    if (typeof value === 'string') code = value;
    else if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) code = String(value);
    else return this.miss(value);
    const mapped = this.codes.get(this.normalize(code));
    return mapped === undefined ? this.miss(value) : mapped;
  }

  /** Why a value was UNMAPPED, for the dead letter. */
  unmappedReason(value: unknown): string {
    return `code ${JSON.stringify(value)} is not in code table ${this.origin}`;
  }

  private miss(value: unknown): unknown {
    if (this.options.default !== undefined) return this.options.default;
    return this.options.on_missing === 'reject' ? UNMAPPED : value;
  }

  private normalize(code: string): string {
    let key = code;
    if (this.options.trim) key = trimCodeSpace(key);
    if (this.options.case_insensitive) key = foldAsciiCase(key);
    return key;
  }

  /**
   * DuckDB expression of the same lookup for the VARCHAR `expr` (a JSON value's text as `->>` gives it). A code the
   * table does not map gives `default`, else NULL — except pass_through of a text table, which gives `expr` itself;
   * so a non-null input with a NULL result is an unmapped code. Small tables compile to a CASE, larger ones to a
   * lookup in a VALUES list that DuckDB runs as a hash join. Binding a VALUES list costs about 50 µs per code per
   * statement, so a bulk path running many statements creates the table once (`createTableSql`) and passes its
   * name as `table`. Throws SqlLiteralError for a code SQL cannot hold.
   */
  toSql(expr: string, options: { table?: string } = {}): string {
    let key = `CAST(${expr} AS VARCHAR)`;
    if (this.options.trim) key = `trim(${key}, ${sqlString(TRIM_CHARS)})`;
    if (this.options.case_insensitive) key = `translate(${key}, '${ASCII_UPPER}', '${ASCII_UPPER.toLowerCase()}')`;
    const missing =
      this.options.default !== undefined
        ? sqlValue(this.options.default)
        : this.options.on_missing === 'pass_through' && (this.valueType ?? 'string') === 'string'
          ? `CAST(${expr} AS VARCHAR)`
          : 'NULL';
    let lookup: string;
    if (this.codes.size === 0) {
      lookup = missing;
    } else if (options.table !== undefined) {
      const table = sqlIdentifier(options.table);
      const found = `(select code_table.value from ${table} as code_table where code_table.code = ${key})`;
      lookup = missing === 'NULL' ? found : `coalesce(${found}, ${missing})`;
    } else if (this.codes.size <= CASE_LIMIT) {
      const branches = [...this.codes].map(([code, value]) => `when ${sqlString(code)} then ${sqlValue(value)}`);
      lookup = `case ${key} ${branches.join(' ')} else ${missing} end`;
    } else {
      const found = `(select code_table.value from ${this.valuesSql()} as code_table(code, value) where code_table.code = ${key})`;
      lookup = missing === 'NULL' ? found : `coalesce(${found}, ${missing})`;
    }
    return `(case when ${expr} is null then NULL else ${lookup} end)`;
  }

  /** A statement creating (or replacing) a temp table `name(code, value)` of the normalized codes, for `toSql`. */
  createTableSql(name: string): string {
    const rows = this.codes.size === 0 ? '(select NULL::VARCHAR, NULL limit 0)' : this.valuesSql();
    return `create or replace temp table ${sqlIdentifier(name)} as select * from ${rows} as code_table(code, value)`;
  }

  private valuesSql(): string {
    return `(values ${[...this.codes].map(([code, value]) => `(${sqlString(code)}, ${sqlValue(value)})`).join(', ')})`;
  }
}

function isTrimmed(code: number): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10 || code === 0xa0 || code === 0x3000 || code === 0xfeff;
}

/** Strips TRIM_CHARS at both ends; allocates only when there is something to strip. */
function trimCodeSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isTrimmed(text.charCodeAt(start))) start++;
  while (end > start && isTrimmed(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Lowercases ASCII letters only; allocates only when there is an uppercase ASCII letter. */
function foldAsciiCase(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 65 && code <= 90) return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------------------
// Built-in tables. Values are typed by the hotline schema's enums, so a value that does not exist there fails to
// compile.

type Channel = z.infer<typeof hotlineChannel>;
type RequestType = z.infer<typeof hotlineRequestType>;
type Status = z.infer<typeof hotlineStatus>;
type Satisfaction = z.infer<typeof hotlineSatisfaction>;

const identity = <T extends string>(values: readonly T[]) =>
  Object.fromEntries(values.map((v) => [v, v])) as Record<T, T>;

const builtins = {
  /** Sensor metric → the canonical unit its readings land in (docs/feeds.md). */
  metric_units: {
    methane: '%LEL',
    pressure: 'MPa',
    flow: 'm3/h',
    level: 'cm',
    strain: 'με',
    crack_width: 'mm',
    deflection: 'mm',
    tilt: '°',
    temperature: '℃',
    vibration: 'Hz',
  },
  yes_no: {
    是: true,
    否: false,
    Y: true,
    N: false,
    y: true,
    n: false,
    yes: true,
    no: false,
    true: true,
    false: false,
    TRUE: true,
    FALSE: false,
    '1': true,
    '0': false,
  },
  satisfaction: {
    ...identity(hotlineSatisfaction.options),
    满意: 'satisfied',
    非常满意: 'satisfied',
    基本满意: 'basically_satisfied',
    比较满意: 'basically_satisfied',
    不满意: 'unsatisfied',
    非常不满意: 'unsatisfied',
  } satisfies Record<string, Satisfaction>,
  hotline_status: {
    ...identity(hotlineStatus.options),
    受理: 'received',
    已受理: 'received',
    待受理: 'received',
    派单: 'dispatched',
    已派单: 'dispatched',
    派发: 'dispatched',
    已派发: 'dispatched',
    转办: 'dispatched',
    已转办: 'dispatched',
    办理中: 'handling',
    处理中: 'handling',
    已签收: 'handling',
    办结: 'closed',
    已办结: 'closed',
    已完成: 'closed',
    已关闭: 'closed',
    已回访: 'closed',
  } satisfies Record<string, Status>,
  hotline_channel: {
    ...identity(hotlineChannel.options),
    电话: 'phone',
    热线电话: 'phone',
    '12345热线': 'phone',
    网站: 'web',
    网页: 'web',
    门户网站: 'web',
    APP: 'app',
    手机APP: 'app',
    客户端: 'app',
    微信: 'wechat',
    微信公众号: 'wechat',
    微信小程序: 'wechat',
    小程序: 'wechat',
    其他: 'other',
    其它: 'other',
    短信: 'other',
    邮件: 'other',
    信件: 'other',
    来访: 'other',
  } satisfies Record<string, Channel>,
  hotline_request_type: {
    ...identity(hotlineRequestType.options),
    咨询: 'consult',
    求助: 'help',
    投诉: 'complaint',
    举报: 'report',
    建议: 'suggestion',
    感谢: 'thanks',
    表扬: 'thanks',
    其他: 'other',
    其它: 'other',
  } satisfies Record<string, RequestType>,
} satisfies Record<string, Record<string, CodeValue>>;

export type BuiltinCodeTable = keyof typeof builtins;
export const builtinCodeTableNames = Object.keys(builtins) as BuiltinCodeTable[];

export function builtinCodeTable(name: string, options: CodeTableOptions = {}): CodeTable {
  const entries = Object.hasOwn(builtins, name) ? builtins[name as BuiltinCodeTable] : undefined;
  if (!entries) {
    throw new CodeTableError(
      `builtin:${name}`,
      undefined,
      `no such built-in table (known: ${builtinCodeTableNames.join(', ')})`,
    );
  }
  return inlineCodeTable(entries, options, `builtin:${name}`);
}

export function inlineCodeTable(
  entries: Readonly<Record<string, CodeValue>>,
  options: CodeTableOptions = {},
  origin = 'inline',
): CodeTable {
  return new CodeTable(
    origin,
    Object.entries(entries).map(([code, value]) => ({ code, value })),
    options,
  );
}

/** A code table as a mapping names it; file paths are relative to `baseDir` (the mapping file's folder). */
export async function loadCodeTable(spec: CodeTableSpec, baseDir: string): Promise<CodeTable> {
  return loadCodeTableSync(spec, baseDir);
}

/** loadCodeTable, reading its file synchronously: mappings are compiled once, at start, where waiting costs nothing. */
export function loadCodeTableSync(spec: CodeTableSpec, baseDir: string): CodeTable {
  const parsed = codeTableSpec.parse(spec);
  if (typeof parsed === 'string') {
    return parsed.startsWith('builtin:')
      ? builtinCodeTable(parsed.slice('builtin:'.length))
      : codeTableFileSync(resolve(baseDir, parsed), 'utf-8', {});
  }
  const { entries, file, encoding, builtin, ...options } = parsed;
  if (entries) return inlineCodeTable(entries, options);
  if (builtin) return builtinCodeTable(builtin.replace(/^builtin:/, ''), options);
  return codeTableFileSync(resolve(baseDir, file!), encoding, options);
}

/** A CSV (`code,value` header; other columns ignored), JSON object or YAML map file, by extension. */
export async function codeTableFile(
  path: string,
  encoding: z.infer<typeof codeFileEncoding>,
  options: CodeTableOptions,
): Promise<CodeTable> {
  return codeTableFileSync(path, encoding, options);
}

export function codeTableFileSync(
  path: string,
  encoding: z.infer<typeof codeFileEncoding>,
  options: CodeTableOptions,
): CodeTable {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CodeTableError(
      path,
      undefined,
      `cannot read the file (${(error as NodeJS.ErrnoException).code ?? error})`,
      {
        cause: error,
      },
    );
  }
  const text = decode(path, bytes, encoding);
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') return new CodeTable(path, csvEntries(path, text), options);
  if (extension === '.json' || extension === '.yaml' || extension === '.yml') {
    return new CodeTable(path, mapEntries(path, text, extension === '.json'), options);
  }
  throw new CodeTableError(path, undefined, 'unknown file type (expected .csv, .json, .yaml or .yml)');
}

function decode(path: string, bytes: Buffer, encoding: z.infer<typeof codeFileEncoding>): string {
  const utf8 = tryDecode('utf-8', bytes);
  if (encoding === 'utf-8') {
    if (utf8 === undefined) {
      throw new CodeTableError(path, undefined, 'not valid UTF-8 (declare encoding: gb18030 for a GBK/GB18030 file)');
    }
    return utf8.replace(/^\ufeff/, '');
  }
  // GB18030 decodes almost any bytes: a UTF-8 file read as GB18030 would give mojibake, not an error.
  if (utf8 !== undefined && /[^\x00-\x7f]/.test(utf8)) {
    throw new CodeTableError(path, undefined, 'declared GB18030 but the file is UTF-8 (declare encoding: utf-8)');
  }
  const gb = tryDecode('gb18030', bytes);
  if (gb === undefined) throw new CodeTableError(path, undefined, 'not valid GB18030');
  return gb;
}

function tryDecode(encoding: string, bytes: Buffer): string | undefined {
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return undefined;
  }
}

function csvEntries(path: string, text: string): SourceEntry[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    // csv-parse's types do not follow `info: true`, which wraps each record with its line numbers.
    rows = parseCsv(text, { info: true, skip_empty_lines: true }) as unknown as typeof rows;
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new CodeTableError(path, line, `not valid CSV: ${(error as Error).message}`, { cause: error });
  }
  const header = rows[0]?.record.map((name) => name.trim());
  const codeColumn = header?.indexOf('code') ?? -1;
  const valueColumn = header?.indexOf('value') ?? -1;
  if (codeColumn < 0 || valueColumn < 0) {
    throw new CodeTableError(
      path,
      1,
      `expected a header with columns code and value, got ${JSON.stringify(header ?? [])}`,
    );
  }
  return rows
    .slice(1)
    .map(({ record, info }) => ({ code: record[codeColumn]!, value: record[valueColumn]!, line: info.lines }));
}

function mapEntries(path: string, text: string, json: boolean): SourceEntry[] {
  if (json) {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new CodeTableError(path, undefined, `not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  // Parsed as a YAML document (JSON is YAML) to keep each key's line: JSON.parse would drop a duplicate silently.
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: false });
  const firstError = document.errors[0];
  if (firstError) {
    throw new CodeTableError(
      path,
      firstError.linePos?.[0]?.line,
      `not valid YAML: ${firstError.message.split('\n')[0]}`,
    );
  }
  if (!isMap(document.contents)) throw new CodeTableError(path, undefined, 'expected an object of code: value');
  return document.contents.items.map((pair) => {
    const line = isScalar(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]).line : undefined;
    // A plain YAML key such as 0101 would read as the number 101: a code keeps the text it was written as.
    const key = isScalar(pair.key)
      ? typeof pair.key.value === 'string'
        ? pair.key.value
        : pair.key.source
      : undefined;
    const value = isScalar(pair.value) ? pair.value.value : undefined;
    if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
      throw new CodeTableError(path, line, 'expected a code (text or number) as key');
    }
    const checked = codeValue.safeParse(value);
    if (!checked.success)
      throw new CodeTableError(path, line, `code ${JSON.stringify(key)}: expected a text, number or boolean value`);
    return { code: String(key), value: checked.data, line };
  });
}
