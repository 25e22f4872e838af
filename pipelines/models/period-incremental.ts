/**
 * Models incremental by (grain, period): tables of period rows (the marts, per day, month, quarter and year) whose
 * rows of a period depend only on the facts that fall in it. A build recomputes just the periods that can have changed
 * since the previous build and takes the other rows over from the previous marts file:
 *   - periods int_periods gained, or whose bounds, completeness or counted days changed (the span grew, the cut-off
 *     moved past an open period's day);
 *   - periods containing a `dates` value of a fact row of a changed lake day (the previous build's rows too, so a
 *     value that moved away leaves its old period recomputed as well);
 *   - periods containing a `dates` value of a fact row whose `cutoff` timestamp the data cut-off passed since the
 *     previous build (a closure at 10:00 today counts from tomorrow's build on, though no file changed);
 *   - the periods containing one recomputed by a period-incremental model it reads (a recomputed day: its month, …).
 * Its SQL then reads int_periods and its facts restricted to those periods (a fact row counts only in the periods
 * containing its `dates`: the model's contract).
 * Anything else the model reads must be the same as in the previous build (seeds by fingerprint, other tables by
 * content: compared here), or the model is rebuilt in full.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, literal } from './columns.js';
import type { DataTestSpec, PeriodFact } from './header.js';
import { PERIODS_MODEL } from './project.js';

/** The temp table holding the (grain, period) pairs a model recomputes in this build. */
export function recomputedPeriodsTable(model: string): string {
  return `cityhub_recomputed_periods__${model}`;
}

/** The temp view of int_periods restricted to a model's recomputed periods: what its SQL reads instead. */
export function recomputedPeriodsView(model: string): string {
  return `cityhub_periods__${model}`;
}

export interface PeriodRecomputeInput {
  model: string;
  facts: readonly PeriodFact[];
  /** Per fact relation: the lake days whose files changed (of every lake dataset upstream of it). */
  changedDays: (fact: PeriodFact) => ReadonlySet<string>;
  /** Period-incremental models the model reads (their recomputed periods are recomputed here too). */
  upstream: readonly string[];
  /** The grains the model's rows can have (its accepted_values test on `grain`); undefined: every grain. */
  grains?: readonly string[];
  previous: string;
}

/**
 * Creates the model's recomputed-periods table and the int_periods view its SQL reads in their place; returns how many
 * periods it recomputes.
 */
