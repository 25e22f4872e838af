/**
 * A mapping file, loaded and compiled for the record path: each canonical field becomes one closure over precompiled
 * paths, code tables and time formats, so mapping a record allocates only the row it returns.
 */

import type { Feed } from '../../connectors/types.js';
import { type DataResource, type DatasetName, type Device, datasets, type Region } from '../../schemas/index.js';
import { CityhubError } from '../errors.js';
import type { ReasonCode, Rejection } from '../normalize/dead-letter.js';
import {
  type MapOutcome,
  type MappingContext,
  MappingRejection,
  type SourceMapping,
} from '../normalize/mappings/types.js';
import { parseSourceTime } from '../normalize/time.js';
import { keyedHash, parseHashToken } from '../privacy/keyed-hash.js';
import { scrubPersonalText } from '../privacy/personal-text.js';
import { type CodeTable, type CodeTableSpec, loadCodeTableSync, UNMAPPED } from './code-table.js';
import { compilePath, type PathStep, valueAt } from './path.js';
import type { FieldRule, MappingSpec } from './spec.js';
import { type CompiledTimeFormat, compileTimeFormat, TimeParseFailure } from './time-format.js';
import { convert, type UnitConversion, unitConversion } from './units.js';

/** The reference data a mapping's catalog lookups read; built once per compile. */
export interface MappingCatalogs {
  regions: readonly Region[];
  devices: readonly Device[];
  data_resources: readonly DataResource[];
}

/** A mapping file that cannot be compiled: an unknown zone or format, a code table that does not load. */
export class MappingCompileError extends CityhubError {
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    problem: string,
    options: { cause?: unknown } = {},
  ) {
    super(`mapping ${file}${field ? ` field ${field}` : ''}: ${problem}`, options);
  }
}

type Read = (record: unknown, context: MappingContext) => unknown;
export type FieldStep = (record: unknown, context: MappingContext) => unknown;

/** A mapping file read and validated, with its code tables loaded: what compileMapping needs besides catalogs. */
export interface LoadedMapping {
  file: string;
  feed: Feed;
  spec: MappingSpec;
  codeTables: ReadonlyMap<string, CodeTable>;
}

