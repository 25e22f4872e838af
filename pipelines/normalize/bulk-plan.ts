/**
 * The bulk path's statement for one source mapping (issue 12): DuckDB reads a flush's scratch file of raw payloads,
 * maps them (bulk-sql.ts), applies every rule of the canonical schema (schema-sql.ts), the region catalog and the
 * time plausibility, and marks each row `_ok` only where the record path is certain to land the same row. Rows not
 * `_ok` go to the record path, which alone writes dead letters; dedupe stays with the normalizer's key window, fed
 * the `_key` of each `_ok` row in bus order.
 *
 * Scratch file: one line per payload, `seq \t partition \t offset \t meta \t payload` (bulk-eligible.ts keeps tabs
 * and line breaks out of payloads); `meta` indexes the flush's (source, ingested-at) pairs.
 */
import type { DatasetName } from '../../schemas/index.js';
import { type Column, type DuckType, datasetColumns } from '../land/columns.js';
import { compileBulkSql, datasetKeys, type MappingSql } from '../mapping/bulk-sql.js';
import type { LoadedMapping } from '../mapping/compile.js';
import { sqlIdentifier, sqlString } from '../mapping/sql-literal.js';
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
  /** The record path's clock at the first message of the flush: the latest plausible time is judged from it. */
  now: number;
}

export type BulkPlanResult = { ok: true; plan: BulkPlan } | { ok: false; reason: string };

let plans = 0;

export class BulkPlan {
  readonly dataset: DatasetName;
  /** The temp table of region codes this plan's statements join (created once per connection by setupSql). */
  private readonly regionsTable: string;

  private constructor(
    private readonly mapping: MappingSql,
    private readonly checks: ReturnType<typeof schemaSql> & { ok: true },
    private readonly options: BulkPlanOptions,
  ) {
    this.dataset = mapping.dataset;
    this.regionsTable = `bulk_regions_${++plans}`;
  }

  /** The plan of a loaded mapping file, or why its records stay on the record path. */
  static of(loaded: LoadedMapping | undefined, options: BulkPlanOptions): BulkPlanResult {
    if (loaded === undefined) return { ok: false, reason: 'a built-in mapping written in code' };
    const mapping = compileBulkSql(loaded);
    if (!mapping.ok) return mapping;
    const checks = schemaSql(mapping.sql.dataset);
    if (!checks.ok) return checks;
    const { naturalKey, eventTime } = datasetKeys(mapping.sql.dataset);
    const types = new Map(datasetColumns(mapping.sql.dataset).map((c) => [c.name, c.type]));
    for (const field of naturalKey) {
      const type = types.get(field);
      if (type !== 'VARCHAR' && type !== 'TIMESTAMPTZ' && type !== 'BOOLEAN')
        return { ok: false, reason: `natural key field ${field} is a ${type} (its text differs between JS and SQL)` };
    }
    if (types.get(eventTime) !== 'TIMESTAMPTZ') return { ok: false, reason: `event time ${eventTime} is not a time` };
    return { ok: true, plan: new BulkPlan(mapping.sql, checks, options) };
  }

  /** Statements to run once on a connection before the plan's first flush there. */
  setupSql(): string {
    const codes = [...this.options.regionCodes].map(sqlString);
    const list =
      codes.length === 0 ? 'select NULL::VARCHAR as code limit 0' : `select unnest([${codes.join(', ')}]) as code`;
    return `create or replace temp table ${sqlIdentifier(this.regionsTable)} as ${list}`;
  }

