/**
 * Writes a megacity lake in the canonical layout (docs/lake.md) with DuckDB SQL only (no per-record JS):
 *   <out>/lake/<dataset>/dt=YYYY-MM-DD/raw.<feed>~<partition>~<first offset>~<last offset>~<generation>.parquet
 *   <out>/catalogs.json   the hub region, the build's `now`, the reference catalogs and the indicator settings
 *   <out>/megacity.json   the manifest: options, rows and files per dataset, the next offset of every partition
 *
 * Bus model: each feed's raw topic has `partitions` partitions (a record's partition is a hash of its key, so all
 * versions of a case share one); offsets are numbered per partition in landing order (_ingested_at) within each
 * chunk of days, one chunk after another. A dt folder holds, per partition, the file of the records landed on time
 * (by the end of the next day) and the file of those landed later: closure and follow-up versions days after the
 * case was received, late-landed records, re-landed duplicates — one flush per kind, as a compacted lake would
 * hold them (a live lake without compaction has many more, smaller files). `appendDay` lands one more day as a
 * new flush: new files only, never a rewrite, as the pipeline does.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { dataFileName } from '../../pipelines/land/layout.js';
import { createTableWithRows } from '../../pipelines/models/append.js';
import { columnSpecs, ident, landingColumnSpecs, literal } from '../../pipelines/models/columns.js';
import type { IndicatorSettingsInput } from '../../pipelines/models/indicator-settings.js';
import type { ModelCatalogs } from '../../pipelines/models/seeds.js';
import { type DatasetName, datasetMeta, datasets } from '../../schemas/index.js';
import {
  deviceCatalog,
  hubRegionCode,
  megacityRegions,
  resourceCatalog,
  scenarioCatalog,
  sensorAlarms,
} from './catalogs.js';
import { type MegacityOptions, type MegacityPlan, makePlan } from './plan.js';
import { deliverySql, deviceTableRows, eventSql, hotlineSql, recordsOfChunkSql, sensorSql, videoSql } from './sql.js';

/** Bump when the generated lake changes for the same options (cached lakes of another version are regenerated). */
export const generatorVersion = 1;

export const generatedDatasets = [
  'sensor_reading',
  'hotline_case',
  'video_alert',
  'city_event',
  'dept_delivery',
  'dept_record',
] as const satisfies readonly DatasetName[];
export type GeneratedDataset = (typeof generatedDatasets)[number];

export interface DatasetStats {
  rows: number;
  files: number;
}

export interface MegacityManifest {
  generatorVersion: number;
  options: Required<MegacityOptions>;
  /** Days landed so far: `options.days`, plus one per appendDay. */
  daysLanded: number;
  generation: string;
  datasets: Record<GeneratedDataset, DatasetStats>;
  /** Next offset of each partition of each raw topic. */
  nextOffsets: Record<string, number[]>;
  /** Wall seconds the generation took. */
  seconds: number;
}

export interface MegacityCatalogsFile {
  regionCode: string;
  /** The build's now (ISO): 02:00 Asia/Shanghai of the day after the last landed day, so every landed day counts. */
  now: string;
  catalogs: ModelCatalogs;
  indicators: IndicatorSettingsInput;
}

const dayMs = 86_400_000;

interface Producer {
  dataset: 'sensor_reading' | 'hotline_case' | 'video_alert' | 'city_event' | 'dept_delivery';
  topic: string;
  sql: (plan: MegacityPlan, d0: number, d1: number) => string;
  /** Rows per event day (a sizing estimate for chunks). */
  rowsPerDay: (plan: MegacityPlan) => number;
  /** How many days after its event day a version can still happen (for appendDay). */
  lagDays: number;
}

const producers: Producer[] = [
  {
    dataset: 'sensor_reading',
    topic: 'raw.sensor',
    sql: sensorSql,
    rowsPerDay: (p) => p.expected.sensorReadings / p.days,
    lagDays: 0,
  },
  {
    dataset: 'hotline_case',
    topic: 'raw.hotline',
    sql: hotlineSql,
    rowsPerDay: (p) => p.casesPerDay * 2.4,
    lagDays: 12,
  },
  { dataset: 'video_alert', topic: 'raw.video', sql: videoSql, rowsPerDay: (p) => p.alertsPerDay * 2.7, lagDays: 1 },
  { dataset: 'city_event', topic: 'raw.event', sql: eventSql, rowsPerDay: (p) => p.eventsPerDay * 5.9, lagDays: 6 },
  { dataset: 'dept_delivery', topic: 'raw.dept', sql: deliverySql, rowsPerDay: () => 20, lagDays: 1 },
];

