/**
 * Source time formats, compiled once per mapping field and run per record. Two paths give the same instant:
 * `parse()` (JS, the record path) returns the canonical UTC text `YYYY-MM-DDTHH:mm:ss.sssZ` — what
 * `new Date(ms).toISOString()` and pipelines/normalize/mappings/fields.ts `utc()` produce; `toSql()` (DuckDB, the bulk
 * path of issue 12) returns a TIMESTAMPTZ expression for the same instant, NULL where `parse()` fails.
 *
 * Formats:
 * - token patterns: YYYY (4 digits), MM/DD/HH/mm/ss (2 digits), M/D/H (1–2 digits), SSS (3 digits, milliseconds);
 *   every other character is a literal (`-`, `/`, `:`, `.`, `T`, space, 年月日时分秒 …). YYYY, M(M) and D(D) are
 *   required; hours, minutes, seconds and milliseconds default to 0. The wall time is read in the source zone.
 * - `epoch_s`, `epoch_ms`: a number or numeric text. Seconds must lie in [1e8, 1e11) and milliseconds in
 *   [1e11, 1e14) (1973 to 5138), so one given as the other is rejected saying which it looks like.
 * - `iso8601`: `YYYY-MM-DD[T ]HH:mm[:ss[.f…]]` with `Z` or an offset `±HH[:MM]`. Without an offset it is rejected:
 *   the zone would be a guess. Fractions beyond milliseconds are truncated.
 * Years before 1000 are rejected (4-digit years only; no era arithmetic to get wrong between JS and DuckDB).
 */
import { CityhubError } from '../errors.js';
import { sqlJsRound, sqlString, sqlUtcInstant } from './sql-literal.js';

export class TimeFormatError extends CityhubError {
  constructor(
    readonly format: string,
    readonly zone: string,
    readonly problem: string,
  ) {
    super(`time format ${JSON.stringify(format)} (zone ${zone}): ${problem}`);
  }
}

/** A value that is not a time in the format; `reason` is written for a dead letter (`implausible_time`). */
export class TimeParseFailure {
  constructor(readonly reason: string) {}
}

export interface CompiledTimeFormat {
  readonly format: string;
  readonly zone: string;
  /** Canonical UTC text, or why the value is not a time. */
  parse(value: unknown): string | TimeParseFailure;
  /**
   * DuckDB TIMESTAMPTZ expression of the same instant; `expr` is VARCHAR (a JSON string's content, or a JSON
   * number's text as `->>` gives it). NULL when `parse()` fails: a non-null input with a NULL result is a failure.
   */
  toSql(expr: string): string;
}

export const DEFAULT_SOURCE_ZONE = 'Asia/Shanghai';

export function compileTimeFormat(format: string, zone: string = DEFAULT_SOURCE_ZONE): CompiledTimeFormat {
  // Epoch and ISO values carry their own zone, but a mistyped zone is still a config error worth reporting.
  sourceZone(zone, format);
  if (format === 'epoch_s' || format === 'epoch_ms') return epochFormat(format, zone);
  if (format === 'iso8601') return isoFormat(zone);
  return patternFormat(format, zone);
}

// ---------------------------------------------------------------------------------------------------------------
// Shared calendar rules (JS and SQL say the same thing)

const FIELD_NAMES = ['y', 'mo', 'd', 'h', 'mi', 's', 'ms'] as const;
const YEAR = 0;
const MONTH = 1;
const DAY = 2;
const HOUR = 3;
const MINUTE = 4;
const SECOND = 5;
const MILLISECOND = 6;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Why these wall-clock fields name no real time, or undefined when they do. */
function calendarProblem(f: ArrayLike<number>): string | undefined {
  const year = f[YEAR]!;
  const month = f[MONTH]!;
  const day = f[DAY]!;
  if (year < 1000) return `year ${year} is before 1000`;
  if (month < 1 || month > 12) return `month ${month} does not exist`;
  if (day < 1 || day > daysInMonth(year, month)) return `day ${day} does not exist in ${year}-${pad2(month)}`;
  if (f[HOUR]! > 23) return `hour ${f[HOUR]} is out of range 0–23`;
  if (f[MINUTE]! > 59) return `minute ${f[MINUTE]} is out of range 0–59`;
  if (f[SECOND]! > 59) return `second ${f[SECOND]} is out of range 0–59`;
  return undefined;
}