/** Loads every code table a mapping names (files relative to the mapping's folder). */
export function loadMappingTables(file: string, feed: Feed, spec: MappingSpec, baseDir: string): LoadedMapping {
  const codeTables = new Map<string, CodeTable>();
  const load = (key: string, table: CodeTableSpec) => {
    try {
      codeTables.set(key, loadCodeTableSync(table, baseDir));
    } catch (error) {
      throw new MappingCompileError(file, key, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
  };
  for (const [name, rule] of Object.entries(spec.fields)) if (rule.codes !== undefined) load(name, rule.codes);
  if (spec.measurement) load('measurement.canonical_units', spec.measurement.canonical_units);
  return { file, feed, spec, codeTables };
}

/** Compiles a loaded mapping into the record-path mapping the normalizer runs. */
export function compileMapping(loaded: LoadedMapping, catalogs: MappingCatalogs): SourceMapping {
  const { spec, file } = loaded;
  const dataset = spec.dataset as DatasetName;
  // Rows are built by canonical field name: a name the dataset does not have (a typo, `__proto__`) is refused here,
  // once, instead of failing every record.
  const canonical = datasets[dataset].shape as Record<string, unknown>;
  const named = [
    ...Object.keys(spec.fields),
    ...(spec.measurement ? [spec.measurement.value, spec.measurement.unit, spec.measurement.metric] : []),
  ];
  for (const name of named) {
    if (!Object.hasOwn(canonical, name))
      throw new MappingCompileError(
        file,
        name,
        `not a field of ${dataset} (its fields: ${Object.keys(canonical).join(', ')})`,
      );
  }
  const lookups = new CatalogLookups(catalogs);
  const fieldSources: Record<string, string> = {};
  const names: string[] = [];
  const steps: FieldStep[] = [];
  for (const [name, rule] of Object.entries(spec.fields)) {
    fieldSources[name] = describeSource(rule);
    names.push(name);
    try {
      steps.push(compileField(rule, spec, loaded.codeTables.get(name), lookups));
    } catch (error) {
      if (error instanceof MappingCompileError) throw error;
      throw new MappingCompileError(file, name, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
  }
  const measure = spec.measurement
    ? compileMeasurement(spec.measurement, loaded.codeTables.get('measurement.canonical_units')!)
    : undefined;
  const recordsAt = spec.records === undefined ? undefined : compilePath(spec.records);

  const mapRecord = (record: unknown, context: MappingContext): Record<string, unknown> => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < steps.length; i++) {
      const value = steps[i]!(record, context);
      if (value !== undefined) row[names[i]!] = value;
    }
    measure?.(row);
    return row;
  };

  return {
    feed: loaded.feed,
    personal: spec.personal,
    loaded,
    fieldSources,
    countRecords: recordsAt
      ? (payload) => {
          const records = valueAt(payload, recordsAt);
          return Array.isArray(records) ? records.length : 1;
        }
      : undefined,
    map(payload, context): MapOutcome {
      if (!recordsAt) return { records: 1, rejections: [], rows: [{ dataset, row: mapRecord(payload, context) }] };
      const records = valueAt(payload, recordsAt);
      if (!Array.isArray(records))
        throw new MappingRejection('invalid', spec.records!, `expected an array of records at ${spec.records}`);
      const rows: MapOutcome['rows'] = [];
      const rejections: Rejection[] = [];
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        try {
          if (record === null || typeof record !== 'object' || Array.isArray(record))
            throw new MappingRejection('invalid', `${spec.records}[${i}]`, 'expected a JSON object');
          rows.push({ dataset, row: mapRecord(record, context) });
        } catch (error) {
          if (!(error instanceof MappingRejection)) throw error;
          rejections.push({
            reason_code: error.reason_code,
            issues: [{ path: error.path, message: error.message }],
            line: i + 1,
            raw: JSON.stringify(record) ?? 'undefined',
          });
        }
      }
      return { records: records.length, rejections, rows };
    },
  };
}

function describeSource(rule: FieldRule): string {
  const at = rule.segment === undefined ? '' : `[${rule.segment}]`;
  if (rule.header !== undefined) return `header ${rule.header}${at}`;
  if (rule.column !== undefined) return rule.column + at;
  if (rule.const !== undefined) return `const ${JSON.stringify(rule.const)}`;
  if (Array.isArray(rule.path)) return rule.path.join('+') + at;
  return (rule.path ?? 'default') + at;
}

/** The value a rule reads, cut to its `segment` when it names one. */
function compileRead(rule: FieldRule): Read {
  const read = compileWholeRead(rule);
  const index = rule.segment;
  if (index === undefined) return read;
  const separator = rule.separator;
  return (record, context) => {
    const value = read(record, context);
    if (typeof value !== 'string') return value === undefined || value === null ? value : undefined;
    const parts = value.split(separator);
    return parts[index < 0 ? parts.length + index : index];
  };
}

function compileWholeRead(rule: FieldRule): Read {
  if (rule.header !== undefined) {
    const name = rule.header;
    return (_record, context) => (Object.hasOwn(context.headers, name) ? context.headers[name] : undefined);
  }
  if (rule.const !== undefined) {
    const value = rule.const;
    return () => value;
  }
  if (rule.column !== undefined) {
    const column = rule.column;
    return (record) =>
      record !== null && typeof record === 'object' && Object.hasOwn(record, column)
        ? (record as Record<string, unknown>)[column]
        : undefined;
  }
  if (rule.path === undefined) return () => undefined;
  if (typeof rule.path === 'string') {
    const steps = compilePath(rule.path);
    return (record) => valueAt(record, steps);
  }
  const parts: PathStep[][] = rule.path.map(compilePath);
  const join = rule.join;
  return (record) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const part = valueAt(record, parts[i]!);
      if (part === undefined || part === null || part === '') return undefined;
      if (typeof part !== 'string' && typeof part !== 'number' && typeof part !== 'boolean') return undefined;
      out = i === 0 ? String(part) : `${out}${join}${String(part)}`;
    }
    return out;
  };
}

/**
 * The record-path step of one field, alone: the bulk path runs it on an empty record to fold a `const` or a
 * `default` into a SQL literal, so both paths give the same value by construction.
 */
export function compileFieldStep(rule: FieldRule, spec: MappingSpec, codes: CodeTable | undefined): FieldStep {
  return compileField(rule, spec, codes, new CatalogLookups({ regions: [], devices: [], data_resources: [] }));
}

