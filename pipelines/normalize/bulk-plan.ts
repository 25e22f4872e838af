/**
 * The bulk path's statement for one source mapping (issue 12): DuckDB reads a flush's scratch file of raw payloads,
 * maps them (bulk-sql.ts), applies every rule of the canonical schema (schema-sql.ts), the region catalog and the
 * time plausibility, and marks each row `_ok` only where the record path is certain to land the same row. Rows not
 * `_ok` go to the record path, which alone writes dead letters; dedupe stays with the normalizer's key window, fed
 * the `_key` of each `_ok` row in bus order (a key holding a line break is not `_ok`: keys are read back joined by one).
 *
 * Scratch file: one line per payload, `{"a":[seq,partition,offset,meta,kinds,classes],"v":<payload>}`
 * (bulk-eligible.ts lets through only payloads that are one object, with distinct keys in each of its objects and no
 * line break, so the wrapper holds them as they are); `meta` indexes the flush's (source, ingested-at) pairs;
 * `kinds` holds the kinds of the top-level values the mapping reads (bulk-sql.ts ValueKind), `classes` (only where
 * readsStringClasses) the classes of those that are strings (StringClass): a field read straight from one is checked
 * by its class. DuckDB parses each line once, reading those top-level values as text (those only read as numbers, as
 * DOUBLE; any others as JSON); a line it cannot parse gives no row, and its message goes to the record path like any
 * row that is not `_ok`.
 */
import { type DatasetName, datasetMeta } from '../../schemas/index.js';
import { type DuckType, datasetColumns, naturalKeyTextSql } from '../land/columns.js';
import {
  type BulkMeasurement,
  compileBulkSql,
  jsonPath,
  type MappingSql,
  VALUE,
  ValueKind,
  ValueTests,
} from '../mapping/bulk-sql.js';
import type { LoadedMapping } from '../mapping/compile.js';
import { sqlDouble, sqlIdentifier, sqlString } from '../mapping/sql-literal.js';
import { convertSql } from '../mapping/units.js';
import type { KindedTops } from './bulk-eligible.js';
import { schemaSql } from './schema-sql.js';

export interface BulkPlanOptions {
  regionCodes: ReadonlySet<string>;
  /** Payloads longer than this never take the bulk path (bounds a scratch line). */
  maxPayloadBytes: number;
  minEventMs: number;
  maxFutureSkewMs: number;
}

/** Where a flush's bulk rows come from and where their landing columns come from. */
export interface BulkInput {
  file: string;
  topic: string;
  /** Indexed by each line's meta number. */
  metas: readonly { source: string; ingestedAt: string }[];
  /**
   * The clock when the flush maps its messages (the record path judges the flush's other messages then too): the
   * latest plausible time is judged from it.
   */
  now: number;
}

/**
 * Between the natural keys of a chunk's `_ok` rows when they are read back as one text (one string to decode, not one
 * per row): a row whose key holds it is left to the record path.
 */
export const KEY_SEPARATOR = '\n';
export const KEY_SEPARATOR_SQL = `chr(${KEY_SEPARATOR.charCodeAt(0)})`;

export type BulkPlanResult = { ok: true; plan: BulkPlan } | { ok: false; reason: string };

/**
 * Which path a mapping's records take: its bulk plan, or why the record path. The hub's normalizers and `config
 * check` (config/ingest-paths.ts) both decide here, so what `config check` says is what `run` does.
 */
export function bulkPathOf(
  loaded: LoadedMapping | undefined,
  feed: { bulk: boolean },
  options: BulkPlanOptions,
): BulkPlanResult {
  if (!feed.bulk) return { ok: false, reason: 'landing.bulk is off' };
  return BulkPlan.of(loaded, options);
}

let plans = 0;

export class BulkPlan {
  readonly dataset: DatasetName;
  /** The temp table of region codes this plan's statements join (created once per connection by setupSql). */
  private readonly regionsTable: string;
  /** The top-level keys whose values' kinds a scratch line carries (bulk-eligible.ts bulkKinds), by slot. */
  readonly kindedTops: KindedTops;
  /**
   * Per field checked by its string's class (StringClass), the path whose class it is; a scratch line then carries
   * the classes after the kinds (its `a`'s last number). A field the measurement rewrites is not its path's string.
   */
  private readonly classOf = new Map<string, number>();
  /** The paths whose classes its statement reads: those of classOf and the auto times (MappingSql.timeClassed). */
  private readonly classPaths: number[];
  /** The kind slots whose strings are classed word, digits or none, as bits (bulk-eligible.ts bulkKinds `classed`). */
  readonly classedSlots: number = 0;
  /** The kind slots whose strings are classed localTime when they have its form (bulkKinds `timed`). */
  readonly timedSlots: number = 0;

