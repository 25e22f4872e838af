/**
 * A mapping file compiled to DuckDB SQL for the bulk path (issue 12): each canonical field becomes a value
 * expression and a `sure` expression over the JSON values a flush's scratch file holds. `sure` is true only where the
 * record path (compile.ts) is certain to give the same value; everywhere else the record is handed to the record
 * path, which alone writes dead letters — so the bulk path changes speed, never results. A rule this compiler does
 * not know makes the whole mapping stay on the record path, with the reason (shown by `config check`).
 */
import { type DatasetName, datasets } from '../../schemas/index.js';
import type { DuckType } from '../land/columns.js';
import { datasetColumns } from '../land/columns.js';
import { HASH_TOKEN_PATTERN } from '../privacy/keyed-hash.js';
import type { CodeTable } from './code-table.js';
import { booleans, compileFieldStep, fixedZoneOffsetMs, type LoadedMapping, NUMERIC_TEXT } from './compile.js';
import { compilePath, type PathStep } from './path.js';
import type { FieldRule } from './spec.js';
import { sqlDouble, sqlString, sqlUtcInstant } from './sql-literal.js';
import { autoLocalToSql, compileTimeFormat, TimeParseFailure } from './time-format.js';
import { knownUnits, unitConversion } from './units.js';

/** One canonical field: its value (NULL when the record path leaves it out) and when that value is certain. */
export interface BulkFieldSql {
  name: string;
  type: DuckType;
  value: string;
  /** May name the field's own value as VALUE (bulk-plan.ts puts the value's column there): not computed twice. */
  sure: string;
  /**
   * The top-level path (index) whose string the value is, as read, with no step between, when the scratch line
   * classes that path's strings (a kinded key of the first CLASSED_SLOTS): where it gives that string a class
   * (StringClass, not `none`), the value is that string and has that class.
   */
  textOf?: number;
}

/** In a `sure` expression, the field's value (a time parse or a code lookup is evaluated once, for the value). */
export const VALUE = '{{value}}';

/**
 * The mapping as SQL over a row of columns, for k = 1…paths.length: `_s<k>` (a string's content, any other value's
 * JSON text; a DOUBLE for numberPaths) and either `_k<k>` (the value's kind, ValueKind, where `kindSlots` gives path k
 * one) or `_j<k>` (its JSON text, NULL where absent). See ValueTests.
 */
export interface MappingSql {
  dataset: DatasetName;
  /** Paths read from each record (steps: a name, or an index): the first step is a top-level key. */
  paths: PathStep[][];
  /**
   * Per path (index k − 1), where the scratch line's kinds number holds its value's kind (bulk-eligible.ts), or -1:
   * the top-level keys, in the order first read, up to KINDED_TOPS of them.
   */
  kindSlots: number[];
  /** The top-level keys with a kind slot, by slot: what bulk-eligible.ts looks for. */
  kindedTops: string[];
  /**
   * Of `paths`, the kinded top-level keys read only as bare numbers (fields without a cast whose canonical type is a
   * number), by index: DuckDB reads them as DOUBLE (`_s<k>` is then a number, NULL for any other JSON value). Read as
   * text, each JSON number was written out as text by DuckDB's reader and parsed back by try_cast, per row.
   */
  numberPaths: number[];
  /**
   * Values computed once per row before the fields, as columns `_c<n>` (n = 1…): joined paths. In a field's SQL they
   * are read several times under conditions (a code table's branches), where DuckDB computes an expression again.
   */
  computed: string[];
  /** Of `paths`, those that must be objects with unique keys (the record's parents along a path), by index. */
  objectPaths: number[];
  /** Of `paths`, those that must be arrays (parents of an index step), by index. */
  arrayPaths: number[];
  fields: BulkFieldSql[];
  /** A measurement's unit conversion, applied after the fields (bulk-plan.ts joins the conversions). */
  measurement?: BulkMeasurement;
  /**
   * Kinded top-level paths read as auto times, by index: their SQL reads `_t<k>` (StringClass.localTime where the
   * text has the fast local form), which bulk-plan.ts reads off the scratch line's classes.
   */
  timeClassed: number[];
}

/** The canonical fields of a measurement, the SQL of the metric's canonical unit, and every known conversion. */
export interface BulkMeasurement {
  value: string;
  unit: string;
  metric: string;
  /** The canonical unit of `f_<metric>` (NULL where the table has none). */
  canonical: string;
  conversions: { from: string; to: string; factor: number; offset: number }[];
}