/** Order of a field's steps (docs/mappings.md): read → empty is absent → default → codes → lookup → cast → scale → time → personal. */
function compileField(
  rule: FieldRule,
  spec: MappingSpec,
  codes: CodeTable | undefined,
  lookups: CatalogLookups,
): FieldStep {
  const read = compileRead(rule);
  const source = describeSource(rule);
  const fallback = rule.default;
  const lookup = rule.lookup ? lookups.resolver(rule.lookup) : undefined;
  const cast = rule.type && rule.type !== 'time' ? casts[rule.type] : undefined;
  const multiply = rule.multiply_by;
  const divide = rule.divide_by;
  const isTime = rule.type === 'time' || rule.time !== undefined;
  const parseTime = isTime ? compileTimes(rule.time ?? 'auto', rule.time_zone ?? spec.time_zone) : undefined;
  const personal = rule.personal;
  return (record, context) => {
    let value = read(record, context);
    if (value === '' || value === null) value = undefined;
    if (value === undefined) {
      if (fallback === undefined) return undefined;
      value = fallback;
    }
    if (codes) {
      const mapped = codes.lookup(value);
      if (mapped === UNMAPPED) throw new MappingRejection('unmapped_code', source, codes.unmappedReason(value));
      value = mapped;
    }
    if (lookup) value = lookup(value, source);
    if (cast) value = cast(value, source);
    if (typeof value === 'number') {
      if (multiply !== undefined) value *= multiply;
      if (divide !== undefined) value /= divide;
    }
    if (parseTime) value = parseTime(value, source);
    if (personal) value = applyPersonal(personal, value, context);
    return value;
  };
}

/** A cast that fails passes nothing silently: the record is dead-lettered naming the source path. */
const casts: Record<'text' | 'number' | 'integer' | 'boolean', (value: unknown, source: string) => unknown> = {
  text: (value) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value),
  number: (value, source) => {
    if (typeof value === 'number') return value;
    const n = typeof value === 'string' ? numberOf(value) : Number.NaN;
    if (Number.isNaN(n)) throw new MappingRejection('invalid', source, `not a number: ${preview(value)}`);
    return n;
  },
  integer: (value, source) => {
    const n = typeof value === 'number' ? value : typeof value === 'string' ? numberOf(value) : Number.NaN;
    if (!Number.isInteger(n)) throw new MappingRejection('invalid', source, `not an integer: ${preview(value)}`);
    return n;
  },
  boolean: (value, source) => {
    if (typeof value === 'boolean') return value;
    const b = booleans.get(typeof value === 'string' ? value.trim().toLowerCase() : String(value));
    if (b === undefined) throw new MappingRejection('invalid', source, `not a yes/no value: ${preview(value)}`);
    return b;
  },
};

/** The yes/no words of the boolean cast (lower case, trimmed); the bulk path's SQL reads the same list. */
export const booleans: ReadonlyMap<string, boolean> = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
  ['是', true],
  ['否', false],
  ['y', true],
  ['n', false],
  ['yes', true],
  ['no', false],
]);

/**
 * Numeric text as JSON writes numbers (no hex, no blanks, no thousands separators: those are not numbers here). The
 * same pattern in JS and in DuckDB's RE2 (\d is ASCII in both): the bulk path's SQL matches it.
 */
export const NUMERIC_TEXT = '-?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?';
const numericText = new RegExp(`^${NUMERIC_TEXT}$`);

function numberOf(text: string): number {
  const trimmed = text.trim();
  return numericText.test(trimmed) ? Number(trimmed) : Number.NaN;
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return JSON.stringify((text ?? String(value)).slice(0, 64));
}

function compileTimes(time: string | string[], zone: string): (value: unknown, source: string) => unknown {
  const formats: CompiledTimeFormat[] = [];
  let auto = false;
  for (const format of Array.isArray(time) ? time : [time]) {
    if (format === 'auto') auto = true;
    else formats.push(compileTimeFormat(format, zone));
  }
  const autoOffsetMs = auto ? fixedOffsetMs(zone) : 0;
  // Per-record hot path: a batch of readings often shares its timestamp, so the last conversion is remembered.
  let lastSource: unknown;
  let lastUtc: string | undefined;
  return (value, source) => {
    if (value === lastSource && lastUtc !== undefined) return lastUtc;
    let reason = 'not a valid time';
    for (const format of formats) {
      const parsed = format.parse(value);
      if (!(parsed instanceof TimeParseFailure)) return remember(value, parsed);
      reason = parsed.reason;
    }
    if (auto) {
      const ms = parseSourceTime(value, autoOffsetMs);
      if (!Number.isNaN(ms)) return remember(value, new Date(ms).toISOString());
    }
    throw new MappingRejection('implausible_time', source, `${reason}: ${JSON.stringify(value)}`);
  };
  function remember(value: unknown, utc: string): string {
    lastSource = value;
    lastUtc = utc;
    return utc;
  }
}

