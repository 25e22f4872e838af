/**
 * Model header grammar (SQLMesh style), at the very top of every model file:
 *
 *   -- name: <identifier, equal to the file name without .sql>
 *   -- description: <text>
 *   -- materialization: table | view | incremental
 *   -- incremental_by: <the DATE column holding the lake day (dt) each row comes from> | (grain, period)
 *                                                            incremental models only
 *   -- period_facts: <relation>(day: <col>; dates: <col>, …; cutoff: <col>, …), …   incremental_by (grain, period) only
 *   -- grain: (<column>, …)                                  optional
 *   -- depends_on: <model or seed>, …                         optional
 *   -- tests: <test>; <test>; …                               optional
 *   --    <continuation of the previous field (two or more spaces after `--`)>
 *
 * The header ends at the first line that is not a `--` comment. A bare `--` line is ignored.
 * Tests: unique(c, …) | not_null(c, …) | accepted_values(c: v1|v2|…) | relationships(c -> model.c) | expression(<sql>)
 * A test is of `error` severity (a failure keeps the previous marts published) unless prefixed `warn:`
 * (a failure publishes and is reported as a warning); `error:` may be written out too.
 */
import { ModelDefinitionError } from './errors.js';

/**
 * `incremental`: a table rebuilt only for the lake days (dt folders) whose files changed since the previous build; the
 * rows of other days are carried over from the previous marts file (incremental.ts). Incremental by `(grain, period)`:
 * a table of period rows rebuilt only for the periods its changed facts fall in (period-incremental.ts).
 */
export type Materialization = 'table' | 'view' | 'incremental';

/**
 * A lake-derived relation a period-incremental model aggregates: its rows of a lake day (`day`) change only when that
 * day's files change; each row counts in the periods containing its `dates`; and its counting depends on the data
 * cut-off only through the `cutoff` timestamps (a row whose such timestamp the cut-off passed since the previous
 * build counts differently now).
 */
export interface PeriodFact {
  relation: string;
  day: string;
  dates: string[];
  cutoff: string[];
}

/** How an incremental model splits its rows: by lake day (one DATE column) or by (grain, period). */
export type IncrementalBy = { kind: 'day'; column: string } | { kind: 'period'; facts: PeriodFact[] };

/** `error`: a failure fails the build and keeps the previous marts; `warn`: a failure is reported, the build publishes. */
export type DataTestSeverity = 'error' | 'warn';

export type DataTestSpec = { severity: DataTestSeverity } & (
  | { kind: 'unique'; name: string; columns: string[] }
  | { kind: 'not_null'; name: string; column: string }
  | { kind: 'accepted_values'; name: string; column: string; values: string[] }
  | { kind: 'relationships'; name: string; column: string; toModel: string; toColumn: string }
  | { kind: 'expression'; name: string; expression: string }
);

export interface ModelHeader {
  name: string;
  description: string;
  materialization: Materialization;
  /** Incremental models: the lake-day column each row was computed from, or (grain, period) with its facts. */
  incrementalBy?: IncrementalBy;
  grain: string[];
  dependsOn: string[];
  tests: DataTestSpec[];
}

const fields = [
  'name',
  'description',
  'materialization',
  'incremental_by',
  'period_facts',
  'grain',
  'depends_on',
  'tests',
] as const;
type Field = (typeof fields)[number];
const identifier = /^[a-z_][a-z0-9_]*$/;