/** Rows per generated chunk: bounded so a chunk's temp table stays well under a GiB. */
const chunkRows = 4_000_000;

function castColumns(dataset: DatasetName): string {
  return [...columnSpecs(datasets[dataset]), ...landingColumnSpecs]
    .map((c) => `cast(${ident(c.name)} as ${c.type}) as ${ident(c.name)}`)
    .join(', ');
}

const shanghaiDate = (column: string) => `cast(timezone('UTC', ${column}) + interval 8 hour as date)`;

interface Writer {
  connection: DuckDBConnection;
  plan: MegacityPlan;
  lakeDir: string;
  scratchDir: string;
  nextOffsets: Record<string, number[]>;
  stats: Record<GeneratedDataset, DatasetStats>;
  /** 'split': on-time and late flushes per dt; 'new': one flush (appendDay). */
  flushes: 'split' | 'new';
}

/** Moves the partitioned COPY output of `table` into the lake under canonical names. */
async function placeFiles(w: Writer, dataset: GeneratedDataset, table: string, topic: string): Promise<void> {
  const groups = await w.connection.runAndReadAll(
    `select dt_key, part_key, flush_key, min(_offset), max(_offset), count(*) from ${table} group by all order by all`,
  );
  const rows = groups.getRows();
  if (rows.length === 0) return;
  const out = join(w.scratchDir, dataset);
  await rm(out, { recursive: true, force: true });
  await w.connection.run(
    `copy (select * from ${table} order by dt_key, part_key, flush_key, _offset) to ${literal(out)}
     (format parquet, compression zstd, partition_by (dt_key, part_key, flush_key))`,
  );
  for (const [dt, part, flush, first, last, count] of rows) {
    const from = join(out, `dt_key=${dt}`, `part_key=${part}`, `flush_key=${flush}`);
    const files = (await readdir(from)).sort();
    if (files.length === 0) throw new Error(`no file in ${from}`);
    const dir = join(w.lakeDir, dataset, `dt=${dt}`);
    await mkdir(dir, { recursive: true });
    const name = dataFileName({
      topic,
      partition: Number(part),
      firstOffset: Number(first),
      lastOffset: Number(last),
      generation: w.plan.generation,
    });
    if (files.length === 1) {
      await rename(join(from, files[0]!), join(dir, name));
    } else {
      // DuckDB's partitioned writer starts another file when it flushes a partition early: one flush, one file.
      const sources = files.map((f) => literal(join(from, f))).join(', ');
      await w.connection.run(
        `copy (select * from read_parquet([${sources}], hive_partitioning = false) order by _offset) to ${literal(join(dir, name))} (format parquet, compression zstd)`,
      );
    }
    w.stats[dataset].rows += Number(count);
    w.stats[dataset].files += 1;
  }
  await rm(out, { recursive: true, force: true });
}

/** Generates one chunk of event days of one feed, keeping the versions that happened in [lo, hi). */
async function writeChunk(w: Writer, p: Producer, d0: number, d1: number, lo: number, hi: number): Promise<void> {
  const offsets = w.nextOffsets[p.topic]!;
  const eventTime = ident(datasetMeta(p.dataset).event_time);
  const flush =
    w.flushes === 'new'
      ? `'new'`
      : `case when ${shanghaiDate('g._ingested_at')} > ${shanghaiDate(`g.${eventTime}`)} + 1 then 'late' else 'main' end`;
  await w.connection.run(
    `create or replace temp table bases as select * from (values ${offsets.map((n, i) => `(${i}, ${n})`).join(', ')}) t(_partition, next_offset)`,
  );
  await w.connection.run(`
create or replace temp table chunk as
select ${castColumns(p.dataset)}, dt_key, part_key, flush_key
from (
    select
        g.*,
        strftime(${shanghaiDate(`g.${eventTime}`)}, '%Y-%m-%d') as dt_key,
        g._partition as part_key,
        ${flush} as flush_key,
        bases.next_offset + row_number() over (partition by g._partition order by g._ingested_at, g._key) - 1 as _offset
    from (${p.sql(w.plan, d0, d1)}) as g
    inner join bases on bases._partition = g._partition
    where g._version_ms >= ${lo} and g._version_ms < ${hi}
)`);
  const next = await w.connection.runAndReadAll('select _partition, max(_offset) + 1 from chunk group by all');
  for (const [partition, n] of next.getRows()) offsets[Number(partition)] = Number(n);
  await placeFiles(w, p.dataset, 'chunk', p.topic);
  if (p.dataset === 'dept_delivery') {
    await w.connection.run(
      `create or replace temp table chunk_records as select ${castColumns('dept_record')}, dt_key, part_key, flush_key from (${recordsOfChunkSql})`,
    );
    await placeFiles(w, 'dept_record', 'chunk_records', p.topic);
    await w.connection.run('drop table chunk_records');
  }
  await w.connection.run('drop table chunk');
}