/** `auto` reads local times with one offset: only zones without daylight saving qualify. */
function fixedOffsetMs(zone: string): number {
  const offset = fixedZoneOffsetMs(zone);
  if (offset === undefined)
    throw new CityhubError(`time format auto needs a zone without daylight saving; ${zone} has it: give a format`);
  return offset;
}

/** A zone's offset from UTC in ms when it has one all year (no daylight saving), else undefined. */
export function fixedZoneOffsetMs(zone: string): number | undefined {
  const offsets = new Set<number>();
  for (const month of [0, 6]) {
    const at = Date.UTC(2026, month, 1);
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    }).formatToParts(at);
    const part = (type: string) => Number(local.find((p) => p.type === type)!.value);
    offsets.add(Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute')) - at);
  }
  return offsets.size === 1 ? offsets.values().next().value : undefined;
}

function applyPersonal(kind: 'hash' | 'hash_key_id' | 'redact', value: unknown, context: MappingContext): unknown {
  if (kind === 'redact') return typeof value === 'string' ? scrubPersonalText(value) : value;
  // The masker replaced the value with a token before the bus; a value still in clear is hashed with the current key.
  const token = parseHashToken(value);
  if (token) return kind === 'hash' ? token.hash : token.keyId;
  if ((typeof value === 'string' && value.length > 0) || typeof value === 'number') {
    return kind === 'hash' ? keyedHash({ id: context.keyId, key: context.salt }, String(value)) : context.keyId;
  }
  return undefined;
}

function compileMeasurement(
  m: NonNullable<MappingSpec['measurement']>,
  canonicalUnits: CodeTable,
): (row: Record<string, unknown>) => void {
  const conversions = new Map<string, UnitConversion | null>();
  return (row) => {
    const unit = row[m.unit];
    const metric = row[m.metric];
    if (typeof unit !== 'string' || typeof metric !== 'string') return;
    const canonical = canonicalUnits.lookup(metric);
    // A metric without a canonical unit is left for the schema to judge.
    if (typeof canonical !== 'string') return;
    const key = `${unit}\u0001${canonical}`;
    let conversion = conversions.get(key);
    if (conversion === undefined) {
      conversion = unitConversion(unit, canonical) ?? null;
      conversions.set(key, conversion);
    }
    if (conversion === null)
      throw new MappingRejection('unmapped_code', m.unit, `unknown unit "${unit}" for metric ${metric}`);
    row[m.unit] = canonical;
    const value = row[m.value];
    if (typeof value === 'number') row[m.value] = convert(value, conversion);
  };
}

/** Catalog lookups, built once per compile; each miss is a dead letter naming the value. */
class CatalogLookups {
  constructor(private readonly catalogs: MappingCatalogs) {}

  resolver(kind: 'region_by_name' | 'device_region' | 'resource_region' | 'resource_department') {
    const table = new Map<string, string | null>();
    let reason: ReasonCode = 'unknown_region';
    let what: string;
    if (kind === 'region_by_name') {
      what = 'region name';
      for (const region of this.catalogs.regions) {
        // A name two regions share (鼓楼区 is in several cities) resolves to neither.
        table.set(region.name, table.has(region.name) ? null : region.code);
      }
    } else if (kind === 'device_region') {
      what = 'device';
      for (const device of this.catalogs.devices) table.set(device.device_id, device.region_code);
    } else {
      what = 'resource';
      if (kind === 'resource_department') reason = 'unmapped_code';
      for (const r of this.catalogs.data_resources)
        table.set(r.resource_code, kind === 'resource_region' ? r.region_code : r.department_code);
    }
    return (value: unknown, source: string): unknown => {
      if (typeof value !== 'string' && typeof value !== 'number') return value;
      const found = table.get(String(value).trim());
      if (found === undefined)
        throw new MappingRejection(reason, source, `${what} ${JSON.stringify(value)} is not in the catalog`);
      if (found === null)
        throw new MappingRejection(reason, source, `${what} ${JSON.stringify(value)} names more than one region`);
      return found;
    };
  }
}

export type { Feed };