  private constructor(
    private readonly mapping: MappingSql,
    private readonly checks: ReturnType<typeof schemaSql> & { ok: true },
    private readonly options: BulkPlanOptions,
  ) {
    this.dataset = mapping.dataset;
    this.regionsTable = `bulk_regions_${++plans}`;
    this.kindedTops = mapping.kindedTops.map((top) => Buffer.from(top));
    const rewritten = new Set(mapping.measurement ? [mapping.measurement.unit, mapping.measurement.value] : []);
    for (const field of mapping.fields) {
      const { textOf } = field;
      if (textOf === undefined) continue;
      if (!checks.fields.get(field.name)?.byClass || rewritten.has(field.name)) continue;
      this.classOf.set(field.name, textOf);
      this.classedSlots |= 1 << mapping.kindSlots[textOf - 1]!;
    }
    for (const k of mapping.timeClassed) this.timedSlots |= 1 << mapping.kindSlots[k - 1]!;
    this.classPaths = [...new Set([...this.classOf.values(), ...mapping.timeClassed])];
  }

  /** Whether its scratch lines carry their strings' classes (bulk-eligible.ts lastStringClasses). */
  get readsStringClasses(): boolean {
    return this.classPaths.length > 0;
  }

  /** The plan of a loaded mapping file, or why its records stay on the record path. */
  static of(loaded: LoadedMapping | undefined, options: BulkPlanOptions): BulkPlanResult {
    if (loaded === undefined) return { ok: false, reason: 'a built-in mapping written in code' };
    const mapping = compileBulkSql(loaded);
    if (!mapping.ok) return mapping;
    const checks = schemaSql(mapping.sql.dataset);
    if (!checks.ok) return checks;
    const { natural_key: naturalKey, event_time: eventTime } = datasetMeta(mapping.sql.dataset);
    const types = new Map(datasetColumns(mapping.sql.dataset).map((c) => [c.name, c.type]));
    for (const field of naturalKey) {
      const type = types.get(field);
      if (type !== 'VARCHAR' && type !== 'TIMESTAMPTZ' && type !== 'BOOLEAN')
        return { ok: false, reason: `natural key field ${field} is a ${type} (its text differs between JS and SQL)` };
    }
    if (types.get(eventTime) !== 'TIMESTAMPTZ') return { ok: false, reason: `event time ${eventTime} is not a time` };
    const tops = new Map<string, string>();
    for (const steps of mapping.sql.paths) {
      const top = steps[0] as string;
      const folded = top.toLowerCase();
      if (tops.has(folded) && tops.get(folded) !== top)
        return { ok: false, reason: `keys ${top} and ${tops.get(folded)} differ only in case (DuckDB struct fields)` };
      tops.set(folded, top);
    }
    return { ok: true, plan: new BulkPlan(mapping.sql, checks, options) };
  }

  /** Statements to run once on a connection before the plan's first flush there. */
  setupSql(): string[] {
    const codes = [...this.options.regionCodes].map(sqlString);
    const list =
      codes.length === 0 ? 'select NULL::VARCHAR as code limit 0' : `select unnest([${codes.join(', ')}]) as code`;
    return [`create or replace temp table ${sqlIdentifier(this.regionsTable)} as ${list}`];
  }

