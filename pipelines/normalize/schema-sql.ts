/**
 * The canonical schemas (schemas/) as DuckDB checks, for the bulk path: each check is true only where zod is certain
 * to accept the value, so a row the SQL passes is one the record path would pass. Read from the zod definitions
 * themselves, not written twice; a rule this module does not know (a refinement it has never seen, a format it
 * cannot judge) makes the dataset stay on the record path, with the reason.
 */
import type { z } from 'zod';
import { type DatasetName, datasets, withoutDotDotOrDoubleSlash } from '../../schemas/index.js';
import { STRING_CLASS_CHARS, StringClass } from '../mapping/bulk-sql.js';
import { sqlDouble, sqlString } from '../mapping/sql-literal.js';

export interface FieldCheckSql {
  optional: boolean;
  /** SQL boolean over the field's typed value (never NULL for a non-null value). */
  check: (value: string) => string;
  /**
   * The same check where SQL `stringClass` gives the value's class (bulk-sql.ts StringClass; `none` when unknown):
   * a pattern a class decides is not run. Absent when no class decides any of the field's patterns.
   */
  byClass?: (value: string, stringClass: string) => string;
}

export type SchemaSqlResult = { ok: true; fields: Map<string, FieldCheckSql> } | { ok: false; reason: string };

class NotCompilable extends Error {}

const MAX_SAFE = '9007199254740991';
/** The CJK Unified Ideographs, as an RE2 class range. */
const CJK_RANGE = '\\x{4e00}-\\x{9fff}';
/**
 * Text where \p{L} and \p{N} are plain ranges (guardedClasses): ASCII and CJK Unified Ideographs; other text is left
 * to zod. Only text that is not ASCII reaches it (fieldCheck's CASE takes ASCII text apart).
 */
const UNICODE_CLASS_GUARD = `regexp_full_match(VALUE, '[\\x00-\\x7f${CJK_RANGE}]*')`;
/** URLs every WHATWG parser takes as they are (zod's z.url() is new URL()): other ones are left to zod. */
const PLAIN_URL =
  'https?://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?(\\?[A-Za-z0-9._~%=&-]*)?';

interface ZodDef {
  type: string;
  innerType?: z.ZodType;
  checks?: { _zod: { def: Record<string, unknown> } }[];
  format?: string;
  entries?: Record<string, unknown>;
}

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** The checks of every field of a canonical dataset, or why one cannot be checked in SQL. */
export function schemaSql(dataset: DatasetName): SchemaSqlResult {
  const fields = new Map<string, FieldCheckSql>();
  try {
    for (const [name, schema] of Object.entries(datasets[dataset].shape as Record<string, z.ZodType>)) {
      try {
        fields.set(name, fieldCheck(schema));
      } catch (error) {
        if (error instanceof NotCompilable) throw new NotCompilable(`${dataset}.${name}: ${error.message}`);
        throw error;
      }
    }
  } catch (error) {
    if (error instanceof NotCompilable) return { ok: false, reason: error.message };
    throw error;
  }
  return { ok: true, fields };
}

function fieldCheck(schema: z.ZodType): FieldCheckSql {
  let def = defOf(schema);
  let optional = false;
  if (def.type === 'optional') {
    optional = true;
    def = defOf(def.innerType!);
  }
  const parts: ((value: string) => string)[] = [];
  if (def.type === 'string') {
    if (def.format === 'datetime') {
      // Only time steps fill a timestamp column: an instant in the plausible range, which zod's ISO text passes.
    } else if (def.format === 'url') {
      parts.push((x) => `regexp_full_match(${x}, '${PLAIN_URL}')`);
    } else if (def.format !== undefined && def.format !== 'regex') {
      throw new NotCompilable(`string format ${def.format}`);
    }
    const checks = (def.checks ?? []).map((check) => stringCheck(check._zod.def));
    let check = (x: string) => all([...parts, ...checks.map((c) => c.any)], x);
    if (checks.some((c) => c.ascii !== c.any)) {
      // Most text is ASCII, where bytes are characters and \p{L} is [A-Za-z]: CASE runs the general checks (code
      // point counts, Unicode classes) only on the other rows.
      const ascii = [...parts, ...checks.map((c) => c.ascii)];
      const any = [...parts, ...checks.map((c) => c.any)];
      check = (x) => `(case when strlen(${x}) = length(${x}) then ${all(ascii, x)} else ${all(any, x)} end)`;
    }
    // A classed string is ASCII: the ASCII checks, with the patterns its class decides left out.
    const classes = CLASSES.filter(([name]) => checks.some((c) => c[name] !== undefined));
    if (classes.length === 0) return { optional, check };
    const byClass = (x: string, t: string) => {
      // Classes with the same checks share a branch.
      const branches = new Map<string, number[]>();
      for (const [name, value] of classes) {
        const sql = all([...parts, ...checks.map((c) => c[name] ?? c.ascii)], x);
        branches.set(sql, [...(branches.get(sql) ?? []), value]);
      }
      const when = [...branches].map(
        ([sql, values]) =>
          `when ${t} ${values.length === 1 ? `= ${values[0]}` : `in (${values.join(', ')})`} then ${sql}`,
      );
      return `(case ${when.join(' ')} else ${check(x)} end)`;
    };
    return { optional, check, byClass };
  } else if (def.type === 'number') {
    parts.push((x) => `isfinite(${x})`);
    for (const check of def.checks ?? []) parts.push(numberCheck(check._zod.def));
  } else if (def.type === 'enum') {
    const list = Object.values(def.entries ?? {}).map((v) => {
      if (typeof v !== 'string') throw new NotCompilable('an enum of values that are not text');
      return sqlString(v);
    });
    parts.push((x) => `${x} in (${list.join(', ')})`);
  } else if (def.type !== 'boolean') {
    throw new NotCompilable(`a ${def.type} field`);
  }
  return { optional, check: (x) => all(parts, x) };
}