export type BulkCompileResult = { ok: true; sql: MappingSql } | { ok: false; reason: string };

class NotCompilable extends Error {}

const MAX_SAFE = '9007199254740991';

/**
 * A top-level value's kind as bulk-eligible.ts writes it into a scratch line, 3 bits per kinded top-level key (an
 * empty string apart: it is absent for the record path). Reading those keys as text (VARCHAR: a string's content, any
 * other value's JSON text) with the kind beside it costs DuckDB far less than reading them as JSON and unquoting each
 * string (a new string per value).
 */
export const ValueKind = { absent: 0, string: 1, number: 2, boolean: 3, object: 4, array: 5, emptyString: 6 } as const;
/**
 * What bulk-eligible.ts found of a kinded string value's characters, 2 bits per kinded top-level key in the scratch
 * line's classes number: `digits`, only the ASCII digits; `word`, ASCII letters and digits first, then also
 * `_ . : # + / -`, not only digits; `none`, anything else (empty, an escape, another character). The schema's patterns
 * that a class decides (schema-sql.ts) are then judged without RE2, which cost 50–90 ns a value. A key read as a time
 * (auto) is classed `localTime` where its text has the form time-format.ts AUTO_LOCAL_FAST_REGEX reads fast, else as
 * above.
 */
export const StringClass = { none: 0, word: 1, digits: 2, localTime: 3 } as const;
/** The characters of the string classes: a word's first character is one of `wordFirst`, the others of `wordRest`. */
export const STRING_CLASS_CHARS = {
  digits: '0123456789',
  wordFirst: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  wordRest: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:#+/-',
} as const;
/** Kinds of this many top-level keys fit one safe integer (3 bits each); keys read beyond them are read as JSON. */
export const KINDED_TOPS = 17;
/** Kinded top-level keys whose strings are classed: 2 bits each in a 32-bit integer (kept a small integer). */
export const CLASSED_SLOTS = 16;
const INTEGER_TEXT = "'-?[0-9]+'";

/**
 * Tests of the kind of path k's value. Where the path has a kind slot, on `_k<k>`; elsewhere on its JSON text `_j<k>`
 * (NULL where the path is absent), whose first character tells its kind (DuckDB writes JSON minified): a test of one
 * character costs far less per row than a json_type() parse.
 */
export class ValueTests {
  /** Paths whose `_s<k>` was read as text (numberPaths are only those never read so). */
  readonly textRead = new Set<number>();

  constructor(
    private readonly kindSlots: readonly number[],
    /** Kinded paths read as DOUBLE (MappingSql.numberPaths). */
    private readonly numbers: ReadonlySet<number> = new Set(),
  ) {}

  /** Path k's `_s<k>` column read as text. */
  text(k: number): string {
    if (this.numbers.has(k)) throw new Error(`path ${k} is read as a number, not as text`);
    this.textRead.add(k);
    return `_s${k}`;
  }

  private kinded(k: number): boolean {
    return this.kindSlots[k - 1]! >= 0;
  }