/** Splits a model file into its parsed header and SQL body. Throws ModelDefinitionError naming the field. */
export function parseModelFile(file: string, text: string): { header: ModelHeader; body: string } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const raw = new Map<Field, string>();
  let current: Field | undefined;
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('--')) break;
    const rest = line.slice(2);
    if (rest.trim() === '') continue;
    const field = /^ ([a-z_]+):(.*)$/.exec(rest);
    if (field) {
      const key = field[1]!;
      if (!(fields as readonly string[]).includes(key)) {
        throw new ModelDefinitionError(file, key, `unknown header field (expected one of ${fields.join(', ')})`);
      }
      if (raw.has(key as Field)) throw new ModelDefinitionError(file, key, 'appears twice');
      current = key as Field;
      raw.set(current, field[2]!.trim());
    } else if (/^ {2,}\S/.test(rest) && current) {
      raw.set(current, `${raw.get(current)} ${rest.trim()}`.trim());
    } else {
      throw new ModelDefinitionError(
        file,
        current ?? 'name',
        `unparseable header line ${i + 1}: ${JSON.stringify(line)} (expected "-- field: value" or an indented continuation)`,
      );
    }
  }
  const body = lines.slice(i).join('\n').trim().replace(/;\s*$/, '');

  const name = raw.get('name');
  if (!name) throw new ModelDefinitionError(file, 'name', 'missing (the header must start with "-- name: <model>")');
  if (!identifier.test(name)) throw new ModelDefinitionError(file, 'name', `"${name}" is not a lowercase identifier`);
  const description = raw.get('description');
  if (!description) throw new ModelDefinitionError(file, 'description', 'missing');
  const materialization = raw.get('materialization');
  if (materialization !== 'table' && materialization !== 'view' && materialization !== 'incremental') {
    throw new ModelDefinitionError(
      file,
      'materialization',
      materialization
        ? `unknown materialization "${materialization}" (expected table, view or incremental)`
        : 'missing (table, view or incremental)',
    );
  }
  const incrementalBy = parseIncrementalBy(file, materialization, raw.get('incremental_by'), raw.get('period_facts'));
  if (body === '') throw new ModelDefinitionError(file, 'sql', 'the model has no SQL after its header');
  return {
    header: {
      name,
      description,
      materialization,
      ...(incrementalBy === undefined ? {} : { incrementalBy }),
      grain: parseGrain(file, raw.get('grain')),
      dependsOn: parseList(file, 'depends_on', raw.get('depends_on')),
      tests: parseTests(file, raw.get('tests')),
    },
    body,
  };
}

const PERIOD_KEY = /^\(\s*grain\s*,\s*period\s*\)$/;

function parseIncrementalBy(
  file: string,
  materialization: Materialization,
  by: string | undefined,
  facts: string | undefined,
): IncrementalBy | undefined {
  if (materialization === 'incremental' && !by) {
    throw new ModelDefinitionError(
      file,
      'incremental_by',
      'missing: an incremental model names its lake-day column, or (grain, period)',
    );
  }
  if (materialization !== 'incremental' && by !== undefined) {
    throw new ModelDefinitionError(file, 'incremental_by', 'only incremental models have one');
  }
  const byPeriod = by !== undefined && PERIOD_KEY.test(by);
  if (facts !== undefined && !byPeriod) {
    throw new ModelDefinitionError(file, 'period_facts', 'only models incremental by (grain, period) have them');
  }
  if (by === undefined) return undefined;
  if (byPeriod) {
    // No facts: its rows of a period depend on int_periods' row and on unchanging tables only.
    return { kind: 'period', facts: facts ? splitTopLevel(facts, ',').map((f) => parsePeriodFact(file, f)) : [] };
  }
  if (!identifier.test(by)) {
    throw new ModelDefinitionError(file, 'incremental_by', `"${by}" is not a column name (nor "(grain, period)")`);
  }
  return { kind: 'day', column: by };
}

/** `relation(day: col; dates: col, …; cutoff: col, …)`; `cutoff` may be left out. */
function parsePeriodFact(file: string, text: string): PeriodFact {
  const m = /^([a-z_][a-z0-9_]*)\s*\(([\s\S]*)\)$/.exec(text);
  if (!m) {
    throw new ModelDefinitionError(
      file,
      'period_facts',
      `cannot parse "${text}" (expected relation(day: col; dates: col, …; cutoff: col, …))`,
    );
  }
  const parts = new Map<string, string[]>();
  for (const part of m[2]!.split(';')) {
    const kv = /^\s*(day|dates|cutoff)\s*:(.*)$/s.exec(part);
    if (!kv)
      throw new ModelDefinitionError(
        file,
        'period_facts',
        `"${part.trim()}" in "${text}": expected day:, dates: or cutoff:`,
      );
    if (parts.has(kv[1]!)) throw new ModelDefinitionError(file, 'period_facts', `${kv[1]}: appears twice in "${text}"`);
    parts.set(kv[1]!, parseList(file, 'period_facts', kv[2]!.trim()));
  }
  const day = parts.get('day') ?? [];
  const dates = parts.get('dates') ?? [];
  if (day.length !== 1) throw new ModelDefinitionError(file, 'period_facts', `"${text}": day: names one column`);
  if (dates.length === 0)
    throw new ModelDefinitionError(file, 'period_facts', `"${text}": dates: names at least one column`);
  return { relation: m[1]!, day: day[0]!, dates, cutoff: parts.get('cutoff') ?? [] };
}