  /**
   * A query over the scratch file: `seq`, `_ok`, `_key`, `dt` (the Shanghai date, a DATE: no text per row to store
   * and parse back at the write) and the dataset's columns (landing columns included) for every line, in any order.
   */
  selectSql(input: BulkInput): string {
    const m = this.mapping;
    const columns = datasetColumns(this.dataset);
    const types = new Map<string, DuckType>(columns.map((c) => [c.name, c.type]));
    const { natural_key: naturalKey, event_time: eventTime } = datasetMeta(this.dataset);
    const is = new ValueTests(m.kindSlots, new Set(m.numberPaths));
    const tops = [...new Set(m.paths.map((steps) => steps[0] as string))];
    const kinded = new Set(m.kindedTops);
    const numbers = new Set(m.numberPaths.map((k) => m.paths[k - 1]![0] as string));
    // Kinded keys are read as text (those only read as numbers, as DOUBLE), their kinds from the line's `k`
    // (bulk-eligible.ts); any other key as JSON.
    const typeOf = (top: string) => (numbers.has(top) ? 'DOUBLE' : kinded.has(top) ? 'VARCHAR' : 'JSON');
    const struct = `STRUCT(${tops.map((top) => `${sqlIdentifier(top)} ${typeOf(top)}`).join(', ')})`;
    const kindOf = (top: string) => `((k >> ${3 * m.kindedTops.indexOf(top)}) & 7)`;
    const valueAt = (steps: (string | number)[]) => {
      const top = steps[0] as string;
      const at = `v.${sqlIdentifier(top)}`;
      if (steps.length === 1) return at;
      const extract = `json_extract(${at}, ${sqlString(jsonPath(steps.slice(1)))})`;
      // A kinded key's text is a string's content when it is one: only an object's or an array's text is JSON.
      return kinded.has(top)
        ? `case when ${kindOf(top)} in (${ValueKind.object}, ${ValueKind.array}) then ${extract} end`
        : extract;
    };
    const columnsRead = m.paths.map((steps, i) =>
      m.kindSlots[i]! >= 0
        ? `${valueAt(steps)} as _s${i + 1}, ${kindOf(steps[0] as string)} as _k${i + 1}`
        : `cast(${valueAt(steps)} as VARCHAR) as _j${i + 1}`,
    );
    // Any other value's text, read off its (minified) JSON text without parsing it again: a string's content is the
    // text between its quotes unless it holds an escape; any other value's text is its JSON.
    const columnsTyped = m.paths.map((_, i) => {
      if (m.kindSlots[i]! >= 0) return `_s${i + 1}, _k${i + 1}`;
      const j = `_j${i + 1}`;
      return `${j}, case when ascii(${j}) = 34 then (case when contains(${j}, '\\') then ${j} ->> '$' else substring(${j}, 2, length(${j}) - 2) end) else ${j} end as _s${i + 1}`;
    });
    // A parent missing or null gives its children no value on both paths (path.ts valueAt): they are absent. One
    // present must be of its kind. An object has no repeated key (JSON.parse keeps the last, json_extract not): the
    // bulk path takes no payload with one (bulk-eligible.ts).
    const shapes = [
      ...m.objectPaths.map((k) => `(${is.missingOrNull(k)} or ${is.object(k)})`),
      ...m.arrayPaths.map((k) => `(${is.missingOrNull(k)} or ${is.array(k)})`),
    ];
    const fieldValues = m.fields.map((f) => `${f.value} as ${sqlIdentifier(`f_${f.name}`)}`);
    const fieldSure = m.fields.map((f) => `(${f.sure.replaceAll(VALUE, sqlIdentifier(`f_${f.name}`))})`);
    const measured = this.measured();
    const posted = m.fields.map((f) => {
      const post = measured?.fields.get(f.name);
      return `${post ?? sqlIdentifier(`f_${f.name}`)} as ${sqlIdentifier(f.name)}`;
    });
    const checks = m.fields.map((f) => {
      const check = this.checks.fields.get(f.name)!;
      const x = sqlIdentifier(f.name);
      const k = this.classOf.get(f.name);
      const sql = k === undefined ? check.check(x) : check.byClass!(x, `_t${k}`);
      return check.optional ? `(${x} is null or ${sql})` : `(${x} is not null and ${sql})`;
    });
    // The classes of the paths fields are checked by, carried through to the checks.
    const classPaths = this.classPaths;
    const classes = classPaths.map((k) => `, _t${k}`).join('');
    const classesRead = classPaths.map((k) => `, ((c >> ${2 * m.kindSlots[k - 1]!}) & 3) as _t${k}`).join('');
    const latest = input.now + this.options.maxFutureSkewMs;
    const plausible = m.fields
      .filter((f) => f.type === 'TIMESTAMPTZ')
      .map((f) => {
        const x = sqlIdentifier(f.name);
        const upper = f.name === 'deadline_at' ? '' : ` and epoch_ms(${x}) <= ${latest}`;
        return `(${x} is null or (epoch_ms(${x}) >= ${this.options.minEventMs}${upper}))`;
      });
    const region = `region_code in (select code from ${sqlIdentifier(this.regionsTable)})`;
    // One concat(), not a chain of ||: each || made a string of its own per row.
    const key = `concat(${naturalKey.map((field) => naturalKeyTextSql(sqlIdentifier(field), types.get(field))).join(', chr(1), ')})`;
    const event = sqlIdentifier(eventTime);
    const sources = input.metas.map((meta) => sqlString(meta.source)).join(', ');
    const ingested = input.metas.map((meta) => `${sqlString(meta.ingestedAt)}::TIMESTAMPTZ`).join(', ');
    const canonical = columns.filter((c) => !c.name.startsWith('_')).map((c) => sqlIdentifier(c.name));
    const objectBytes = this.options.maxPayloadBytes + 1024;
    const columns_ = `{'a': 'BIGINT[]', 'v': ${sqlString(struct)}}`;
    const read = `read_json(${sqlString(input.file)}, format = 'newline_delimited', columns = ${columns_}, ignore_errors = true, maximum_object_size = ${objectBytes})`;
    const lines = `(select a[1] as s, a[2]::INTEGER as p, a[3] as o, a[4]::INTEGER as m, a[5] as k${classPaths.length > 0 ? ', a[6] as c' : ''}, v from ${read})`;
    return `
      with json as (select s as seq, p as _part_no, o as _off, m as _meta${classesRead}, ${columnsRead.join(', ')} from ${lines} where s is not null),
      typed as (select seq, _part_no, _off, _meta${classes}, ${columnsTyped.join(', ')} from json),
      computed as (select *${m.computed.map((sql, i) => `, ${sql} as _c${i + 1}`).join('')} from typed),
      valued as (select *, ${fieldValues.join(', ')} from computed),
      fielded as (
        select seq, _part_no, _off, _meta${classes}, ${shapes.length > 0 ? shapes.join(' and ') : 'true'} and ${fieldSure.join(' and ')} as _sure, ${m.fields.map((f) => sqlIdentifier(`f_${f.name}`)).join(', ')}
        from valued
      ),
      mapped as (
        select seq, _part_no, _off, _meta${classes}, _sure${measured ? ` and ${measured.sure}` : ''} as _sure, ${posted.join(', ')}
        from ${measured ? measured.from : 'fielded'}
      ),
      checked as (
        select *, coalesce(_sure and ${[...checks, region, ...plausible].join(' and ')}, false) as _checked from mapped
      ),
      keyed as (select *, case when _checked then ${key} end as _key from checked)
      select seq, coalesce(_checked and not contains(_key, ${KEY_SEPARATOR_SQL}), false) as _ok, _key,
        case when _checked then cast(make_timestamp(epoch_us(${event}) + ${8 * 3600 * 1_000_000}) as DATE) end as dt,
        ${canonical.join(', ')},
        [${sources}][_meta + 1] as _source, [${ingested}][_meta + 1] as _ingested_at, ${sqlString(input.topic)} as _topic,
        _part_no as _partition, _off as _offset
      from keyed`;
  }