  /** Missing, or JSON null. */
  missingOrNull(k: number): string {
    return this.kinded(k) ? `_k${k} = ${ValueKind.absent}` : `(_j${k} is null or _j${k} = 'null')`;
  }
  /** A string; of a kinded path, one that is not empty (an empty one is absent: ValueKind.emptyString). */
  string(k: number): string {
    return this.kinded(k) ? `_k${k} = ${ValueKind.string}` : `ascii(_j${k}) = 34`;
  }
  boolean(k: number): string {
    return this.kinded(k) ? `_k${k} = ${ValueKind.boolean}` : `_j${k} in ('true', 'false')`;
  }
  /** A JSON number: a minus sign or a digit first. */
  number(k: number): string {
    return this.kinded(k) ? `_k${k} = ${ValueKind.number}` : `(ascii(_j${k}) = 45 or ascii(_j${k}) between 48 and 57)`;
  }
  /** A JSON number without fraction or exponent. */
  integer(k: number): string {
    return this.kinded(k)
      ? `(_k${k} = ${ValueKind.number} and regexp_full_match(${this.text(k)}, ${INTEGER_TEXT}))`
      : `regexp_full_match(_j${k}, ${INTEGER_TEXT})`;
  }
  object(k: number): string {
    return this.kinded(k) ? `_k${k} = ${ValueKind.object}` : `ascii(_j${k}) = 123`;
  }
  array(k: number): string {
    return this.kinded(k) ? `_k${k} = ${ValueKind.array}` : `ascii(_j${k}) = 91`;
  }
  /** A JSON number's value as a DOUBLE (NULL, or not that number's, for a value that is not a number). */
  numberValue(k: number): string {
    if (this.numbers.has(k)) return `_s${k}`;
    // Not noted as a text read: this is the use a number path replaces.
    return `try_cast(${this.kinded(k) ? `_s${k}` : `_j${k}`} as DOUBLE)`;
  }
  /** The value is absent for the record path: missing, JSON null or empty text. */
  absent(k: number): string {
    return this.kinded(k)
      ? `_k${k} in (${ValueKind.absent}, ${ValueKind.emptyString})`
      : `(_j${k} is null or _j${k} in ('null', '""'))`;
  }
  /** The value becomes the text JS writes for it: a string, a boolean, or an integer JS holds exactly. */
  textLike(k: number): string {
    return `(${this.string(k)} or ${this.boolean(k)} or (${this.integer(k)} and abs(try_cast(${this.text(k)} as HUGEINT)) <= ${MAX_SAFE}))`;
  }
}

/** The boolean cast's words (compile.ts), as SQL lists: those read as true, and all of them. */
const TRUE_WORDS = `(${[...booleans]
  .filter(([, b]) => b)
  .map(([w]) => sqlString(w))
  .join(', ')})`;
const BOOLEAN_WORDS = `(${[...booleans.keys()].map(sqlString).join(', ')})`;
const EMPTY_CONTEXT = {
  salt: '',
  keyId: '',
  resourceFields: new Map(),
  mayHoldSurrogates: false,
  headers: {},
};

/** Compiles a loaded mapping for the bulk path, or says why it stays on the record path. */
export function compileBulkSql(loaded: LoadedMapping): BulkCompileResult {
  try {
    const first = new Compiler(loaded);
    const sql = first.compile();
    const numbers = first.numberPathsFound();
    // Compiled again with those paths read as numbers (the SQL of every test on them changes).
    return { ok: true, sql: numbers.size === 0 ? sql : new Compiler(loaded, numbers).compile() };
  } catch (error) {
    if (error instanceof NotCompilable) return { ok: false, reason: error.message };
    throw error;
  }
}

/** A value while a field's steps are compiled: its static kind, its SQL and when it is certain. */
interface Stage {
  kind: 'string' | 'number' | 'boolean' | 'time';
  sql: string;
  sure: string;
  /** The path of the value read, while it is still the raw value (a time reads text or a number). */
  path?: number;
  /** The path whose string content the value is, untouched (BulkFieldSql.textOf). */
  textOf?: number;
}

class Compiler {
  private readonly paths: PathStep[][] = [];
  private readonly pathKeys: string[] = [];
  private readonly kindSlots: number[] = [];
  private readonly kindedTops: string[] = [];
  private readonly computed: string[] = [];
  private readonly is: ValueTests;
  /** Paths read by a bare number field (numberPaths, unless also read otherwise). */
  private readonly bareNumbers = new Set<number>();
  private readonly objectPaths = new Set<number>();
  private readonly arrayPaths = new Set<number>();
  private readonly timeClassed = new Set<number>();
  private readonly dataset: DatasetName;
  private readonly types: Map<string, DuckType>;

  constructor(
    private readonly loaded: LoadedMapping,
    /** The paths to read as DOUBLE: found by a first compile (numberPaths). */
    private readonly numbers: ReadonlySet<number> = new Set(),
  ) {
    this.is = new ValueTests(this.kindSlots, numbers);
    this.dataset = loaded.spec.dataset as DatasetName;
    this.types = new Map(datasetColumns(this.dataset).map((c) => [c.name, c.type]));
  }

