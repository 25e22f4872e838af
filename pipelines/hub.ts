import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import cron from 'node-cron';
import type { Logger } from 'pino';
import { DemoConnector } from '../connectors/demo/connector.js';
import { createConnector } from '../connectors/index.js';
import { type Feed, feeds, rawTopic } from '../connectors/types.js';
import { openBus } from './bus/index.js';
import { bundledRegionsPath, loadCatalogFile, loadVideoEventCodes, videoEventCodeMap } from './catalogs/load.js';
import { resolveCatalogs } from './catalogs/resolve.js';
import type { LoadedConfig } from './config/load.js';
import { NotAvailableError } from './errors.js';
import { Lander, type LandingStats } from './land/lander.js';
import { LocalLakeStore } from './land/local-store.js';
import { ParquetWriter } from './land/parquet-writer.js';
import { runModels } from './models/index.js';
import { Normalizer } from './normalize/normalizer.js';
import { PipelineWorker } from './pipeline/worker.js';
import { printIndicators } from './report/indicators.js';
import { formatSummary } from './report/summary.js';

export type Role = 'all' | 'connectors' | 'pipeline' | 'models' | 'api';

export interface RunOptions {
  role: Role;
  /** Bounded run: stop after this long, drain, land, build the marts, summarize. */
  forMs?: number;
  log: Logger;
  /** Where progress and the summary go (stdout for the CLI). */
  out: (line: string) => void;
  /** Resolves when the process was asked to stop (SIGINT/SIGTERM). */
  stopSignal: Promise<void>;
  progressEveryMs?: number;
}

export interface RunSummary {
  durationMs: number;
  stats: LandingStats;
  sent: Partial<Record<Feed, number>>;
  marts: { models: number; testsFailed: number; martsPath: string } | null;
}