  /**
   * A measurement's conversion (compile.ts compileMeasurement): with a unit and a metric both present, the unit
   * becomes the metric's canonical unit and the value is converted, exactly as units.ts convert() computes it; a
   * unit with no conversion to it (or a metric without one) is left to the record path. The conversions are CASE
   * branches by canonical unit, then by unit: a hash join with their table cost four times as much per row.
   */
  private measured(): { from: string; sure: string; fields: Map<string, string> } | undefined {
    const ms = this.mapping.measurement;
    if (!ms) return undefined;
    const unit = sqlIdentifier(`f_${ms.unit}`);
    const metric = sqlIdentifier(`f_${ms.metric}`);
    const value = sqlIdentifier(`f_${ms.value}`);
    const both = `(${unit} is not null and ${metric} is not null)`;
    const byCanonical = new Map<string, BulkMeasurement['conversions']>();
    for (const c of ms.conversions) {
      const list = byCanonical.get(c.to);
      if (list) list.push(c);
      else byCanonical.set(c.to, [c]);
    }
    // A number of each conversion from the unit to the canonical unit, `otherwise` where there is none; `only` keeps
    // the conversions worth a branch (the factor: all of them, NULL without one; the shift: the non-zero ones, else 0).
    const pick = (
      of: (c: BulkMeasurement['conversions'][number]) => number,
      otherwise: string,
      only: (c: BulkMeasurement['conversions'][number]) => boolean,
    ) => {
      const branches: string[] = [];
      for (const [to, list] of byCanonical) {
        const kept = list.filter(only);
        if (kept.length === 0) continue;
        const inner = kept.map((c) => `when ${sqlString(c.from)} then ${sqlDouble(of(c))}`).join(' ');
        branches.push(`when ${sqlString(to)} then (case ${unit} ${inner} else ${otherwise} end)`);
      }
      return branches.length === 0 ? otherwise : `(case _canonical ${branches.join(' ')} else ${otherwise} end)`;
    };
    const factor = pick(
      (c) => c.factor,
      'NULL',
      () => true,
    );
    const shift = pick(
      (c) => c.offset,
      '0::DOUBLE',
      (c) => c.offset !== 0,
    );
    const converted = `(case when _factor = 1 and _shift = 0 then ${value} else ${convertSql(value, '_factor', '_shift')} end)`;
    return {
      from: `(select *, ${factor} as _factor, ${shift} as _shift from (select *, ${ms.canonical} as _canonical from fielded))`,
      sure: `(not ${both} or _factor is not null)`,
      fields: new Map([
        [ms.unit, `(case when ${both} then _canonical else ${unit} end)`],
        [ms.value, `(case when ${both} and ${value} is not null then ${converted} else ${value} end)`],
      ]),
    };
  }
}