/** The parsed fields as epoch ms of the same wall time read as UTC, or why they name no real time. */
function wallTimeOf(f: ArrayLike<number>, value: unknown): number | TimeParseFailure {
  const problem = calendarProblem(f);
  if (problem) return new TimeParseFailure(`${describe(value)}: ${problem}`);
  return utcFromFields(f[YEAR]!, f[MONTH]!, f[DAY]!, f[HOUR]!, f[MINUTE]!, f[SECOND]!, f[MILLISECOND]!);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** SQL: the same checks over INTEGER expressions named by FIELD_NAMES; true when the fields name no real time. */
function sqlCalendarInvalid(field: (name: string) => string): string {
  const [y, mo, d, h, mi, s] = ['y', 'mo', 'd', 'h', 'mi', 's'].map(field) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const leap = `((${y} % 4 = 0 and ${y} % 100 <> 0) or ${y} % 400 = 0)`;
  const lastDay = `case when ${mo} = 2 then case when ${leap} then 29 else 28 end when ${mo} in (4, 6, 9, 11) then 30 else 31 end`;
  return `${y} < 1000 or ${mo} < 1 or ${mo} > 12 or ${d} < 1 or ${d} > (${lastDay}) or ${h} > 23 or ${mi} > 59 or ${s} > 59`;
}

/** SQL: a local TIMESTAMP of the fields (the calendar already checked, so make_timestamp cannot throw). */
function sqlWallClock(field: (name: string) => string): string {
  const [y, mo, d, h, mi, s, ms] = FIELD_NAMES.map(field);
  return `(make_timestamp(${y}, ${mo}, ${d}, ${h}, ${mi}, ${s}) + to_milliseconds(${ms}))`;
}

/** An empty regexp group (field absent from the format or the value) reads as 0. */
function sqlGroup(name: string): string {
  return `coalesce(nullif(p.${name}, '')::INTEGER, 0)`;
}

function sqlRegexExtract(expr: string, pattern: string, groups: readonly string[]): string {
  return `regexp_extract(${expr}, ${sqlString(pattern)}, [${groups.map((g) => `'${g}'`).join(', ')}])`;
}

/** Remembers the last value and its result: consecutive records of a batch often share their timestamp. */
function lastValueCache(
  parse: (value: unknown) => string | TimeParseFailure,
): (value: unknown) => string | TimeParseFailure {
  let lastValue: unknown;
  let lastResult: string | TimeParseFailure = new TimeParseFailure('nothing parsed yet');
  return (value) => {
    if (value === lastValue && typeof lastResult === 'string') return lastResult;
    const result = parse(value);
    lastValue = value;
    lastResult = result;
    return result;
  };
}

function describe(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)
    : typeof value;
}

// ---------------------------------------------------------------------------------------------------------------
// Token patterns

interface PatternToken {
  field: number;
  minDigits: number;
  maxDigits: number;
}

const TOKENS: ReadonlyMap<string, PatternToken> = new Map([
  ['YYYY', { field: YEAR, minDigits: 4, maxDigits: 4 }],
  ['MM', { field: MONTH, minDigits: 2, maxDigits: 2 }],
  ['M', { field: MONTH, minDigits: 1, maxDigits: 2 }],
  ['DD', { field: DAY, minDigits: 2, maxDigits: 2 }],
  ['D', { field: DAY, minDigits: 1, maxDigits: 2 }],
  ['HH', { field: HOUR, minDigits: 2, maxDigits: 2 }],
  ['H', { field: HOUR, minDigits: 1, maxDigits: 2 }],
  ['mm', { field: MINUTE, minDigits: 2, maxDigits: 2 }],
  ['ss', { field: SECOND, minDigits: 2, maxDigits: 2 }],
  ['SSS', { field: MILLISECOND, minDigits: 3, maxDigits: 3 }],
]);

function isAsciiLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** Steps of a pattern: a field token, or a literal UTF-16 code unit (field = -1). */
interface Step extends PatternToken {
  literal: number;
}