  compile(): MappingSql {
    const { spec } = this.loaded;
    if (spec.records !== undefined) throw new NotCompilable('a message holding several records (records:)');
    if (this.dataset === 'dept_delivery' || this.dataset === 'dept_record')
      throw new NotCompilable('departmental deliveries');
    const fields: BulkFieldSql[] = [];
    const canonical = Object.keys(datasets[this.dataset].shape);
    for (const name of canonical) {
      const type = this.types.get(name)!;
      const rule = spec.fields[name];
      if (rule === undefined) {
        fields.push({ name, type, value: 'NULL', sure: 'true' });
        continue;
      }
      try {
        fields.push({ name, type, ...this.field(name, rule, type) });
      } catch (error) {
        if (error instanceof NotCompilable) throw new NotCompilable(`field ${name}: ${error.message}`);
        throw error;
      }
    }
    return {
      dataset: this.dataset,
      paths: this.paths,
      kindSlots: this.kindSlots,
      kindedTops: this.kindedTops,
      numberPaths: [...this.numbers],
      computed: this.computed,
      objectPaths: [...this.objectPaths],
      arrayPaths: [...this.arrayPaths],
      fields,
      ...(spec.measurement ? { measurement: this.measurement(spec.measurement) } : {}),
      timeClassed: [...this.timeClassed],
    };
  }

  /**
   * After compile(): the kinded top-level paths only bare number fields read (never their text, nor a path under them).
   */
  numberPathsFound(): Set<number> {
    const found = new Set<number>();
    for (const k of this.bareNumbers) {
      const nested = this.objectPaths.has(k) || this.arrayPaths.has(k);
      if (this.kindSlots[k - 1]! >= 0 && !this.is.textRead.has(k) && !nested) found.add(k);
    }
    return found;
  }

  /** The index (1-based, as DuckDB lists count) of a JSON path, registering its parents' shape checks. */
  private pathIndex(path: string): number {
    const steps = compilePath(path);
    if (typeof steps[0] !== 'string') throw new NotCompilable(`a path into a payload that is not an object: ${path}`);
    jsonPath(steps);
    for (let depth = 1; depth <= steps.length; depth++) {
      const at = this.register(steps.slice(0, depth));
      if (depth < steps.length) {
        if (typeof steps[depth] === 'number') this.arrayPaths.add(at);
        else this.objectPaths.add(at);
      }
    }
    return this.register(steps);
  }

  private register(steps: PathStep[]): number {
    const key = JSON.stringify(steps);
    const found = this.pathKeys.indexOf(key);
    if (found >= 0) return found + 1;
    this.pathKeys.push(key);
    this.paths.push(steps);
    // A top-level key is registered before any path under it (pathIndex): slots go in the order keys are first read.
    const kinded = steps.length === 1 && this.kindedTops.length < KINDED_TOPS;
    this.kindSlots.push(kinded ? this.kindedTops.push(steps[0] as string) - 1 : -1);
    return this.paths.length;
  }

  /** Whether the scan classes the strings of path k (bulk-eligible.ts): a kinded top-level key in the first slots. */
  private classed(k: number): boolean {
    const slot = this.kindSlots[k - 1]!;
    return slot >= 0 && slot < CLASSED_SLOTS;
  }

  private field(name: string, rule: FieldRule, type: DuckType): { value: string; sure: string; textOf?: number } {
    if (rule.header !== undefined) throw new NotCompilable('a header value');
    if (rule.column !== undefined) throw new NotCompilable('a file column');
    if (rule.segment !== undefined) throw new NotCompilable('a segment of a value');
    if (rule.lookup !== undefined) throw new NotCompilable('a catalog lookup');
    if (rule.personal !== undefined) return this.personal(rule);
    const codes = this.loaded.codeTables.get(name);
    // What the record path makes of an absent value (a const is always "absent": it reads no record).
    const absent = this.folded(rule, type, codes);
    if (rule.const !== undefined || rule.path === undefined) return absent;
    let read: { absent: string; present: Stage };
    if (Array.isArray(rule.path)) read = this.joined(rule.path, rule.join);
    else read = this.single(rule.path, rule, type, codes);
    const stage = this.steps(read.present, rule, codes);
    const typed = finalType(stage, type);
    const textOf = typed.textOf !== undefined && this.classed(typed.textOf) ? typed.textOf : undefined;
    return {
      value: `(case when ${read.absent} then ${absent.value} else ${typed.sql} end)`,
      sure: `(case when ${read.absent} then ${absent.sure} else coalesce(${typed.sure}, false) end)`,
      ...(textOf !== undefined ? { textOf } : {}),
    };
  }