function all(parts: readonly ((value: string) => string)[], x: string): string {
  const sql = parts.map((p) => p(x)).filter((part) => part !== 'true');
  return sql.length === 0 ? 'true' : `(${sql.join(' and ')})`;
}

/**
 * A string check as SQL: on any text, and on text known to be ASCII (the same function where it is as cheap); for a
 * pattern, on text of a string class where the class decides it (patternByClass).
 */
interface StringCheckSql {
  any: (x: string) => string;
  ascii: (x: string) => string;
  word?: (x: string) => string;
  digits?: (x: string) => string;
}

const CLASSES = [
  ['word', StringClass.word],
  ['digits', StringClass.digits],
] as const;

const { digits: DIGITS, wordFirst: WORD_FIRST, wordRest: WORD_REST } = STRING_CLASS_CHARS;
/** Of WORD_REST, the characters that are not digits: a word holds at least one. */
const WORD_NON_DIGITS = [...WORD_REST].filter((c) => !DIGITS.includes(c)).join('');

/** One character or class, then a quantifier: `x`, `\d`, `[...]`; `{n}`, `{m,n}`, `{m,}`, `?`, `*`, `+` or none. */
const ATOM = String.raw`(\\[dw]|\[(?:\\.|[^\]\\])*\]|[A-Za-z0-9_])`;
const QUANTIFIER = String.raw`(\{\d+(?:,\d*)?\}|[?*+])?`;
const ONE_ATOM = new RegExp(`^\\^${ATOM}${QUANTIFIER}\\$$`);
const FIRST_THEN_MANY = new RegExp(`^\\^${ATOM}${ATOM}\\*\\$$`);

/**
 * What a pattern makes of text of each string class, where its shape makes it certain: `^AQ$` (one character or
 * class A, quantifier Q) and `^AB*$`. Each class is tested against the pattern's own JS classes (the record path's
 * engine), character by character: a class decides A when A takes all of the class's characters, or none of those it
 * must hold. Undefined for a class the pattern's shape or classes leave to RE2.
 */
export function patternByClass(pattern: RegExp): { word?: (x: string) => string; digits?: (x: string) => string } {
  const takes = (atom: string, chars: string) => {
    const one = new RegExp(`^${atom}$`, pattern.flags);
    return [...chars].map((c) => one.test(c));
  };
  const allOf = (atom: string, chars: string) => takes(atom, chars).every(Boolean);
  const noneOf = (atom: string, chars: string) => !takes(atom, chars).some(Boolean);
  const one = ONE_ATOM.exec(pattern.source);
  if (one) {
    const [, atom, quantifier = ''] = one as unknown as [string, string, string | undefined];
    const [least, most] = bounds(quantifier);
    const length = (x: string) => lengthBetween(x, least, most);
    return {
      ...(allOf(atom, WORD_REST) ? { word: length } : noneOf(atom, WORD_NON_DIGITS) ? { word: () => 'false' } : {}),
      ...(allOf(atom, DIGITS) ? { digits: length } : noneOf(atom, DIGITS) ? { digits: () => 'false' } : {}),
    };
  }
  const two = FIRST_THEN_MANY.exec(pattern.source);
  if (two) {
    const [, first, rest] = two as unknown as [string, string, string];
    return {
      ...(allOf(first, WORD_FIRST) && allOf(rest, WORD_REST) ? { word: () => 'true' } : {}),
      ...(allOf(first, DIGITS) && allOf(rest, DIGITS) ? { digits: () => 'true' } : {}),
    };
  }
  return {};
}

/** A quantifier's least and most repeats (most: Infinity for none). */
function bounds(quantifier: string): [number, number] {
  if (quantifier === '') return [1, 1];
  if (quantifier === '?') return [0, 1];
  if (quantifier === '*') return [0, Infinity];
  if (quantifier === '+') return [1, Infinity];
  const [least, most] = quantifier.slice(1, -1).split(',') as [string, string | undefined];
  return [Number(least), most === undefined ? Number(least) : most === '' ? Infinity : Number(most)];
}