  /**
   * A query over the scratch file: `seq`, `_ok`, `_key`, `dt` and the dataset's columns (landing columns included)
   * for every line, in any order.
   */
  selectSql(input: BulkInput): string {
    const m = this.mapping;
    const columns = datasetColumns(this.dataset);
    const types = new Map<string, DuckType>(columns.map((c) => [c.name, c.type]));
    const { naturalKey, eventTime } = datasetKeys(this.dataset);
    const paths = m.paths.map(sqlString).join(', ');
    const typed = m.paths.map((_, i) => `json_type(_v[${i + 1}]) as _t${i + 1}, _v[${i + 1}] ->> '$' as _s${i + 1}`);
    const shapes = [
      ...m.objectPaths.map((k) => `(_t${k} = 'OBJECT' and ${uniqueKeys(`_v[${k}]`)})`),
      ...m.arrayPaths.map((k) => `_t${k} = 'ARRAY'`),
    ];
    const fieldValues = m.fields.map((f) => `${f.value} as ${sqlIdentifier(`f_${f.name}`)}`);
    const fieldSure = m.fields.map((f) => `(${f.sure})`);
    const posted = m.fields.map((f) => {
      const post = m.post.get(f.name);
      return `${post ? post.value : sqlIdentifier(`f_${f.name}`)} as ${sqlIdentifier(f.name)}`;
    });
    const postSure = [...m.post.values()].map((p) => `(${p.sure})`);
    const checks = m.fields.map((f) => {
      const check = this.checks.fields.get(f.name)!;
      const x = sqlIdentifier(f.name);
      return check.optional ? `(${x} is null or ${check.check(x)})` : `(${x} is not null and ${check.check(x)})`;
    });
    const latest = input.now + this.options.maxFutureSkewMs;
    const plausible = m.fields
      .filter((f) => f.type === 'TIMESTAMPTZ')
      .map((f) => {
        const x = sqlIdentifier(f.name);
        const upper = f.name === 'deadline_at' ? '' : ` and epoch_ms(${x}) <= ${latest}`;
        return `(${x} is null or (epoch_ms(${x}) >= ${this.options.minEventMs}${upper}))`;
      });
    const region = `region_code in (select code from ${sqlIdentifier(this.regionsTable)})`;
    const key = naturalKey.map((field) => keyText(sqlIdentifier(field), types.get(field)!)).join(` || chr(1) || `);
    const event = sqlIdentifier(eventTime);
    const metas = input.metas
      .map((meta, i) => `(${i}, ${sqlString(meta.source)}, ${sqlString(meta.ingestedAt)}::TIMESTAMPTZ)`)
      .join(', ');
    const lineBytes = this.options.maxPayloadBytes + 64;
    const canonical = columns.filter((c) => !c.name.startsWith('_')).map((c) => sqlIdentifier(c.name));
    const lines = `read_csv(${sqlString(input.file)}, columns = {'seq': 'BIGINT', '_part_no': 'INTEGER', '_off': 'BIGINT', '_meta': 'INTEGER', 'j': 'VARCHAR'}, delim = '\t', quote = '', escape = '', header = false, auto_detect = false, new_line = '\\n', max_line_size = ${lineBytes}, buffer_size = ${Math.max(2 * lineBytes, 16 << 20)}, strict_mode = false)`;
    return `
      with parsed as (
        select seq, _part_no, _off, _meta, _valid, case when _valid then json_extract(j, [${paths}]) end as _v
        from (select seq, _part_no, _off, _meta, j, json_valid(j) and json_type(j) = 'OBJECT' and ${uniqueKeys('j')} as _valid
              from (select seq, _part_no, _off, _meta, case when json_valid(j) then j end as j from ${lines}))
      ),
      typed as (select seq, _part_no, _off, _meta, _valid, ${typed.join(', ')} from parsed),
      fielded as (
        select seq, _part_no, _off, _meta, _valid and ${shapes.length > 0 ? shapes.join(' and ') : 'true'} and ${fieldSure.join(' and ')} as _sure, ${fieldValues.join(', ')}
        from typed
      ),
      mapped as (select seq, _part_no, _off, _meta, _sure${postSure.length > 0 ? ` and ${postSure.join(' and ')}` : ''} as _sure, ${posted.join(', ')} from fielded),
      checked as (
        select *, coalesce(_sure and ${[...checks, region, ...plausible].join(' and ')}, false) as _ok from mapped
      )
      select seq, _ok,
        case when _ok then ${key} end as _key,
        case when _ok then strftime((${event} at time zone 'UTC') + interval 8 hour, '%Y-%m-%d') end as dt,
        ${canonical.join(', ')},
        meta.source as _source, meta.ingested_at as _ingested_at, ${sqlString(input.topic)} as _topic,
        _part_no as _partition, _off as _offset
      from checked join (values ${metas}) as meta(_meta, source, ingested_at) using (_meta)`;
  }

  /** The dataset's columns, as the lake file holds them. */
  get columns(): Column[] {
    return datasetColumns(this.dataset);
  }
}

/** A JSON object's keys are all different (DuckDB keeps the first of two equal keys, JSON.parse the last). */
function uniqueKeys(json: string): string {
  return `list_transform([json_keys(${json})], lambda k: len(k) = len(list_distinct(k)))[1]`;
}

/** A natural-key field's text as the normalizer builds it (land/lander.ts keyText reads the lake the same way). */
function keyText(column: string, type: DuckType): string {
  if (type === 'TIMESTAMPTZ') return `coalesce(strftime(${column} at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'), '')`;
  return `coalesce(cast(${column} as varchar), '')`;
}