  /**
   * A keyed hash or its key id, read from the token the masker put in place of the clear value before the bus. A value
   * still in clear is hashed by the record path (the key stays out of SQL); redacted free text is left to it too.
   */
  private personal(rule: FieldRule): { value: string; sure: string } {
    if (rule.personal === 'redact') throw new NotCompilable('personal data redacted from free text');
    const steps = Object.keys(rule).filter((key) => !['path', 'personal', 'separator', 'join'].includes(key));
    if (typeof rule.path !== 'string' || steps.length > 0)
      throw new NotCompilable(`a keyed hash read with other steps (${steps.join(', ') || 'several paths'})`);
    const k = this.pathIndex(rule.path);
    const s = this.is.text(k);
    // A whole token is ASCII: `hmac-sha256:` (12 characters), the key id, `:`, 64 hex digits. Its parts are read by
    // position once RE2 has matched it whole (a match without groups: capturing them cost 1 µs a row per field).
    const part = rule.personal === 'hash' ? `right(${s}, 64)` : `substring(${s}, 13, strlen(${s}) - 77)`;
    return {
      value: `(case when ${this.is.absent(k)} then NULL when ${this.is.string(k)} and regexp_full_match(${s}, ${sqlString(HASH_TOKEN_PATTERN)}) then ${part} end)`,
      sure: `(${this.is.absent(k)} or ${VALUE} is not null)`,
    };
  }

  /** The record path run on an empty record: a default or const becomes a SQL literal of the canonical type. */
  private folded(rule: FieldRule, type: DuckType, codes: CodeTable | undefined): { value: string; sure: string } {
    let value: unknown;
    try {
      value = compileFieldStep(rule, this.loaded.spec, codes)({}, EMPTY_CONTEXT);
    } catch {
      // The record path rejects it: never certain.
      return { value: 'NULL', sure: 'false' };
    }
    if (value === undefined) return { value: 'NULL', sure: 'true' };
    const literal = literalOf(value, type);
    return literal === undefined ? { value: 'NULL', sure: 'false' } : { value: literal, sure: 'true' };
  }

  /** One path: absent when missing, JSON null or empty text; its present value's kind is chosen by the rule. */
  private single(
    path: string,
    rule: FieldRule,
    type: DuckType,
    codes: CodeTable | undefined,
  ): { absent: string; present: Stage } {
    const k = this.pathIndex(path);
    const absent = this.is.absent(k);
    // The kind the record path's next step expects, given the raw JSON type; other JSON types are left to it.
    const isTime = rule.type === 'time' || rule.time !== undefined;
    if (codes !== undefined || rule.type === 'text' || (rule.type === undefined && !isTime && type === 'VARCHAR')) {
      const s = this.is.text(k);
      if (codes !== undefined || rule.type === undefined)
        return { absent, present: { ...stage('string', s, this.is.string(k)), textOf: k } };
      // text: JSON integers and booleans become their text, exactly as JS writes them.
      return { absent, present: { ...stage('string', s, this.is.textLike(k)), textOf: k } };
    }
    if (isTime) {
      const s = this.is.text(k);
      return { absent, present: { ...stage('time', s, `(${this.is.string(k)} or ${this.is.integer(k)})`), path: k } };
    }
    if (rule.type === 'boolean') {
      const s = this.is.text(k);
      return {
        absent,
        present: stage(
          'boolean',
          `(lower(${s}) in ${TRUE_WORDS})`,
          `(${this.is.boolean(k)} or (${this.is.string(k)} and lower(${s}) in ${BOOLEAN_WORDS}) or (${this.is.integer(k)} and ${s} in ('0', '1')))`,
        ),
      };
    }
    if (rule.type === 'number' || rule.type === 'integer' || type === 'DOUBLE' || type === 'BIGINT') {
      // Numeric text is read as JSON writes numbers (number/integer casts); a bare field takes JSON numbers only.
      if (rule.type === undefined) this.bareNumbers.add(k);
      const fromText =
        rule.type === undefined
          ? 'false'
          : `(${this.is.string(k)} and regexp_full_match(${this.is.text(k)}, ${sqlString(NUMERIC_TEXT)}))`;
      // A bare field reads the JSON number itself (its string's content is never certain): its text is not needed.
      const value = rule.type === undefined ? this.is.numberValue(k) : `try_cast(${this.is.text(k)} as DOUBLE)`;
      let sure = `((${this.is.number(k)} or ${fromText}) and isfinite(${value}))`;
      if (rule.type === 'integer') sure = `(${sure} and ${value} = floor(${value}))`;
      return { absent, present: stage('number', value, sure) };
    }
    if (type === 'BOOLEAN')
      return { absent, present: stage('boolean', `(${this.is.text(k)} = 'true')`, this.is.boolean(k)) };
    throw new NotCompilable(`no bulk rule for a ${type} value without a type`);
  }

