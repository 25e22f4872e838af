/**
 * Marts bench (issue 10, item 4): a megacity lake (bench/megacity, generated once and cached), then in the same run
 *   - a full build of the bundled SQL models with runModels: wall time, per-model timings, data tests, peak RSS;
 *   - the DuckDB-only reference: the headline aggregations as hand-written queries over read_parquet of the lake;
 *   - "one new day": the lake plus one more landed day (a hard-linked copy: new files only), built again over the
 *     previous build: incremental models recompute that day only, the other tables are rebuilt from them.
 * Each measured run is its own process (its peak RSS is its own: process.resourceUsage().maxRSS); medians over --runs.
 * Usage: npm run bench:marts -- [--scale 0.01] [--days 365] [--runs 3] [--seed 1] [--partitions 4]
 *          [--dir DIR (default: a cache folder per options under the OS temp dir)] [--regenerate]
 *          [--memory-limit 4GiB (DuckDB's memory_limit for the builds, as config models.memory_limit)]
 *          [--compact (measure on a hard-linked copy of the lake compacted by `cityhub compact`: one file per day)]
 *   --scale 1 is a megacity year: 24.2M 12345 cases, ~100M sensor readings, 1M video alerts, 1M city events,
 *           ~5,100 departmental deliveries with their records (bench/megacity/plan.ts)
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { compactLake } from '../pipelines/land/compact.js';
import { LocalLakeStore } from '../pipelines/land/local-store.js';
import { DataTestsFailedError } from '../pipelines/models/errors.js';
import { runModels } from '../pipelines/models/run.js';
import { packageRoot } from '../pipelines/package-root.js';
import { benchArgs } from './bench-args.js';
import {
  appendDay,
  ensureMegacityLake,
  fullOptions,
  generatedDatasets,
  paths,
  readCatalogs,
  readManifest,
} from './megacity/generate.js';
import { runReference } from './megacity/reference.js';

const USAGE = `Usage: npm run bench:marts -- [--scale 0.01] [--days 365] [--runs 3] [--seed 1] [--partitions 4]
         [--dir DIR] [--regenerate] [--memory-limit 4GiB] [--compact]
  --scale S         1 is a megacity year (24.2M 12345 cases, ~100M sensor readings); default 0.01
  --dir DIR         where the generated lake is kept (default: a cache folder per options under the OS temp dir)
  --regenerate      generate the lake again       --memory-limit  DuckDB's memory_limit for the builds
  --compact         measure on a compacted copy of the lake (one file per day)`;
const values = benchArgs(
  {
    scale: { type: 'string', default: '0.01' },
    days: { type: 'string', default: '365' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '4' },
    dir: { type: 'string' },
    regenerate: { type: 'boolean', default: false },
    'memory-limit': { type: 'string' },
    compact: { type: 'boolean', default: false },
    // Set by the parent for a measured run's process.
    child: { type: 'string' },
    marts: { type: 'string' },
  },
  USAGE,
);

interface ModelTiming {
  name: string;
  ms: number;
  rows?: number;
  /** Incremental models: the lake days recomputed. */
  days?: number;
  /** Models incremental by (grain, period): the periods recomputed. */
  periods?: number;
  mode: string;
}

interface BuildResult {
  kind: 'build';
  seconds: number;
  models: ModelTiming[];
  tests: number;
  failedTests: string[];
  peakRssMiB: number;
}

interface ReferenceResult {
  kind: 'reference';
  seconds: number;
  queries: { name: string; seconds: number; rows: number }[];
  peakRssMiB: number;
}

const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