/** Classed text is ASCII and never empty: its length is its byte count, at least 1. */
function lengthBetween(x: string, least: number, most: number): string {
  if (least === most) return `strlen(${x}) = ${least}`;
  const parts = [
    ...(least > 1 ? [`strlen(${x}) >= ${least}`] : []),
    ...(most < Infinity ? [`strlen(${x}) <= ${most}`] : []),
  ];
  return parts.length === 0 ? 'true' : `(${parts.join(' and ')})`;
}

function same(check: (x: string) => string): StringCheckSql {
  return { any: check, ascii: check };
}

function stringCheck(def: Record<string, unknown>): StringCheckSql {
  switch (def.check) {
    case 'min_length': {
      // DuckDB counts code points, JS UTF-16 units (never fewer): at least n code points is at least n units.
      const n = Number(def.minimum);
      return { any: (x) => `length(${x}) >= ${n}`, ascii: (x) => `strlen(${x}) >= ${n}` };
    }
    case 'max_length': {
      // UTF-16 units never exceed UTF-8 bytes; past that, only text without astral characters is counted exactly.
      const n = Number(def.maximum);
      return {
        any: (x) =>
          `(strlen(${x}) <= ${n} or (length(${x}) <= ${n} and not regexp_matches(${x}, '[\\x{10000}-\\x{10FFFF}]')))`,
        ascii: (x) => `strlen(${x}) <= ${n}`,
      };
    }
    case 'string_format': {
      if (def.format !== 'regex') throw new NotCompilable(`string format ${String(def.format)}`);
      const pattern = def.pattern as RegExp;
      if (pattern.flags.replace('u', '') !== '') throw new NotCompilable(`a pattern with flags ${pattern.flags}`);
      const source = pattern.source;
      if (/\(\?[=!<]|\\[1-9]/.test(source)) throw new NotCompilable(`a pattern RE2 cannot run: ${source}`);
      const decided = patternByClass(pattern);
      if (!/\\p\{/.test(source)) return { ...same((x) => `regexp_matches(${x}, ${sqlString(source)})`), ...decided };
      // RE2 compiles \p{L} into a large automaton, twice per statement (binding, then running): 30 ms of every bulk
      // statement for three identifier fields. The guard lets through only ASCII and CJK Unified Ideographs, where
      // the classes are plain ranges; another Unicode class keeps RE2's own, guarded as before.
      const ranged = sqlString(guardedClasses(source) ?? source);
      return {
        any: (x) => `(${UNICODE_CLASS_GUARD.replaceAll('VALUE', x)} and regexp_matches(${x}, ${ranged}))`,
        ascii: (x) => `regexp_matches(${x}, ${ranged})`,
        ...decided,
      };
    }
    case 'custom':
      if (def.fn === withoutDotDotOrDoubleSlash)
        return same((x) => `(not contains(${x}, '..') and not contains(${x}, '//'))`);
      throw new NotCompilable('a refinement the bulk path does not know');
    default:
      throw new NotCompilable(`a string check ${String(def.check)}`);
  }
}

/**
 * The pattern for text the guard lets through (ASCII and the CJK Unified Ideographs U+4E00–U+9FFF): there `\p{L}` is
 * the ASCII letters and the whole block (every code point of it is a letter, Lo), and `\p{N}` the ASCII digits
 * (schema-sql.test.ts checks both against the running JS engine). Undefined for a pattern with another Unicode class.
 */
function guardedClasses(source: string): string | undefined {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const unicodeClass = source.slice(i, i + 5);
      if (unicodeClass === '\\p{L}' || unicodeClass === '\\p{N}') {
        const range = unicodeClass === '\\p{L}' ? `A-Za-z${CJK_RANGE}` : '0-9';
        out += inClass ? range : `[${range}]`;
        i += 4;
        continue;
      }
      if (source[i + 1] === 'p' || source[i + 1] === 'P') return undefined;
      out += source.slice(i, i + 2);
      i++;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

function numberCheck(def: Record<string, unknown>): (x: string) => string {
  switch (def.check) {
    case 'greater_than':
      return (x) => `${x} ${def.inclusive ? '>=' : '>'} ${sqlDouble(Number(def.value))}`;
    case 'less_than':
      return (x) => `${x} ${def.inclusive ? '<=' : '<'} ${sqlDouble(Number(def.value))}`;
    case 'number_format':
      if (def.format === 'safeint') return (x) => `(${x} = floor(${x}) and abs(${x}) <= ${MAX_SAFE})`;
      throw new NotCompilable(`number format ${String(def.format)}`);
    default:
      throw new NotCompilable(`a number check ${String(def.check)}`);
  }
}