  /** Several paths joined: absent when any part is; each part text, an integer or a boolean as JS writes it. */
  private joined(paths: string[], separator: string): { absent: string; present: Stage } {
    const parts = paths.map((path) => this.pathIndex(path));
    const absent = parts.map((k) => this.is.absent(k));
    const sure = parts.map((k) => this.is.textLike(k));
    const text = `concat(${parts.map((k) => this.is.text(k)).join(`, ${sqlString(separator)}, `)})`;
    const column = `_c${this.computed.push(text)}`;
    return { absent: `(${absent.join(' or ')})`, present: stage('string', column, `(${sure.join(' and ')})`) };
  }

  /** codes → cast → scale → time, in the record path's order, on a present value. */
  private steps(read: Stage, rule: FieldRule, codes: CodeTable | undefined): Stage {
    let at = read;
    if (codes !== undefined) {
      const value = codes.toSql(at.sql);
      at = stage(codes.valueKind, value, `(${at.sure} and ${VALUE} is not null)`);
    }
    const isTime = rule.type === 'time' || rule.time !== undefined;
    if (rule.type !== undefined && rule.type !== 'time' && codes !== undefined) {
      // A cast after a code table: only the identity casts are compiled.
      if (!(rule.type === 'text' && at.kind === 'string') && !(rule.type === 'number' && at.kind === 'number'))
        throw new NotCompilable(`a ${rule.type} cast after a code table`);
    }
    if (rule.multiply_by !== undefined || rule.divide_by !== undefined) {
      if (at.kind !== 'number' || isTime) throw new NotCompilable('a scale on a value that is not a number');
      let value = at.sql;
      if (rule.multiply_by !== undefined) value = `(${value} * ${sqlDouble(rule.multiply_by)})`;
      if (rule.divide_by !== undefined) value = `(${value} / ${sqlDouble(rule.divide_by)})`;
      at = stage('number', value, at.sure);
    }
    if (isTime) {
      if (at.path === undefined) throw new NotCompilable('a time read through other steps or from joined paths');
      at = this.time(at, at.path, rule);
    }
    return at;
  }

  /**
   * Formats tried in order, then `auto`: each format's own SQL (time-format.ts) on text; on a JSON integer only the
   * epoch formats and auto's epoch milliseconds (a pattern never reads a number in JS).
   */
  private time(read: Stage, k: number, rule: FieldRule): Stage {
    const zone = rule.time_zone ?? this.loaded.spec.time_zone;
    const formats = Array.isArray(rule.time) ? rule.time : [rule.time ?? 'auto'];
    const onText: string[] = [];
    const onNumber: string[] = [];
    for (const format of formats) {
      if (format === 'auto') {
        const offsetMs = fixedZoneOffsetMs(zone);
        if (offsetMs === undefined) throw new NotCompilable(`time auto in zone ${zone}`);
        // A kinded top-level string's class tells the fast form without RE2 (bulk-eligible.ts).
        const classed = this.classed(k) && read.sql === `_s${k}`;
        if (classed) this.timeClassed.add(k);
        const known = classed ? `_t${k} = ${StringClass.localTime}` : undefined;
        onText.push(autoLocalToSql(read.sql, offsetMs / 60_000, known));
        onNumber.push(
          `case when abs(try_cast(${read.sql} as HUGEINT)) <= 8640000000000000 then ${sqlUtcInstant(`epoch_ms(cast(${read.sql} as BIGINT))`)} end`,
        );
        break; // auto accepts nothing after it that it would not have accepted
      }
      const compiled = compileTimeFormat(format, zone);
      onText.push(compiled.toSql(read.sql));
      if (format === 'epoch_s' || format === 'epoch_ms') onNumber.push(compiled.toSql(read.sql));
      else if (!probeRejectsNumbers(compiled)) throw new NotCompilable(`time format ${format} on numbers`);
    }
    const text = onText.length === 1 ? onText[0]! : `coalesce(${onText.join(', ')})`;
    const number =
      onNumber.length === 0 ? 'NULL' : onNumber.length === 1 ? onNumber[0]! : `coalesce(${onNumber.join(', ')})`;
    const value = `(case when ${this.is.string(k)} then ${text} else ${number} end)`;
    return stage('time', value, `(${read.sure} and ${VALUE} is not null)`);
  }