function compileSteps(format: string, zone: string): Step[] {
  const steps: Step[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < format.length; ) {
    const code = format.charCodeAt(i);
    // `T` is the ISO date/time separator, so it is a literal, never a token.
    if (!isAsciiLetter(code) || code === 84) {
      steps.push({ field: -1, minDigits: 0, maxDigits: 0, literal: code });
      i++;
      continue;
    }
    let end = i + 1;
    while (end < format.length && format.charCodeAt(end) === code) end++;
    const text = format.slice(i, end);
    const token = TOKENS.get(text);
    if (!token) {
      throw new TimeFormatError(format, zone, `unknown token "${text}" (known: ${[...TOKENS.keys()].join(', ')})`);
    }
    if (seen.has(token.field)) throw new TimeFormatError(format, zone, `token "${text}" repeats a field`);
    const previous = steps.at(-1);
    if (previous && previous.field >= 0 && previous.minDigits !== previous.maxDigits) {
      throw new TimeFormatError(format, zone, `"${text}" directly after a 1–2 digit token is ambiguous`);
    }
    seen.add(token.field);
    steps.push({ ...token, literal: 0 });
    i = end;
  }
  for (const [field, name] of [
    [YEAR, 'YYYY'],
    [MONTH, 'MM or M'],
    [DAY, 'DD or D'],
  ] as const) {
    if (!seen.has(field)) throw new TimeFormatError(format, zone, `the format needs ${name}`);
  }
  return steps;
}

/** RE2 (DuckDB) pattern of the steps, one capture group per field token in order. */
function stepsRegex(steps: readonly Step[]): string {
  let pattern = '^';
  for (const step of steps) {
    if (step.field >= 0) {
      const width = step.minDigits === step.maxDigits ? `${step.minDigits}` : `${step.minDigits},${step.maxDigits}`;
      pattern += `([0-9]{${width}})`;
    } else {
      const char = String.fromCharCode(step.literal);
      pattern += /[A-Za-z0-9_\u0080-\uffff]/.test(char) ? char : `\\${char}`;
    }
  }
  return `${pattern}$`;
}