async function openWriter(
  plan: MegacityPlan,
  outDir: string,
  flushes: Writer['flushes'],
  nextOffsets: Record<string, number[]>,
): Promise<{ writer: Writer; close: () => void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const scratchDir = join(outDir, '_generator');
  await mkdir(scratchDir, { recursive: true });
  await connection.run("set TimeZone = 'UTC'");
  await connection.run(`set temp_directory = ${literal(join(scratchDir, 'spill'))}`);
  await connection.run(`set memory_limit = '3GB'`);
  await connection.run('set preserve_insertion_order = false');
  await createTableWithRows(
    connection,
    'megacity_devices',
    [
      { name: 'device_index', type: 'BIGINT' },
      { name: 'device_id', type: 'VARCHAR' },
      { name: 'device_type', type: 'VARCHAR' },
      { name: 'metric', type: 'VARCHAR' },
      { name: 'unit', type: 'VARCHAR' },
      { name: 'interval_s', type: 'BIGINT' },
      { name: 'slot_count', type: 'BIGINT' },
      { name: 'base', type: 'DOUBLE' },
      { name: 'spread', type: 'DOUBLE' },
      { name: 'peak', type: 'DOUBLE' },
      { name: 'region_code', type: 'VARCHAR' },
      { name: 'grid_code', type: 'VARCHAR' },
      { name: 'lon', type: 'DOUBLE' },
      { name: 'lat', type: 'DOUBLE' },
      { name: 'from_day', type: 'BIGINT' },
      { name: 'to_day', type: 'BIGINT' },
    ],
    deviceTableRows(plan),
  );
  await createTableWithRows(
    connection,
    'megacity_resources',
    [
      { name: 'resource_index', type: 'BIGINT' },
      { name: 'resource_code', type: 'VARCHAR' },
      { name: 'frequency', type: 'VARCHAR' },
      { name: 'region_code', type: 'VARCHAR' },
      { name: 'department_code', type: 'VARCHAR' },
    ],
    plan.resources.map((r) => ({
      resource_index: r.index,
      resource_code: r.code,
      frequency: r.frequency,
      region_code: r.regionCode,
      department_code: r.departmentCode,
    })),
  );
  const stats = Object.fromEntries(generatedDatasets.map((d) => [d, { rows: 0, files: 0 }])) as Record<
    GeneratedDataset,
    DatasetStats
  >;
  const writer: Writer = { connection, plan, lakeDir: join(outDir, 'lake'), scratchDir, nextOffsets, stats, flushes };
  return {
    writer,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

function catalogsFile(plan: MegacityPlan, daysLanded: number): MegacityCatalogsFile {
  return {
    regionCode: hubRegionCode,
    now: new Date(plan.startMs + daysLanded * dayMs + 2 * 3_600_000).toISOString(),
    catalogs: {
      regions: megacityRegions,
      data_resources: resourceCatalog(plan.resources),
      scenarios: scenarioCatalog(plan.resources),
      devices: deviceCatalog(plan.devices, plan.startDate),
    },
    indicators: { sensor_alarms: sensorAlarms },
  };
}

/** Writes a file by temp name + rename: a new inode, so a hard-linked copy of the folder keeps its own. */
async function replaceFile(path: string, content: string): Promise<void> {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}

export const paths = (outDir: string) => ({
  lake: join(outDir, 'lake'),
  catalogs: join(outDir, 'catalogs.json'),
  manifest: join(outDir, 'megacity.json'),
});

function fullOptions(o: MegacityOptions): Required<MegacityOptions> {
  return {
    scale: o.scale,
    days: o.days,
    startDate: o.startDate ?? '2025-01-01',
    seed: o.seed ?? 1,
    partitions: o.partitions ?? 4,
  };
}

/**
 * Generates the lake into `outDir` (which must not hold a lake yet). `onProgress` is told each chunk as it lands.
 */
export async function generateMegacity(
  outDir: string,
  options: MegacityOptions,
  onProgress?: (line: string) => void,
): Promise<{ plan: MegacityPlan; manifest: MegacityManifest }> {
  const started = performance.now();
  const plan = makePlan(options);
  const nextOffsets = Object.fromEntries(producers.map((p) => [p.topic, new Array<number>(plan.partitions).fill(0)]));
  const { writer, close } = await openWriter(plan, outDir, 'split', nextOffsets);
  try {
    for (const p of producers) {
      const step = Math.max(1, Math.min(31, Math.floor(chunkRows / Math.max(1, p.rowsPerDay(plan)))));
      for (let d0 = 0; d0 < plan.days; d0 += step) {
        const d1 = Math.min(plan.days, d0 + step);
        await writeChunk(writer, p, d0, d1, Number.MIN_SAFE_INTEGER, plan.cutoffMs);
        onProgress?.(`${p.dataset}: days ${d0 + 1}–${d1} of ${plan.days} (${writer.stats[p.dataset].rows} rows)`);
      }
    }
  } finally {
    close();
    await rm(writer.scratchDir, { recursive: true, force: true });
  }
  const manifest: MegacityManifest = {
    generatorVersion,
    options: fullOptions(options),
    daysLanded: plan.days,
    generation: plan.generation,
    datasets: writer.stats,
    nextOffsets,
    seconds: (performance.now() - started) / 1000,
  };
  const p = paths(outDir);
  await replaceFile(p.catalogs, `${JSON.stringify(catalogsFile(plan, plan.days))}\n`);
  await replaceFile(p.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return { plan, manifest };
}

export async function readManifest(outDir: string): Promise<MegacityManifest | undefined> {
  try {
    return JSON.parse(await readFile(paths(outDir).manifest, 'utf8')) as MegacityManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function readCatalogs(outDir: string): Promise<MegacityCatalogsFile> {
  return JSON.parse(await readFile(paths(outDir).catalogs, 'utf8')) as MegacityCatalogsFile;
}

/**
 * Lands the next day as the pipeline would the day after: every version that happened during it (the day's own
 * records, and closures, follow-ups and status changes of earlier days' cases) in new files with the next offsets —
 * no existing file is rewritten, so a hard-linked copy of a lake can take it. Updates the manifest and catalogs
 * (`now` moves one day on). Returns the rows and files it added.
 */
export async function appendDay(outDir: string): Promise<Record<GeneratedDataset, DatasetStats>> {
  const manifest = await readManifest(outDir);
  if (!manifest) throw new Error(`no megacity lake in ${outDir}`);
  const plan = makePlan(manifest.options);
  const day = manifest.daysLanded;
  const lo = plan.startMs + day * dayMs;
  const { writer, close } = await openWriter(plan, outDir, 'new', manifest.nextOffsets);
  try {
    for (const p of producers) await writeChunk(writer, p, Math.max(0, day - p.lagDays), day + 1, lo, lo + dayMs);
  } finally {
    close();
    await rm(writer.scratchDir, { recursive: true, force: true });
  }
  for (const d of generatedDatasets) {
    manifest.datasets[d].rows += writer.stats[d].rows;
    manifest.datasets[d].files += writer.stats[d].files;
  }
  manifest.daysLanded = day + 1;
  const p = paths(outDir);
  await replaceFile(p.catalogs, `${JSON.stringify(catalogsFile(plan, day + 1))}\n`);
  await replaceFile(p.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return writer.stats;
}

/** Default cache folder of a generated lake. */
/**
 * The megacity lake of these options: the cached one (`dir`, default cacheDir) when it was generated with the same
 * generator and options, else generated anew (progress every 5 s through `log`).
 */
export async function ensureMegacityLake(
  options: Required<MegacityOptions>,
  o: { dir?: string | undefined; regenerate?: boolean; log: (line: string) => void },
): Promise<string> {
  const dir = o.dir ?? cacheDir(options);
  const manifest = await readManifest(dir);
  const reusable =
    !o.regenerate &&
    manifest?.generatorVersion === generatorVersion &&
    JSON.stringify(manifest.options) === JSON.stringify(options) &&
    manifest.daysLanded === options.days;
  if (reusable) {
    o.log(`lake: reusing ${dir} (generated in ${manifest.seconds.toFixed(1)} s)`);
    return dir;
  }
  await rm(dir, { recursive: true, force: true });
  o.log(`lake: generating scale ${options.scale}, ${options.days} days into ${dir} …`);
  let last = 0;
  const { manifest: made } = await generateMegacity(dir, options, (line) => {
    if (performance.now() - last > 5000) {
      last = performance.now();
      o.log(`  ${line}`);
    }
  });
  o.log(`lake: generated in ${made.seconds.toFixed(1)} s`);
  return dir;
}

export function cacheDir(o: Required<MegacityOptions>): string {
  return join(
    tmpdir(),
    'cityhub-megacity',
    `v${generatorVersion}-s${o.scale}-d${o.days}-seed${o.seed}-p${o.partitions}-${o.startDate}`,
  );
}

export { fullOptions };