function parseList(file: string, field: string, value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  const items = value.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!identifier.test(item)) throw new ModelDefinitionError(file, field, `"${item}" is not a model name`);
  }
  return [...new Set(items)];
}

function parseGrain(file: string, value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  const m = /^\((.*)\)$/.exec(value);
  if (!m) throw new ModelDefinitionError(file, 'grain', `expected "(column, …)", got "${value}"`);
  return parseList(file, 'grain', m[1]);
}

/** Splits on `sep` outside parentheses and quotes. */
function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseTests(file: string, value: string | undefined): DataTestSpec[] {
  if (value === undefined || value === '') return [];
  const tests: DataTestSpec[] = [];
  for (const written of splitTopLevel(value, ';')) {
    const prefixed = /^(warn|error)\s*:\s*([\s\S]*)$/.exec(written);
    const severity: DataTestSeverity = prefixed?.[1] === 'warn' ? 'warn' : 'error';
    const item = prefixed ? prefixed[2]! : written;
    const m = /^([a-z_]+)\s*\(([\s\S]*)\)$/.exec(item);
    if (!m) throw new ModelDefinitionError(file, 'tests', `cannot parse test "${item}" (expected kind(arguments))`);
    const kind = m[1]!;
    const args = m[2]!.trim();
    const column = (c: string): string => {
      const col = c.trim();
      if (!identifier.test(col))
        throw new ModelDefinitionError(file, 'tests', `"${col}" in "${item}" is not a column name`);
      return col;
    };
    switch (kind) {
      case 'unique': {
        const columns = args.split(',').map(column);
        tests.push({ severity, kind, name: `unique(${columns.join(', ')})`, columns });
        break;
      }
      case 'not_null':
        for (const c of args.split(',').map(column)) tests.push({ severity, kind, name: `not_null(${c})`, column: c });
        break;
      case 'accepted_values': {
        const av = /^([^:]+):(.+)$/.exec(args);
        if (!av)
          throw new ModelDefinitionError(file, 'tests', `expected accepted_values(column: a|b|…), got "${item}"`);
        const values = av[2]!.split('|').map((v) => v.trim());
        if (values.some((v) => v === '')) throw new ModelDefinitionError(file, 'tests', `empty value in "${item}"`);
        const c = column(av[1]!);
        tests.push({ severity, kind, name: `accepted_values(${c}: ${values.join('|')})`, column: c, values });
        break;
      }
      case 'relationships': {
        const rel = /^([^\s-]+)\s*->\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$/.exec(args);
        if (!rel)
          throw new ModelDefinitionError(
            file,
            'tests',
            `expected relationships(column -> model.column), got "${item}"`,
          );
        const c = column(rel[1]!);
        tests.push({
          severity,
          kind,
          name: `relationships(${c} -> ${rel[2]}.${rel[3]})`,
          column: c,
          toModel: rel[2]!,
          toColumn: rel[3]!,
        });
        break;
      }
      case 'expression':
        if (args === '') throw new ModelDefinitionError(file, 'tests', 'expression() needs a SQL condition');
        tests.push({ severity, kind, name: `expression(${args})`, expression: args });
        break;
      default:
        throw new ModelDefinitionError(
          file,
          'tests',
          `unknown test "${kind}" (expected unique, not_null, accepted_values, relationships or expression)`,
        );
    }
  }
  return tests;
}