export async function preparePeriodRecompute(connection: DuckDBConnection, o: PeriodRecomputeInput): Promise<number> {
  const datesOf = (source: string, fact: PeriodFact): string => {
    const days = [...o.changedDays(fact)];
    const changed =
      days.length === 0 ? 'false' : `${ident(fact.day)} in (${days.map((d) => `date ${literal(d)}`).join(', ')})`;
    // Between the previous build's cut-off and this one's: empty when the cut-off did not move.
    const passed = fact.cutoff.map(
      (c) =>
        `(${ident(c)} >= (select data_cutoff from ${o.previous}.hub_settings) and ${ident(c)} < (select data_cutoff from hub_settings))`,
    );
    const dates = fact.dates.map(ident).join(', ');
    return `select unnest([${dates}]) as day from ${source} where ${[changed, ...passed].join(' or ')}`;
  };
  const factDates = o.facts.flatMap((f) => [
    datesOf(ident(f.relation), f),
    datesOf(`${o.previous}.${ident(f.relation)}`, f),
  ]);
  const periods = ident(PERIODS_MODEL);
  const sameAsBefore = `exists (select 1 from ${o.previous}.${periods} q where q.grain = p.grain and q.period = p.period
      and q.period_start = p.period_start and q.period_end = p.period_end and q.is_complete = p.is_complete
      and q.counted_end = p.counted_end)`;
  const table = ident(recomputedPeriodsTable(o.model));
  await connection.run(`create or replace temp table ${table} as
    with fact_days as (select distinct day from (${factDates.length === 0 ? 'select cast(null as date) as day' : factDates.join('\nunion all\n')}) where day is not null)
    select p.grain, p.period from ${periods} p
    where ${o.grains === undefined ? 'true' : `p.grain in (${o.grains.map(literal).join(', ')})`}
      and (not ${sameAsBefore}
       or exists (select 1 from fact_days f where f.day between p.period_start and p.period_end)
       ${o.upstream
         .map(
           // Every period containing one the upstream model recomputed (a day it recomputed: the day, its month, …).
           (u) =>
             `or exists (select 1 from ${ident(recomputedPeriodsTable(u))} u inner join ${periods} q
                 on q.grain = u.grain and q.period = u.period
                 where p.period_start <= q.period_start and q.period_end <= p.period_end)`,
         )
         .join('\n       ')})`);
  await connection.run(`create or replace temp view ${ident(recomputedPeriodsView(o.model))} as
    select p.* from ${periods} p where exists (select 1 from ${table} r where r.grain = p.grain and r.period = p.period)`);
  // Each fact restricted to the rows that count in a recomputed period: the others only count in periods taken over.
  for (const fact of o.facts) {
    const inRecomputed = fact.dates
      .map(
        (d) =>
          `exists (select 1 from ${ident(recomputedPeriodsView(o.model))} r where f.${ident(d)} between r.period_start and r.period_end)`,
      )
      .join(' or ');
    await connection.run(`create or replace temp view ${ident(recomputedFactsView(o.model, fact.relation))} as
      select f.* from ${ident(fact.relation)} f where ${inRecomputed}`);
  }
  const count = await connection.runAndReadAll(`select count(*) from ${table}`);
  return Number(count.getRows()[0]![0]);
}

/**
 * The grains a model's rows can have, as its header promises them: an error-severity accepted_values test on `grain`.
 * A model of day rows then recomputes only days, and reads only the fact rows of those days.
 */
export function declaredGrains(tests: readonly DataTestSpec[]): string[] | undefined {
  const test = tests.find((t) => t.kind === 'accepted_values' && t.column === 'grain' && t.severity === 'error');
  return test?.kind === 'accepted_values' ? test.values : undefined;
}

/** The temp view of a fact restricted to the rows that count in a model's recomputed periods. */
export function recomputedFactsView(model: string, fact: string): string {
  return `cityhub_facts__${model}__${fact}`;
}

/**
 * Whether every table among `tables` holds exactly the rows it held in the previous build (a table the model reads
 * besides its facts and periods: the region scope, the devices' registered days). Missing before: not the same.
 */
export async function sameAsPrevious(
  connection: DuckDBConnection,
  tables: readonly string[],
  previous: string,
): Promise<boolean> {
  for (const table of tables) {
    const t = ident(table);
    try {
      const diff = await connection.runAndReadAll(
        `select count(*) from ((select * from ${t} except all select * from ${previous}.${t})
          union all (select * from ${previous}.${t} except all select * from ${t}))`,
      );
      if (Number(diff.getRows()[0]![0]) !== 0) return false;
    } catch {
      return false; // absent before, or other columns
    }
  }
  return true;
}

/** The SQL that takes the previous build's rows of the periods not recomputed (with this build's data cut-off). */
export async function copyUnchangedPeriodsSql(
  connection: DuckDBConnection,
  model: string,
  previous: string,
): Promise<string> {
  const t = ident(model);
  const columns = await connection.runAndReadAll(
    `select 1 from information_schema.columns where table_catalog = ${literal(previous)} and table_name = ${literal(model)} and column_name = 'data_cutoff'`,
  );
  const replace =
    columns.getRows().length > 0 ? ' replace ((select data_cutoff from hub_settings) as data_cutoff)' : '';
  return `create table ${t} as select *${replace} from ${previous}.${t} m
    where exists (select 1 from ${ident(PERIODS_MODEL)} p where p.grain = m.grain and p.period = m.period)
      and not exists (select 1 from ${ident(recomputedPeriodsTable(model))} r where r.grain = m.grain and r.period = m.period)`;
}