  /** The unit conversion of a measurement, over the mapped fields' columns. */
  private measurement(m: NonNullable<LoadedMapping['spec']['measurement']>): BulkMeasurement {
    const table = this.loaded.codeTables.get('measurement.canonical_units')!;
    if (table.valueKind !== 'string') throw new NotCompilable('measurement canonical units that are not text');
    const types = this.types;
    if (types.get(m.value) !== 'DOUBLE' || types.get(m.unit) !== 'VARCHAR' || types.get(m.metric) !== 'VARCHAR')
      throw new NotCompilable('a measurement over fields that are not a number, a unit and a metric');
    const conversions: BulkMeasurement['conversions'] = [];
    // Conversions only to a unit the table can give: a CASE branch per unit it never gives cost every statement its
    // planning (2 of the sensor statement's 12 ms) and every row the comparisons before its own branch.
    const reachable = table.outcomes();
    for (const dimension of Object.values(knownUnits())) {
      for (const from of dimension) {
        for (const to of dimension) {
          if (reachable && !reachable.has(to)) continue;
          const conversion = unitConversion(from, to);
          if (conversion) conversions.push({ from, to, ...conversion });
        }
      }
    }
    return { value: m.value, unit: m.unit, metric: m.metric, canonical: table.toSql(`f_${m.metric}`), conversions };
  }
}

function stage(kind: Stage['kind'], sql: string, sure: string): Stage {
  return { kind, sql, sure };
}

/** The value as the canonical column holds it; a kind the column cannot take is never certain. */
function finalType(at: Stage, type: DuckType): Stage {
  if (type === 'VARCHAR' && at.kind === 'string') return at;
  if (type === 'DOUBLE' && at.kind === 'number') return at;
  if (type === 'BIGINT' && at.kind === 'number')
    return stage(
      'number',
      `try_cast(${at.sql} as BIGINT)`,
      `(${at.sure} and ${at.sql} = floor(${at.sql}) and abs(${at.sql}) <= ${MAX_SAFE})`,
    );
  if (type === 'BOOLEAN' && at.kind === 'boolean') return at;
  if (type === 'TIMESTAMPTZ' && at.kind === 'time') return at;
  throw new NotCompilable(`a ${at.kind} value for a ${type} column`);
}

/** A SQL literal of a folded value for the column type, or undefined when the record path's value cannot be it. */
function literalOf(value: unknown, type: DuckType): string | undefined {
  if (type === 'VARCHAR' && typeof value === 'string') return sqlString(value);
  if (type === 'DOUBLE' && typeof value === 'number' && Number.isFinite(value)) return sqlDouble(value);
  if (type === 'BIGINT' && typeof value === 'number' && Number.isSafeInteger(value)) return `${value}::BIGINT`;
  if (type === 'BOOLEAN' && typeof value === 'boolean') return String(value);
  if (
    type === 'TIMESTAMPTZ' &&
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)
  )
    return `'${value}'::TIMESTAMPTZ`;
  return undefined;
}

/** A DuckDB JSON path of steps: names quoted, indexes in brackets. */
export function jsonPath(steps: readonly PathStep[]): string {
  let path = '$';
  for (const step of steps) {
    if (typeof step === 'number') path += `[${step}]`;
    else if (/["\\\u0000-\u001f]/.test(step))
      throw new NotCompilable(`a path name DuckDB cannot quote: ${JSON.stringify(step)}`);
    else path += `."${step}"`;
  }
  return path;
}

/** True when a pattern format refuses a number in JS (so SQL may skip it for JSON numbers). */
function probeRejectsNumbers(format: ReturnType<typeof compileTimeFormat>): boolean {
  return format.parse(20260101) instanceof TimeParseFailure && format.parse(1767225600000) instanceof TimeParseFailure;
}