/** Runs the hub's roles until stopped (or for `forMs`), then shuts down in order: sources, pipeline, marts. */
export async function runHub(loaded: LoadedConfig, options: RunOptions): Promise<RunSummary> {
  const { config, paths } = loaded;
  const { log, out } = options;
  if (options.role === 'api') throw new NotAvailableError('the api role arrives in a later release');
  if (config.lake.type !== 'local')
    throw new NotAvailableError('lake.type s3 is not available in this release yet; use lake.type local');
  const started = Date.now();
  const runs = (role: Role) => options.role === 'all' || options.role === role;

  // Everything that can be wrong with the configuration fails here, before any data moves.
  const regions = loadCatalogFile(
    'regions',
    config.catalogs.regions ? resolve(paths.baseDir, config.catalogs.regions) : bundledRegionsPath(),
  );
  const dataDir = resolve(paths.baseDir, config.data_dir);
  const checkpointDir = join(dataDir, 'checkpoints');
  const connectors = runs('connectors')
    ? config.connectors.map((c) => createConnector(c, { regions, checkpointDir }))
    : [];
  const catalogs = resolveCatalogs(
    loaded,
    connectors.find((c): c is DemoConnector => c instanceof DemoConnector),
  );
  const videoCodes = videoEventCodeMap(loadVideoEventCodes());
  await mkdir(join(dataDir, 'catalogs'), { recursive: true });
  for (const [name, entries] of Object.entries(catalogs)) {
    await writeFile(join(dataDir, 'catalogs', `${name}.json`), `${JSON.stringify(entries, null, 1)}\n`);
  }

  const bus = runs('connectors') || runs('pipeline') ? await openBus(config.bus, paths.busDir) : undefined;
  for (const feed of feeds) {
    await bus?.ensureTopic(rawTopic(feed), {
      partitions: config.topics.partitions,
      retentionMs: config.topics.retention_ms,
      retentionBytes: config.topics.retention_bytes,
    });
  }

  let worker: PipelineWorker | undefined;
  let writer: ParquetWriter | undefined;
  let lander: Lander | undefined;
  if (bus && runs('pipeline')) {
    await mkdir(paths.lakeDir, { recursive: true });
    const scratch = join(dataDir, 'tmp');
    await mkdir(scratch, { recursive: true });
    writer = await ParquetWriter.open(scratch);
    const normalizerOptions = {
      salt: config.privacy.salt,
      regionCodes: new Set(regions.map((r) => r.code)),
      videoEventCodes: videoCodes,
      maxPayloadBytes: config.landing.max_payload_bytes,
      minEventMs: Date.parse(`${config.landing.min_event_time}T00:00:00+08:00`),
      maxFutureSkewMs: config.landing.max_future_skew_ms,
      dedupeWindow: config.landing.dedupe_window,
    };
    lander = new Lander({
      store: new LocalLakeStore(paths.lakeDir),
      writer,
      normalizers: new Map(feeds.map((feed) => [rawTopic(feed), new Normalizer(feed, normalizerOptions)])),
      limits: {
        maxRows: config.landing.max_rows,
        maxBytes: config.landing.max_bytes,
        maxAgeMs: config.landing.max_age_ms,
      },
    });
    worker = new PipelineWorker({ bus, lander, topics: feeds.map(rawTopic), groupId: 'cityhub-pipeline', log });
    await worker.start();
  }

  const sent = (): Partial<Record<Feed, number>> => {
    const total: Partial<Record<Feed, number>> = {};
    for (const connector of connectors) {
      for (const [feed, n] of Object.entries(connector.health().sent) as [Feed, number][])
        total[feed] = (total[feed] ?? 0) + n;
    }
    return total;
  };

  let building: Promise<RunSummary['marts']> | undefined;
  const buildMarts = async (): Promise<RunSummary['marts']> => {
    const t0 = Date.now();
    const result = await runModels({
      lakeDir: paths.lakeDir,
      martsPath: paths.martsPath,
      sqlDir: paths.sqlDir,
      regionCode: config.region_code,
      catalogs,
    });
    const testsFailed = result.tests.filter((t) => !t.passed).length;
    log.info({ models: result.models.length, tests_failed: testsFailed, ms: Date.now() - t0 }, 'marts built');
    if (testsFailed > 0) log.warn({ failed: result.tests.filter((t) => !t.passed) }, 'data tests failed');
    await printIndicators(paths.martsPath, config.region_code, regions, out);
    return { models: result.models.length, testsFailed, martsPath: result.martsPath };
  };
  const scheduleBuild = () => {
    if (building) return building;
    building = buildMarts().finally(() => {
      building = undefined;
    });
    building.catch((error: unknown) => log.error({ err: error }, 'building the marts failed; will retry on schedule'));
    return building;
  };

  const tasks: { stop: () => unknown }[] = [];
  const timers: NodeJS.Timeout[] = [];
  if (runs('models')) {
    tasks.push(
      cron.schedule(config.models.schedule, () => void scheduleBuild().catch(() => {}), { timezone: 'Asia/Shanghai' }),
    );
    // A first picture soon after start, without waiting for the schedule: as soon as the first rows are durable in
    // the lake (or after 15 s whatever landed), unless a bounded run ends first and builds the marts anyway.
    let pictured = false;
    const firstPicture = () => {
      if (pictured) return;
      pictured = true;
      clearInterval(watch);
      void scheduleBuild().catch(() => {});
    };
    const watch = setInterval(() => {
      if (!lander || lander.stats.flushes > 0) firstPicture();
    }, 250);
    timers.push(watch);
    if (options.forMs === undefined || options.forMs > 15_000) timers.push(setTimeout(firstPicture, 15_000));
  }
  const progressEveryMs = options.progressEveryMs ?? 5_000;
  timers.push(
    setInterval(() => {
      const counts = lander?.stats.feeds ?? {};
      const total = { received: 0, landed: 0, dead_lettered: 0 };
      for (const c of Object.values(counts)) {
        total.received += c.received;
        total.landed += c.landed;
        total.dead_lettered += c.dead_lettered;
      }
      const produced = Object.values(sent()).reduce((a, b) => a + b, 0);
      out(
        `[${Math.round((Date.now() - started) / 1000)}s] messages sent ${produced.toLocaleString('en')} · records in ${total.received.toLocaleString('en')} · landed ${total.landed.toLocaleString('en')} · dead-lettered ${total.dead_lettered.toLocaleString('en')} · files ${lander?.stats.files ?? 0}`,
      );
    }, progressEveryMs),
  );

  for (const connector of connectors) {
    await connector.start({ producer: bus!.producer(), log: log.child({ connector: connector.id }) });
  }
  log.info({ role: options.role, connectors: connectors.map((c) => c.id), lake: paths.lakeDir }, 'hub running');

  await (options.forMs === undefined
    ? options.stopSignal
    : Promise.race([options.stopSignal, new Promise((r) => timers.push(setTimeout(r, options.forMs)))]));

  out('stopping: sources first, then draining the bus into the lake…');
  for (const timer of timers) clearTimeout(timer);
  for (const task of tasks) task.stop();
  await Promise.all(connectors.map((c) => c.stop()));
  if (worker) {
    await worker.drain();
    await worker.stop();
  }
  writer?.close();
  await bus?.close();
  await building?.catch(() => {});
  const marts = runs('models') ? await buildMarts() : null;
  const summary: RunSummary = {
    durationMs: Date.now() - started,
    stats: lander?.stats ?? { feeds: {}, rows: {}, files: 0, flushes: 0 },
    sent: sent(),
    marts,
  };
  out(formatSummary(summary));
  return summary;
}