/** A build of the lake in `dir`; into `keepMarts` (kept, and used as the previous build) or a fresh marts file. */
async function buildChild(dir: string, keepMarts?: string): Promise<BuildResult> {
  const c = await readCatalogs(dir);
  const work = await mkdtemp(join(tmpdir(), 'cityhub-marts-bench-'));
  const martsPath = keepMarts ?? join(work, 'marts.duckdb');
  const models: ModelTiming[] = [];
  const t0 = performance.now();
  let tests = 0;
  let failedTests: string[] = [];
  try {
    const result = await runModels({
      lakeDir: paths(dir).lake,
      martsPath,
      sqlDir: join(packageRoot(), 'sql'),
      regionCode: c.regionCode,
      catalogs: c.catalogs,
      indicators: c.indicators,
      now: new Date(c.now),
      ...(values['memory-limit'] ? { memoryLimit: values['memory-limit'] } : {}),
      onProgress: (e) =>
        models.push({
          name: e.model,
          ms: e.ms,
          mode: e.mode,
          ...(e.rows === undefined ? {} : { rows: e.rows }),
          ...(e.days === undefined ? {} : { days: e.days }),
          ...(e.periods === undefined ? {} : { periods: e.periods }),
        }),
    });
    tests = result.tests.length;
    failedTests = result.warnings.map((t) => `${t.model}: ${t.name} (warn)`);
  } catch (err) {
    // A failed test of error severity discards the build, but its time and the failures are still the figures.
    if (!(err instanceof DataTestsFailedError)) throw err;
    tests = err.tests.length;
    failedTests = err.failures.map((f) => `${f.model}: ${f.test}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  return { kind: 'build', seconds, models, tests, failedTests, peakRssMiB: peakRssMiB() };
}

async function referenceChild(dir: string): Promise<ReferenceResult> {
  const c = await readCatalogs(dir);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const t0 = performance.now();
    const queries = await runReference(connection, paths(dir).lake, c);
    return { kind: 'reference', seconds: (performance.now() - t0) / 1000, queries, peakRssMiB: peakRssMiB() };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function runChild<T>(kind: string, dir: string, marts?: string): Promise<T> {
  const args = [
    fileURLToPath(import.meta.url),
    '--child',
    kind,
    '--dir',
    dir,
    ...(marts ? ['--marts', marts] : []),
    ...(values['memory-limit'] ? ['--memory-limit', values['memory-limit']] : []),
  ];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code, signal) =>
      code === 0
        ? resolve(JSON.parse(stdout) as T)
        : reject(new Error(`the ${kind} run failed (exit ${code ?? signal})`)),
    );
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The Parquet files under a folder (a dataset of the lake: its day folders' files). */
async function parquetCount(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.parquet')).length;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const int = (n: number) => Math.round(n).toLocaleString('en');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

async function ensureLake(): Promise<string> {
  const options = fullOptions({
    scale: Number(values.scale),
    days: Number(values.days),
    seed: Number(values.seed),
    partitions: Number(values.partitions),
  });
  return ensureMegacityLake(options, { dir: values.dir, regenerate: values.regenerate, log: console.log });
}

/** A hard-linked copy of the lake with every day compacted into one file (compactLake, as `cityhub compact`). */
async function compactedCopy(dir: string): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'cityhub-marts-bench-compacted-'));
  await promisify(execFile)('cp', ['-al', `${dir}/.`, copy]);
  const lake = paths(copy).lake;
  const t0 = performance.now();
  const report = await compactLake({
    store: new LocalLakeStore(lake),
    readDir: lake,
    spillDir: join(copy, 'spill'),
    minFiles: 2,
  });
  const before = report.compacted.reduce((n, d) => n + d.filesBefore, 0);
  console.log(
    `lake: compacted ${int(report.compacted.length)} days (${int(before)} files → ${int(report.compacted.length)}) into ${copy} in ${fmt((performance.now() - t0) / 1000, 1)} s`,
  );
  return copy;
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const original = await ensureLake();
  const dir = values.compact ? await compactedCopy(original) : original;
  const manifest = (await readManifest(dir))!;
  console.log(
    table(
      ['dataset', 'rows', 'files'],
      await Promise.all(
        generatedDatasets.map(async (d) => [
          d,
          int(manifest.datasets[d].rows),
          int(await parquetCount(join(paths(dir).lake, d))),
        ]),
      ),
    ),
  );
  console.log(
    `lake size ${fmt((await folderBytes(paths(dir).lake)) / 2 ** 20, 0)} MiB · ${cpus().length} cores, load average ${fmt(loadavg()[0]!, 1)} · ${runs} runs\n`,
  );
  const builds: BuildResult[] = [];
  const references: ReferenceResult[] = [];
  for (let run = 1; run <= runs; run++) {
    // The order alternates, so neither always runs first (cold page cache) or second.
    const order = run % 2 === 1 ? ['build', 'reference'] : ['reference', 'build'];
    for (const kind of order) {
      if (kind === 'build') builds.push(await runChild<BuildResult>('build', dir));
      else references.push(await runChild<ReferenceResult>('reference', dir));
    }
    const b = builds.at(-1)!;
    const r = references.at(-1)!;
    console.log(
      `run ${run}: build ${fmt(b.seconds)} s (peak RSS ${fmt(b.peakRssMiB, 0)} MiB, ${b.tests} data tests, ${b.failedTests.length} failed) · reference ${fmt(r.seconds)} s (peak RSS ${fmt(r.peakRssMiB, 0)} MiB)`,
    );
    for (const failed of b.failedTests) console.log(`  failed: ${failed}`);
  }

  // One new day: a hard-linked copy of the lake (new files only are added to it) built once, one more day landed,
  // then built again over that build: incremental models recompute the new day only.
  const copyRoot = await mkdtemp(join(tmpdir(), 'cityhub-marts-bench-day-'));
  let newDay: BuildResult;
  let appended: Awaited<ReturnType<typeof appendDay>>;
  try {
    const copy = join(copyRoot, 'megacity');
    const marts = join(copyRoot, 'marts.duckdb');
    await promisify(execFile)('cp', ['-al', dir, copy]);
    await runChild<BuildResult>('build', copy, marts);
    appended = await appendDay(copy);
    newDay = await runChild<BuildResult>('build', copy, marts);
  } finally {
    await rm(copyRoot, { recursive: true, force: true });
  }

  const buildSeconds = median(builds.map((b) => b.seconds));
  const referenceSeconds = median(references.map((r) => r.seconds));
  console.log(`\nmedians over ${runs} runs:`);
  console.log(
    table(
      ['measure', 'median', 'runs'],
      [
        ['full build (runModels)', `${fmt(buildSeconds)} s`, builds.map((b) => fmt(b.seconds)).join(' ')],
        [
          'peak RSS of the build',
          `${fmt(median(builds.map((b) => b.peakRssMiB)), 0)} MiB`,
          builds.map((b) => fmt(b.peakRssMiB, 0)).join(' '),
        ],
        ['DuckDB-only reference', `${fmt(referenceSeconds)} s`, references.map((r) => fmt(r.seconds)).join(' ')],
        [
          'peak RSS of the reference',
          `${fmt(median(references.map((r) => r.peakRssMiB)), 0)} MiB`,
          references.map((r) => fmt(r.peakRssMiB, 0)).join(' '),
        ],
        ['ratio build / reference', fmt(buildSeconds / referenceSeconds, 1), ''],
        [
          `one new day (incremental: ${newDay.models.filter((m) => m.mode === 'incremental').length} models, ${Math.max(0, ...newDay.models.map((m) => m.days ?? 0))} lake day)`,
          `${fmt(newDay.seconds)} s (peak RSS ${fmt(newDay.peakRssMiB, 0)} MiB)`,
          `+${int(appended.sensor_reading.rows + appended.hotline_case.rows + appended.video_alert.rows + appended.city_event.rows + appended.dept_delivery.rows + appended.dept_record.rows)} rows`,
        ],
      ],
    ),
  );
  console.log('\nreference queries (median s):');
  console.log(
    table(
      ['query', 's', 'rows'],
      references[0]!.queries.map((q, i) => [
        q.name,
        fmt(median(references.map((r) => r.queries[i]!.seconds))),
        int(q.rows),
      ]),
    ),
  );
  console.log('\nper model (median ms, share of the build; the one-new-day build: ms, how it was built):');
  const names = builds[0]!.models.map((m) => m.name);
  const modelRows = names.map((name) => {
    const ms = median(builds.map((b) => b.models.find((m) => m.name === name)?.ms ?? 0));
    const rows = builds[0]!.models.find((m) => m.name === name)?.rows;
    const day = newDay.models.find((m) => m.name === name);
    const how =
      day === undefined
        ? ''
        : day.days !== undefined
          ? `${day.mode} (${day.days} day)`
          : day.periods !== undefined
            ? `${day.mode} (${day.periods} periods)`
            : day.mode;
    return { name, ms, rows, dayMs: day?.ms ?? 0, how };
  });
  const dayModelsMs = modelRows.reduce((sum, m) => sum + m.dayMs, 0);
  const modelsMs = modelRows.reduce((sum, m) => sum + m.ms, 0);
  console.log(
    table(
      ['model', 'ms', 'share', 'rows', 'new day ms', 'new day'],
      [
        ...[...modelRows]
          .sort((a, b) => b.ms - a.ms)
          .map((m) => [
            m.name,
            int(m.ms),
            `${fmt((100 * m.ms) / (buildSeconds * 1000), 0)}%`,
            m.rows === undefined ? 'view' : int(m.rows),
            int(m.dayMs),
            m.how,
          ]),
        [
          '(seeds, data tests, checkpoint, publish)',
          int(buildSeconds * 1000 - modelsMs),
          `${fmt((100 * (buildSeconds * 1000 - modelsMs)) / (buildSeconds * 1000), 0)}%`,
          '',
          int(newDay.seconds * 1000 - dayModelsMs),
          '',
        ],
      ],
    ),
  );
  if (dir !== original) await rm(dir, { recursive: true, force: true });
}

if (values.child) {
  const dir = values.dir!;
  const result = values.child === 'build' ? await buildChild(dir, values.marts) : await referenceChild(dir);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  await main();
}
