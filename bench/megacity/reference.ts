/**
 * The DuckDB-only reference of the marts bench: the headline aggregations written by hand straight over
 * read_parquet of the lake, each as one query (materialized, so it is evaluated in full), with the registry and
 * catalog as small tables. Roll-ups are inclusive by region prefix (district → 市辖区 → 北京市), by month.
 *   sensor:  online device-days / registered device-days per month and region (a device is online on a day with a
 *            reading that day; the `dt` folder is the Asia/Shanghai day and duplicates never cross days)
 *   hotline: 三率 per month (received) and region over valid follow-ups — each case's latest closed version with a
 *            follow-up visit: contacted, resolved, (satisfied + 0.9 × basically satisfied) / follow-ups
 *   sharing: required resources (share type not `not_shared`) and those with a delivery holding a valid record
 *            in the month, per month and region
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DuckDBConnection } from '@duckdb/node-api';
import { createTableWithRows } from '../../pipelines/models/append.js';
import { literal } from '../../pipelines/models/columns.js';
import type { MegacityCatalogsFile } from './generate.js';

const glob = (lake: string, dataset: string) =>
  `read_parquet(${literal(join(lake, dataset, '*', '*.parquet'))}, hive_partitioning = true)`;

export function referenceQueries(lake: string): { name: string; sql: string }[] {
  return [
    {
      name: 'sensor online device-days',
      sql: `create table ref_sensor as
with reading_days as (
    select distinct device_id, cast(dt as date) as day from ${glob(lake, 'sensor_reading')}
),
span as (select min(day) as first_day, max(day) as last_day from reading_days),
registered as (
    select ref_devices.device_id, ref_devices.region_code, cast(unnest(generate_series(
        cast(greatest(coalesce(installed_on, first_day), first_day) as timestamp),
        cast(least(coalesce(removed_on, last_day), last_day) as timestamp),
        interval 1 day)) as date) as day
    from ref_devices, span
),
device_days as (
    select registered.region_code, registered.day, reading_days.device_id is not null as is_online
    from registered
    left join reading_days on reading_days.device_id = registered.device_id and reading_days.day = registered.day
),
by_region as (
    select region_code, date_trunc('month', day) as month, count(*) as registered, count(*) filter (where is_online) as online
    from device_days group by all
)
select ref_regions.code as region_code, by_region.month, sum(registered) as registered_device_days,
    sum(online) as online_device_days, sum(online) / nullif(sum(registered), 0) as online_rate
from ref_regions join by_region on starts_with(by_region.region_code, ref_regions.prefix)
group by all`,
    },
    {
      name: 'hotline 三率',
      sql: `create table ref_hotline as
with follow_ups as (
    select region_code, dt, contacted, resolved, satisfaction
    from ${glob(lake, 'hotline_case')}
    where status = 'closed'
    qualify row_number() over (partition by case_id order by updated_at desc, _ingested_at, _topic, _partition, _offset) = 1
),
by_region as (
    select region_code, date_trunc('month', cast(dt as date)) as month,
        count(*) filter (where contacted is not null) as follow_ups,
        count(*) filter (where contacted) as contacted,
        count(*) filter (where resolved) as resolved,
        count(*) filter (where satisfaction = 'satisfied') as satisfied,
        count(*) filter (where satisfaction = 'basically_satisfied') as basically_satisfied
    from follow_ups group by all
)
select ref_regions.code as region_code, month, sum(follow_ups) as follow_ups,
    sum(contacted) / nullif(sum(follow_ups), 0) as response_rate,
    sum(resolved) / nullif(sum(follow_ups), 0) as resolution_rate,
    (sum(satisfied) + 0.9 * sum(basically_satisfied)) / nullif(sum(follow_ups), 0) as satisfaction_rate
from ref_regions join by_region on starts_with(by_region.region_code, ref_regions.prefix)
group by all`,
    },
    {
      name: 'data sharing',
      sql: `create table ref_sharing as
with deliveries as (
    select distinct resource_code, date_trunc('month', cast(dt as date)) as month
    from ${glob(lake, 'dept_delivery')}
    where valid_count >= 1
),
months as (select distinct month from deliveries),
required as (
    select ref_resources.resource_code, ref_resources.region_code, months.month
    from ref_resources, months where share_type <> 'not_shared'
)
select ref_regions.code as region_code, required.month, count(*) as required_count,
    count(deliveries.resource_code) as shared_count,
    count(deliveries.resource_code) / count(*) as sharing_rate
from ref_regions
join required on starts_with(required.region_code, ref_regions.prefix)
left join deliveries on deliveries.resource_code = required.resource_code and deliveries.month = required.month
group by all`,
    },
  ];
}

/** Loads the registry, the resource catalog and the regions (with their roll-up prefixes) as small tables. */
export async function loadReferenceTables(connection: DuckDBConnection, c: MegacityCatalogsFile): Promise<void> {
  await createTableWithRows(
    connection,
    'ref_devices',
    [
      { name: 'device_id', type: 'VARCHAR' },
      { name: 'region_code', type: 'VARCHAR' },
      { name: 'installed_on', type: 'DATE' },
      { name: 'removed_on', type: 'DATE' },
    ],
    c.catalogs.devices.map((d) => ({
      device_id: d.device_id,
      region_code: d.region_code,
      installed_on: d.installed_on ?? null,
      removed_on: d.removed_on ?? null,
    })),
  );
  await createTableWithRows(
    connection,
    'ref_resources',
    [
      { name: 'resource_code', type: 'VARCHAR' },
      { name: 'region_code', type: 'VARCHAR' },
      { name: 'share_type', type: 'VARCHAR' },
    ],
    c.catalogs.data_resources.map((r) => ({
      resource_code: r.resource_code,
      region_code: r.region_code,
      share_type: r.share_type,
    })),
  );
  await createTableWithRows(
    connection,
    'ref_regions',
    [
      { name: 'code', type: 'VARCHAR' },
      { name: 'prefix', type: 'VARCHAR' },
    ],
    c.catalogs.regions.map((r) => ({
      code: r.code,
      prefix: r.level === 'province' ? r.code.slice(0, 2) : r.level === 'city' ? r.code.slice(0, 4) : r.code,
    })),
  );
}

/** Runs every reference query; seconds per query. */
export async function runReference(
  connection: DuckDBConnection,
  lake: string,
  c: MegacityCatalogsFile,
): Promise<{ name: string; seconds: number; rows: number }[]> {
  await connection.run("set TimeZone = 'UTC'");
  await loadReferenceTables(connection, c);
  const out: { name: string; seconds: number; rows: number }[] = [];
  for (const q of referenceQueries(lake)) {
    const t0 = performance.now();
    await connection.run(q.sql);
    const seconds = (performance.now() - t0) / 1000;
    const table = /create table (\w+)/.exec(q.sql)![1]!;
    const reader = await connection.runAndReadAll(`select count(*) from ${table}`);
    out.push({ name: q.name, seconds, rows: Number(reader.getRows()[0]![0]) });
  }
  return out;
}