function patternFormat(format: string, zoneName: string): CompiledTimeFormat {
  const steps = compileSteps(format, zoneName);
  const zone = sourceZone(zoneName, format);
  const stepCount = steps.length;
  const stepField = Int8Array.from(steps, (s) => s.field);
  const stepMin = Uint8Array.from(steps, (s) => s.minDigits);
  const stepMax = Uint8Array.from(steps, (s) => s.maxDigits);
  const stepLiteral = Uint16Array.from(steps, (s) => s.literal);
  // Reused per call: parse() is synchronous, so one scratch array per compiled format is safe.
  const fields = new Int32Array(7);
  const mismatch = (value: unknown) => new TimeParseFailure(`${describe(value)} is not a time in format "${format}"`);

  const parse = (value: unknown): string | TimeParseFailure => {
    if (typeof value !== 'string') return mismatch(value);
    fields.fill(0);
    const length = value.length;
    let pos = 0;
    for (let i = 0; i < stepCount; i++) {
      const field = stepField[i]!;
      if (field < 0) {
        if (value.charCodeAt(pos) !== stepLiteral[i]) return mismatch(value);
        pos++;
        continue;
      }
      const max = stepMax[i]!;
      let digits = 0;
      let number = 0;
      while (digits < max && pos < length) {
        const code = value.charCodeAt(pos);
        if (code < 48 || code > 57) break;
        number = number * 10 + code - 48;
        pos++;
        digits++;
      }
      if (digits < stepMin[i]!) return mismatch(value);
      fields[field] = number;
    }
    if (pos !== length) return mismatch(value);
    const local = wallTimeOf(fields, value);
    if (local instanceof TimeParseFailure) return local;
    return new Date(zone.localToUtc(local)).toISOString();
  };

  const regex = stepsRegex(steps);
  const groups: string[] = steps.filter((s) => s.field >= 0).map((s) => FIELD_NAMES[s.field]!);
  // Fields the format leaves out (hours, minutes …) are 0 and have no regexp group.
  const field = (name: string) => (groups.includes(name) ? sqlGroup(name) : '0');
  return {
    format,
    zone: zoneName,
    parse: lastValueCache(parse),
    toSql(expr) {
      // One regexp per row; the lambda binds its match so each field is read from it, not re-matched.
      const wallClock = zone.sqlFromLocal(sqlWallClock(field));
      return `list_transform([${sqlRegexExtract(expr, regex, groups)}], lambda p: case when p.${groups[0]} = '' then NULL when ${sqlCalendarInvalid(field)} then NULL else ${wallClock} end)[1]`;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ISO 8601 with an offset

const ISO_REGEX =
  '^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.([0-9]{1,9}))?)?(?:Z|([+-])([0-9]{2})(?::?([0-9]{2}))?)$';
const ISO_GROUPS = ['y', 'mo', 'd', 'h', 'mi', 's', 'f', 'sign', 'oh', 'om'] as const;

function isoFormat(zone: string): CompiledTimeFormat {
  const fields = new Int32Array(7);
  const parse = (value: unknown): string | TimeParseFailure => {
    if (typeof value !== 'string') return isoMismatch(value);
    const scan = new DigitScanner(value);
    fields.fill(0);
    fields[YEAR] = scan.digits(4);
    if (!scan.literal(45)) return isoMismatch(value);
    fields[MONTH] = scan.digits(2);
    if (!scan.literal(45)) return isoMismatch(value);
    fields[DAY] = scan.digits(2);
    if (!scan.literal(84) && !scan.literal(32)) return isoMismatch(value);
    fields[HOUR] = scan.digits(2);
    if (!scan.literal(58)) return isoMismatch(value);
    fields[MINUTE] = scan.digits(2);
    if (scan.literal(58)) {
      fields[SECOND] = scan.digits(2);
      if (scan.literal(46)) {
        const start = scan.pos;
        let millis = 0;
        while (scan.pos - start < 9 && scan.isDigit()) {
          if (scan.pos - start < 3) millis = millis * 10 + scan.next() - 48;
          else scan.pos++;
        }
        const count = scan.pos - start;
        if (count === 0) return isoMismatch(value);
        fields[MILLISECOND] = count === 1 ? millis * 100 : count === 2 ? millis * 10 : millis;
      }
    }
    let offsetMinutes = 0;
    if (scan.literal(90)) {
      // Z: UTC
    } else {
      const sign = scan.literal(43) ? 1 : scan.literal(45) ? -1 : 0;
      if (sign === 0) {
        return scan.failed || scan.pos !== value.length
          ? isoMismatch(value)
          : new TimeParseFailure(`${describe(value)} has no offset or Z: its zone would be a guess`);
      }
      const hours = scan.digits(2);
      const colon = scan.literal(58);
      const minutes = colon || scan.pos < value.length ? scan.digits(2) : 0;
      if (hours > 23 || minutes > 59) return new TimeParseFailure(`${describe(value)}: offset out of range`);
      offsetMinutes = sign * (hours * 60 + minutes);
    }
    if (scan.failed || scan.pos !== value.length) return isoMismatch(value);
    const local = wallTimeOf(fields, value);
    if (local instanceof TimeParseFailure) return local;
    return new Date(local - offsetMinutes * 60_000).toISOString();
  };
  const field = (name: string) => (name === 'ms' ? "rpad(left(p.f, 3), 3, '0')::INTEGER" : sqlGroup(name));
  const offset = `(case when p.sign = '-' then -1 else 1 end * (${sqlGroup('oh')} * 60 + ${sqlGroup('om')}))`;
  return {
    format: 'iso8601',
    zone,
    parse: lastValueCache(parse),
    toSql(expr) {
      const instant = sqlUtcInstant(`${sqlWallClock(field)} - to_minutes(${offset})`);
      return `list_transform([${sqlRegexExtract(expr, ISO_REGEX, ISO_GROUPS)}], lambda p: case when p.y = '' then NULL when ${sqlCalendarInvalid(field)} or ${sqlGroup('oh')} > 23 or ${sqlGroup('om')} > 59 then NULL else ${instant} end)[1]`;
    },
  };
}

function isoMismatch(value: unknown): TimeParseFailure {
  return new TimeParseFailure(`${describe(value)} is not an ISO 8601 time with an offset`);
}

/** A cursor over ASCII digits and literals; `failed` latches so callers check once at the end. */
class DigitScanner {
  pos = 0;
  failed = false;
  constructor(private readonly text: string) {}
  isDigit(): boolean {
    const code = this.text.charCodeAt(this.pos);
    return code >= 48 && code <= 57;
  }
  next(): number {
    return this.text.charCodeAt(this.pos++);
  }
  digits(count: number): number {
    let number = 0;
    for (let i = 0; i < count; i++) {
      if (!this.isDigit()) {
        this.failed = true;
        return 0;
      }
      number = number * 10 + this.next() - 48;
    }
    return number;
  }
  literal(code: number): boolean {
    if (this.failed || this.text.charCodeAt(this.pos) !== code) return false;
    this.pos++;
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Epoch seconds / milliseconds

const EPOCH_RANGES = { epoch_s: [1e8, 1e11], epoch_ms: [1e11, 1e14] } as const;
const NUMERIC_TEXT_REGEX = '-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?';

/** `-?digits(.digits)?(e±digits)?`: what both paths accept as numeric text (no spaces, hex, `+`, Infinity). */
function isNumericText(text: string): boolean {
  const scan = new DigitScanner(text);
  scan.literal(45);
  const intStart = scan.pos;
  while (scan.isDigit()) scan.pos++;
  if (scan.pos === intStart) return false;
  if (scan.literal(46)) {
    const start = scan.pos;
    while (scan.isDigit()) scan.pos++;
    if (scan.pos === start) return false;
  }
  if (scan.literal(101) || scan.literal(69)) {
    if (!scan.literal(45)) scan.literal(43);
    const start = scan.pos;
    while (scan.isDigit()) scan.pos++;
    if (scan.pos === start) return false;
  }
  return scan.pos === text.length;
}

function epochFormat(format: 'epoch_s' | 'epoch_ms', zone: string): CompiledTimeFormat {
  const [low, high] = EPOCH_RANGES[format];
  const other = format === 'epoch_s' ? 'epoch_ms' : 'epoch_s';
  const [otherLow, otherHigh] = EPOCH_RANGES[other];
  const scale = format === 'epoch_s' ? 1000 : 1;
  const parse = (value: unknown): string | TimeParseFailure => {
    let n: number;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'string' && isNumericText(value)) n = Number(value);
    else return new TimeParseFailure(`${describe(value)} is not a number (${format})`);
    if (n >= low && n < high) return new Date(Math.round(n * scale)).toISOString();
    if (n >= otherLow && n < otherHigh) {
      const looks = other === 'epoch_ms' ? 'epoch milliseconds' : 'epoch seconds';
      return new TimeParseFailure(`${n} looks like ${looks}, not ${format} (expected [${low}, ${high}))`);
    }
    return new TimeParseFailure(`${n} is out of range for ${format} (expected [${low}, ${high}), 1973–5138)`);
  };
  return {
    format,
    zone,
    parse: lastValueCache(parse),
    toSql(expr) {
      const ms = sqlJsRound(scale === 1 ? 'v' : `v * ${scale}.0`);
      const instant = sqlUtcInstant(`epoch_ms(${ms}::BIGINT)`);
      return `case when regexp_full_match(${expr}, '${NUMERIC_TEXT_REGEX}') then list_transform([try_cast(${expr} as DOUBLE)], lambda v: case when v >= ${low} and v < ${high} then ${instant} end)[1] end`;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// `auto`'s local form (the record path's parseSourceTime, pipelines/normalize/time.ts), for the bulk path

const AUTO_LOCAL_REGEX =
  '^([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.([0-9]{1,6}))?)?$';
const AUTO_LOCAL_GROUPS = ['y', 'mo', 'd', 'h', 'mi', 's', 'f'] as const;
/**
 * The part of auto's local form whose every value DuckDB's TIMESTAMP cast reads exactly as parseSourceTime does: a
 * year from 1000, hours to 23, minutes and seconds to 59 (the cast would take 24:00 as the next day), at most three
 * fraction digits (milliseconds, so nothing to round). Impossible days (02-30) fail both the cast and the record path.
 */
export const AUTO_LOCAL_FAST_REGEX =
  '[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,3})?)?';

/**
 * DuckDB TIMESTAMPTZ of parseSourceTime's local form `YYYY-MM-DD[ T]HH:mm[:ss[.f{1,6}]]` read at a fixed offset (in
 * minutes east of UTC), NULL where the text is not that form or names no real time. A zoned form is not read here:
 * NULL leaves it to the record path. The fraction is rounded to milliseconds as parseSourceTime rounds it.
 */
export function autoLocalToSql(
  expr: string,
  offsetMinutes: number,
  /** SQL true where `expr` is known to have the fast form (a string class, bulk-sql.ts): no RE2 match there. */
  fastKnown?: string,
): string {
  const fraction = `cast(case when p.f = '' then 0 else ${sqlJsRound(`cast('0.' || p.f as DOUBLE) * 1000`)} end as INTEGER)`;
  const field = (name: string) => (name === 'ms' ? fraction : sqlGroup(name));
  const instant = sqlUtcInstant(`${sqlWallClock(field)} - to_minutes(${offsetMinutes})`);
  const general = `list_transform([${sqlRegexExtract(expr, AUTO_LOCAL_REGEX, AUTO_LOCAL_GROUPS)}], lambda p: case when p.y = '' then NULL when ${sqlCalendarInvalid(field)} then NULL else ${instant} end)[1]`;
  // The common forms take DuckDB's own timestamp cast, several times cheaper than the general reading; CASE runs
  // the general one only on the rows the fast form does not match.
  const fast = sqlUtcInstant(`try_cast(${expr} as TIMESTAMP) - to_minutes(${offsetMinutes})`);
  const isFast = `regexp_full_match(${expr}, ${sqlString(AUTO_LOCAL_FAST_REGEX)})`;
  return `case when ${fastKnown === undefined ? isFast : `${fastKnown} or ${isFast}`} then ${fast} else ${general} end`;
}

// ---------------------------------------------------------------------------------------------------------------
// Source zones: local wall-clock ms → UTC instant, in JS (Intl) and in DuckDB SQL (ICU), with the same answer in a
// DST gap or overlap. Both follow ICU's default: a wall time that happens twice is the later instant; a wall time
// skipped by a gap is read with the offset before the gap (so it lands after it).

interface SourceZone {
  /** UTC epoch ms of a local wall-clock time given as if it were UTC epoch ms. */
  localToUtc(localMs: number): number;
  /** DuckDB TIMESTAMPTZ of a local TIMESTAMP expression. */
  sqlFromLocal(localTimestamp: string): string;
}

/**
 * Zones whose offset is fixed for any plausible event time: Asia/Shanghai has been UTC+8 without DST since 1991.
 * Read as fixed (as pipelines/normalize/time.ts does) in both paths, it costs no Intl call and no ICU lookup.
 */
const fixedOffsetMinutes: ReadonlyMap<string, number> = new Map([
  ['Asia/Shanghai', 480],
  ['UTC', 0],
  ['Etc/UTC', 0],
]);

const zones = new Map<string, SourceZone>();

function sourceZone(name: string, format: string): SourceZone {
  let zone = zones.get(name);
  if (!zone) {
    zone = buildZone(name, format);
    zones.set(name, zone);
  }
  return zone;
}

function buildZone(name: string, format: string): SourceZone {
  const fixed = fixedOffsetMinutes.get(name);
  if (fixed !== undefined) {
    const offsetMs = fixed * 60_000;
    return {
      localToUtc: (localMs) => localMs - offsetMs,
      sqlFromLocal: (local) => sqlUtcInstant(`${local} - to_minutes(${fixed})`),
    };
  }
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new TimeFormatError(
      format,
      name,
      `unknown time zone "${name}" (expected an IANA name such as Asia/Shanghai)`,
    );
  }
  const offsetAt = offsetLookup(formatter);
  return {
    localToUtc(localMs) {
      const before = offsetAt(localMs - 86_400_000);
      const after = offsetAt(localMs + 86_400_000);
      if (before === after) return localMs - before;
      // A transition lies within a day: the later valid reading wins (overlap); a gap is read with the offset before.
      const smaller = Math.min(before, after);
      const larger = Math.max(before, after);
      if (offsetAt(localMs - smaller) === smaller) return localMs - smaller;
      if (offsetAt(localMs - larger) === larger) return localMs - larger;
      return localMs - before;
    },
    sqlFromLocal: (local) => `timezone(${sqlString(name)}, ${local})`,
  };
}

/**
 * Offset (ms) of the zone at a UTC instant. Intl costs microseconds a call, so offsets are remembered per quarter
 * hour: every transition since 1970 falls on a quarter hour.
 */
function offsetLookup(formatter: Intl.DateTimeFormat): (utcMs: number) => number {
  const cache = new Map<number, number>();
  return (utcMs) => {
    const bucket = Math.floor(utcMs / 900_000);
    let offset = cache.get(bucket);
    if (offset === undefined) {
      offset = intlOffset(formatter, bucket * 900_000);
      if (cache.size >= 100_000) cache.clear();
      cache.set(bucket, offset);
    }
    return offset;
  };
}

function intlOffset(formatter: Intl.DateTimeFormat, utcMs: number): number {
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(utcMs)) parts[part.type] = part.value;
  const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
  const local = utcFromFields(
    year,
    Number(parts.month),
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
    0,
  );
  return local - utcMs;
}

/** Epoch ms of a proleptic Gregorian date-time read as UTC; unlike Date.UTC, years 0–99 are not taken as 19xx. */
function utcFromFields(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millisecond: number,
): number {
  // Days from civil (H. Hinnant): exact integer arithmetic, no Date object per record.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return (
    (era * 146_097 + dayOfEra - 719_468) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millisecond
  );
}
