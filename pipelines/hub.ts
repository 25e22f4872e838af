import { mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import cron from 'node-cron';
import type { Logger } from 'pino';
import { createConnector } from '../connectors/index.js';
import { SourceCheckpoint } from '../connectors/source-checkpoint.js';
import { type ConnectorHealth, type Feed, feeds, rawTopic } from '../connectors/types.js';
import type { CatalogName } from '../schemas/index.js';
import { type ServingApi, serveApi } from './api/serve.js';
import { EmbeddedBusLockedError } from './bus/embedded/errors.js';
import { DirLock, EmbeddedBusLockedElsewhereError } from './bus/embedded/lock.js';
import { type Bus, openBus, type TopicPartition } from './bus/index.js';
import { loadCatalogs, publishCatalogs } from './catalogs/effective.js';
import type { Catalogs } from './catalogs/load.js';
import { fetchSharedCatalogs, shareProvidedCatalogs } from './catalogs/shared.js';
import { describeCatalogSource } from './catalogs/sources.js';
import { type LoadedConfig, lakeLocation } from './config/load.js';
import { type PreflightResult, preflight, undeclaredResourceFields } from './config/preflight.js';
import { CityhubError } from './errors.js';
import { memberSeedsOf, pullMembers } from './federation/members.js';
import { describeCompaction, runCompactionJob } from './land/compact-job.js';
import { Lander, type LandingStats, type MessageNormalizer } from './land/lander.js';
import { LocalLakeStore } from './land/local-store.js';
import { ParquetWriter, writerThreadsFor } from './land/parquet-writer.js';
import { S3LakeStore } from './land/s3-store.js';
import type { LakeStore } from './land/store.js';
import { compileMapping } from './mapping/compile.js';
import { builtinMapping } from './mapping/index.js';
import { BuildThread } from './models/build-thread.js';
import { DataTestsFailedError } from './models/errors.js';
import {
  describeLakeSync,
  describeLockHolder,
  loadProject,
  runModels,
  syncModelsLake,
  withBuildLock,
} from './models/index.js';
import { ConnectorDeadLetterReader, deadLetterTopic } from './normalize/connector-dead-letter.js';
import type { SourceMapping } from './normalize/mappings/index.js';
import { Normalizer, type NormalizerOptions } from './normalize/normalizer.js';
import { type RunningOps, startOps } from './ops/ops-runtime.js';
import { pipelineMember } from './pipeline/member.js';
import { PipelineWorker } from './pipeline/worker.js';
import { PersonalDataMasker } from './privacy/masker.js';
import { maskingProducer } from './privacy/masking-producer.js';
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
  /** Each connector's health as it stopped: what it appended, dead-lettered, retried, and its own counters. */
  connectors: { id: string; kind: string; health: ConnectorHealth }[];
  marts: { models: number; testsFailed: number; martsPath: string } | null;
  /** Why the run did not end cleanly (a connector failed, the bus could not be drained, the marts failed): exit 1. */
  problems: string[];
}

/** How long a scheduled compaction waits for a models build (of this process or another) to end. */
const COMPACTION_LOCK_WAIT_MS = 10 * 60_000;

/** The hub was asked to stop before it had started (waiting for what another process provides). */
export class HubStoppedError extends CityhubError {}

/** Another cityhub process runs connectors or the pipeline on this data dir. */
export class DataDirInUseError extends CityhubError {
  constructor(
    readonly dataDir: string,
    cause: unknown,
  ) {
    super(
      `data_dir ${dataDir} is in use by another cityhub process: over Kafka, every process running connectors or the pipeline needs a data_dir of its own (its checkpoints, scratch files and pipeline member id live there). ${cause instanceof Error ? cause.message : ''}`,
      { cause, retriable: false },
    );
  }
}

function lockDataDir(dataDir: string): DirLock {
  mkdirSync(dataDir, { recursive: true });
  try {
    return DirLock.acquire(dataDir);
  } catch (error) {
    if (error instanceof EmbeddedBusLockedError || error instanceof EmbeddedBusLockedElsewhereError)
      throw new DataDirInUseError(dataDir, error);
    throw error;
  }
}

/** An AbortSignal that aborts when `stop` resolves. */
function abortOn(stop: Promise<void>): AbortSignal {
  const controller = new AbortController();
  void stop.then(() => controller.abort());
  return controller.signal;
}

/** True when `work` settles within `ms`; the timer does not keep the process alive. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long after start the marts are rebuilt after each flush (then on models.schedule). */
const FOLLOW_FLUSHES_MS = 60_000;

/** The configured personal feeds, and always those a mapping of which says its payloads are personal (the hotline). */
function personalFeedsOf(
  configured: readonly Feed[],
  mappings: Readonly<Record<Feed, SourceMapping>>,
  sourceMappings: ReadonlyMap<Feed, ReadonlyMap<string, SourceMapping>>,
): ReadonlySet<Feed> {
  const personal = (feed: Feed) =>
    mappings[feed].personal || [...(sourceMappings.get(feed)?.values() ?? [])].some((m) => m.personal);
  return new Set(feeds.filter((feed) => personal(feed) || configured.includes(feed)));
}

/** The api role in a process of its own: serves the published marts until stopped, then finishes what is in flight. */
async function runApiRole(
  loaded: LoadedConfig,
  options: RunOptions,
  started: number,
  { ops, startStatusFile }: RunningOps,
): Promise<RunSummary> {
  const { log, out } = options;
  const dataDir = resolve(loaded.paths.baseDir, loaded.config.data_dir);
  const api = await serveApi(loaded, dataDir, log.child({ role: 'api' }), {
    status: () => ops.status(),
    requests: ops.countApiRequests(),
  });
  out(`api listening on ${api.url} (${loaded.config.api.tokens.length} token(s))`);
  await startStatusFile();
  ops.setState('running');
  const timers: NodeJS.Timeout[] = [];
  await (options.forMs === undefined
    ? options.stopSignal
    : Promise.race([options.stopSignal, new Promise((r) => timers.push(setTimeout(r, options.forMs)))]));
  for (const timer of timers) clearTimeout(timer);
  ops.setState('stopping');
  out('stopping: the api finishes the requests in flight…');
  await api.close();
  return {
    durationMs: Date.now() - started,
    stats: { feeds: {}, rows: {}, files: 0, flushes: 0 },
    sent: {},
    connectors: [],
    marts: null,
    problems: [],
  };
}

/**
 * Runs the hub's roles until stopped (or for `forMs`), then shuts down in order: sources, pipeline, marts; the
 * metrics listener and the status file (pipelines/ops) start first and end last, after the summary.
 */
export async function runHub(loaded: LoadedConfig, options: RunOptions): Promise<RunSummary> {
  // Everything `config check` rejects fails here, before anything is written (preflight only reads).
  const checked = preflight(loaded);
  const buildsMarts = options.role === 'all' || options.role === 'models';
  // A metrics port in use stops the run here, before the bus is opened (OpsListenError).
  const ops = await startOps(loaded, { role: options.role, buildsMarts, log: options.log });
  if (ops.url !== undefined) options.out(`metrics on ${ops.url}/metrics, status on ${ops.url}/api/v1/status`);
  try {
    return await runRoles(loaded, checked, options, ops);
  } finally {
    await ops.close();
  }
}

async function runRoles(
  loaded: LoadedConfig,
  checked: PreflightResult,
  options: RunOptions,
  operations: RunningOps,
): Promise<RunSummary> {
  const { config, paths } = loaded;
  const { log, out } = options;
  const { ops } = operations;
  const started = Date.now();
  const runs = (role: Role) => options.role === 'all' || options.role === role;
  // The api role alone reads the published marts and nothing else: no bus, no catalogs, no lake.
  if (options.role === 'api') return runApiRole(loaded, options, started, operations);
  // As `config check`: a broken model file or macro stops the hub now, not at its first marts build.
  if (runs('models')) await loadProject(paths.sqlDir);

  const { regions } = checked.catalogs;
  const dataDir = resolve(paths.baseDir, config.data_dir);
  const checkpointDir = join(dataDir, 'checkpoints');
  const connectors = runs('connectors')
    ? config.connectors.map((c) => createConnector(c, { regions, checkpointDir, baseDir: paths.baseDir }))
    : [];
  ops.watchConnectors(connectors);

  const kafka = config.bus.type === 'kafka';
  // One S3 client for landing, the models' mirror syncs and the catalogs roles share; destroyed at the end.
  const s3Store =
    config.lake.type === 's3' ? new S3LakeStore({ config: config.lake, cacheDir: paths.lakeCacheDir }) : undefined;
  const lakeStore: LakeStore = s3Store ?? new LocalLakeStore(paths.lakeDir);
  // Over Kafka, processes share the work and each needs a data dir of its own (checkpoints, scratch, staging, its
  // pipeline member id); the embedded bus takes that lock itself (its log is in the data dir).
  let dataDirLock: DirLock | undefined;
  let bus: Bus | undefined;
  let catalogs: Catalogs;
  const running = new Set(connectors.map((c) => c.id));
  try {
    if (kafka && (runs('connectors') || runs('pipeline'))) dataDirLock = lockDataDir(dataDir);
    // A hub refused by the bus's lock must not touch the catalogs of the hub that holds it.
    bus = runs('connectors') || runs('pipeline') ? await openBus(config.bus, paths) : undefined;
    // Only now is the data dir this process's (the bus's or the data dir's lock): its status file may be written.
    await operations.startStatusFile();
    // Roles running apart get the catalogs a connector of another process provides through the lake.
    if (
      kafka &&
      !(await fetchSharedCatalogs(checked.catalogSources, running, lakeStore, dataDir, {
        log,
        signal: abortOn(options.stopSignal),
      }))
    )
      throw new HubStoppedError('stopped while waiting for the catalogs another process provides');
    catalogs = await loadCatalogs(checked.catalogSources, { dataDir, connectors, loaded: checked.catalogs });
    if (bus) await publishCatalogs(catalogs, dataDir);
    if (kafka && running.size > 0) await shareProvidedCatalogs(catalogs, checked.catalogSources, running, lakeStore);
  } catch (error) {
    await bus?.close();
    dataDirLock?.release();
    s3Store?.client.destroy();
    throw error;
  }
  // Catalogs a connector provides are known only now: warn over all of them (config check saw the files only).
  for (const warning of undeclaredResourceFields(catalogs.data_resources)) log.warn(warning);
  for (const [name, source] of Object.entries(checked.catalogSources)) {
    const entries = catalogs[name as CatalogName].length;
    log.info({ catalog: name, source: describeCatalogSource(source), entries }, 'catalog source');
  }

  // Each feed has its raw topic and the topic where connectors put what they cannot send raw (too large, unreadable).
  const topics = feeds.flatMap((feed) => [rawTopic(feed), deadLetterTopic(feed)]);
  for (const topic of topics) {
    await bus?.ensureTopic(topic, {
      partitions: config.topics.partitions,
      retentionMs: config.topics.retention_ms,
      retentionBytes: config.topics.retention_bytes,
    });
  }
  const hashKey = { id: config.privacy.key_id, key: (config.privacy.hmac_key ?? config.privacy.salt)! };
  const limits = { maxDepth: config.landing.max_depth, maxStringBytes: config.landing.max_string_bytes };
  const masker = new PersonalDataMasker(hashKey, config.privacy.personal_fields, limits);
  // Configured mappings compile against every catalog, the connectors' included (device and resource lookups).
  const mappings = Object.fromEntries(
    feeds.map((feed) => {
      const loadedMapping = feed === 'dept' ? undefined : checked.mappings.byFeed[feed];
      return [feed, loadedMapping ? compileMapping(loadedMapping, catalogs) : builtinMapping(feed)];
    }),
  ) as Record<Feed, SourceMapping>;
  // A source's own mapping applies to what it sends, whatever feed it sends on (keyed by its cityhub-source id: a
  // connector's id, or the id of one of its sources).
  const sourceMappings = new Map<Feed, Map<string, SourceMapping>>();
  for (const [sourceId, own] of checked.mappings.bySource) {
    const forFeed = sourceMappings.get(own.feed) ?? new Map<string, SourceMapping>();
    forFeed.set(sourceId, compileMapping(own, catalogs));
    sourceMappings.set(own.feed, forFeed);
  }
  const personalFeeds = personalFeedsOf(config.privacy.personal_feeds, mappings, sourceMappings);

  let worker: PipelineWorker | undefined;
  let writer: ParquetWriter | undefined;
  let lander: Lander | undefined;
  /** Called after each committed flush (the first marts builds follow them: see the models role below). */
  let afterFlush: (() => void) | undefined;
  if (bus && runs('pipeline')) {
    await mkdir(paths.lakeDir, { recursive: true });
    const scratch = join(dataDir, 'tmp');
    await mkdir(scratch, { recursive: true });
    const normalizerOptions: NormalizerOptions = {
      salt: hashKey.key,
      keyId: hashKey.id,
      masker,
      regionCodes: new Set(regions.map((r) => r.code)),
      dataResources: catalogs.data_resources,
      maxPayloadBytes: config.landing.max_payload_bytes,
      minEventMs: Date.parse(`${config.landing.min_event_time}T00:00:00+08:00`),
      maxFutureSkewMs: config.landing.max_future_skew_ms,
      dedupeWindow: config.landing.dedupe_window,
      maxDepth: limits.maxDepth,
      maxStringBytes: limits.maxStringBytes,
      maxRecordsPerMessage: config.landing.max_records_per_message,
      bulk: config.landing.bulk,
    };
    const normalizers = new Map<string, MessageNormalizer>();
    for (const feed of feeds) {
      normalizers.set(
        rawTopic(feed),
        new Normalizer(feed, {
          ...normalizerOptions,
          mapping: mappings[feed],
          sourceMappings: sourceMappings.get(feed),
          personal: personalFeeds.has(feed),
        }),
      );
      normalizers.set(deadLetterTopic(feed), new ConnectorDeadLetterReader(feed));
    }
    const bulk = [...normalizers.values()].some((normalizer) => normalizer.takesBulkPath === true);
    writer = await ParquetWriter.open(scratch, writerThreadsFor(bulk));
    lander = new Lander({
      store: lakeStore,
      writer,
      normalizers,
      onBulkFailure: (dataset, messages, error) =>
        log.warn(
          { err: error, dataset, messages },
          'the bulk statement failed; these messages took the record path (results are the same, only slower)',
        ),
      generation: bus.generation,
      // Over Kafka another process may have had these partitions: it waits for a journal as young as its session.
      ...(config.bus.type === 'kafka'
        ? {
            member: await pipelineMember(dataDir),
            journalGraceMs: config.bus.session_timeout_ms,
            owns: (tp: TopicPartition) => worker?.owns(tp) ?? false,
          }
        : {}),
      limits: {
        maxRows: config.landing.max_rows,
        maxBytes: config.landing.max_bytes,
        maxAgeMs: config.landing.max_age_ms,
        firstMaxAgeMs: config.landing.first_flush_age_ms,
      },
    });
    worker = new PipelineWorker({
      bus,
      lander,
      topics,
      groupId: 'cityhub-pipeline',
      log,
      onFlush: (_committed, ms) => {
        ops.flushDurations.observe(ms / 1000);
        afterFlush?.();
      },
    });
    ops.watchPipeline(lander, worker);
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
  const federation = memberSeedsOf(loaded);
  // Builds run off this thread, whose event loop the connectors and the lander keep busy (models/build-thread.ts).
  const buildThread = runs('models') ? new BuildThread() : undefined;
  buildThread?.start();
  const buildMartsOnce = async (): Promise<RunSummary['marts']> => {
    const t0 = Date.now();
    // Several models processes may share the marts location: one builds, the others skip this turn.
    const outcome = await withBuildLock(paths.martsPath, { log }, async (signal) => {
      const synced = await syncModelsLake(loaded, {
        ...(s3Store ? { store: s3Store } : {}),
        onProgress: (progress, done) => log.info({ ...progress, done }, 'syncing the lake mirror'),
      });
      if (synced) log.info({ ...synced, ms: Date.now() - t0 }, describeLakeSync(synced));
      return runModels({
        lakeDir: paths.lakeDir,
        lakeStore,
        martsPath: paths.martsPath,
        sqlDir: paths.sqlDir,
        regionCode: config.region_code,
        catalogs,
        indicators: config.models.indicators,
        lookbackDays: config.models.lookback_days,
        ...(config.models.memory_limit === undefined ? {} : { memoryLimit: config.models.memory_limit }),
        ...(federation === undefined ? {} : { federation }),
        ...(buildThread === undefined ? {} : { thread: buildThread }),
        signal,
      });
    });
    if (!outcome.built) {
      log.info(
        { holder: outcome.holder },
        `another models process is building: ${describeLockHolder(outcome.holder)}; skipping this build`,
      );
      return null;
    }
    const result = outcome.value;
    // A failing error-severity test throws DataTestsFailedError (the previous snapshot stays published); what
    // returns here was published, with any warn-severity failures.
    const testsFailed = result.warnings.length;
    const incremental = result.models.filter((m) => m.mode === 'incremental');
    log.info(
      {
        models: result.models.length,
        incremental_models: incremental.length,
        lake_days_recomputed: Math.max(0, ...incremental.map((m) => m.days ?? 0)),
        ...(result.fullBuildReason === undefined ? {} : { full_build: result.fullBuildReason }),
        test_warnings: testsFailed,
        ms: Date.now() - t0,
      },
      'marts built',
    );
    if (testsFailed > 0) log.warn({ warnings: result.warnings }, 'data tests of warn severity failed');
    // A report the same as the last one printed says nothing new (builds follow every flush at first): skipped,
    // except at the final build, which always shows where the run ended.
    const report: string[] = [];
    await printIndicators(paths.martsPath, config.region_code, regions, (line) => report.push(line));
    const text = report.join('\n');
    if (finalBuild || text !== lastReport) for (const line of report) out(line);
    lastReport = text;
    return { models: result.models.length, testsFailed, martsPath: result.martsPath };
  };
  let lastReport: string | undefined;
  let finalBuild = false;
  // Every build, scheduled or final, is timed and its outcome kept for /metrics and the status.
  const buildMarts = () => ops.trackMartsBuild(buildMartsOnce);
  const scheduleBuild = () => {
    if (building) return building;
    building = buildMarts().finally(() => {
      building = undefined;
    });
    building.catch((error: unknown) =>
      log.error(
        { err: error, ...(error instanceof DataTestsFailedError ? { failures: error.failures } : {}) },
        error instanceof DataTestsFailedError
          ? 'data tests failed: the new marts were not published (the previous snapshot stays); will rebuild on schedule'
          : 'building the marts failed; will retry on schedule',
      ),
    );
    return building;
  };

  // Lake compaction on its own schedule, in the process that builds the marts: it runs holding the same build lock,
  // so a build never reads a day folder mid-swap (a scheduled build meanwhile skips its turn).
  let compacting: Promise<void> | undefined;
  const stopCompaction = new AbortController();
  const compactOnSchedule = async (): Promise<void> => {
    const t0 = Date.now();
    try {
      const outcome = await runCompactionJob(loaded, {
        store: lakeStore,
        lockWaitMs: COMPACTION_LOCK_WAIT_MS,
        log,
        signal: stopCompaction.signal,
      });
      if (!outcome.ran) {
        log.info({ holder: outcome.holder }, 'lake compaction skipped: the models build lock stayed busy');
        return;
      }
      const { report } = outcome;
      log.info(
        {
          days_compacted: report.compacted.length,
          files_before: report.compacted.reduce((sum, d) => sum + d.filesBefore, 0),
          files_after: report.compacted.length,
          bytes_before: report.compacted.reduce((sum, d) => sum + d.bytesBefore, 0),
          bytes_after: report.compacted.reduce((sum, d) => sum + d.bytes, 0),
          days_removed: report.expired.length,
          files_removed: report.expired.reduce((sum, d) => sum + d.files, 0),
          ...report.recovered,
          ms: Date.now() - t0,
        },
        `lake compaction: ${describeCompaction(report)}`,
      );
    } catch (error) {
      if (stopCompaction.signal.aborted) log.info('lake compaction stopped by the shutdown; the next run resumes');
      else log.error({ err: error }, 'lake compaction failed; will retry on schedule');
    }
  };

  const tasks: { stop: () => unknown }[] = [];
  const timers: NodeJS.Timeout[] = [];
  const compactionSchedule = config.lake.compaction.schedule;
  if (runs('models') && compactionSchedule !== undefined) {
    tasks.push(
      cron.schedule(
        compactionSchedule,
        () => {
          compacting ??= compactOnSchedule().finally(() => {
            compacting = undefined;
          });
        },
        { timezone: 'Asia/Shanghai' },
      ),
    );
  }
  // A province or national hub pulls its members on its schedule (and once at start), then builds: new values and a
  // member gone stale both show in the next marts.
  let pulling: Promise<void> | undefined;
  const pullThenBuild = () => {
    pulling ??= pullMembers(loaded, { log: log.child({ role: 'federation' }) })
      .then((outcomes) => {
        if (outcomes.some((o) => o.status === 'pulled' || o.status === 'failed')) void scheduleBuild().catch(() => {});
      })
      .catch((error: unknown) => log.error({ err: error }, 'federation pull failed'))
      .finally(() => {
        pulling = undefined;
      });
  };
  if (runs('models') && federation !== undefined) {
    tasks.push(cron.schedule(config.federation.schedule, pullThenBuild, { timezone: 'Asia/Shanghai' }));
    pullThenBuild();
  }
  if (runs('models')) {
    let pictured = false;
    tasks.push(
      // Not before the first picture: a schedule tick right after start would build marts of nothing.
      cron.schedule(config.models.schedule, () => pictured && void scheduleBuild().catch(() => {}), {
        timezone: 'Asia/Shanghai',
      }),
    );
    // A first picture soon after start, without waiting for the schedule: as soon as the first rows are durable in
    // the lake (or after 15 s whatever landed), unless a bounded run ends first and builds the marts anyway. In the
    // demo's first minute the picture follows the flushes (a build after each, one at a time): the first rows are a
    // sliver of what the sources' backlogs hold, and the schedule's next build can be a minute away.
    const startedAt = Date.now();
    // Only the built-in demo (no config file) follows the flushes: a configured hub's first minutes may land a
    // backlog, and an upper tier pulling recent periods would keep older values of a snapshot built mid-way.
    const followFlushes = loaded.file === undefined;
    let seenFlushes = 0;
    const firstPicture = () => {
      pictured = true;
      void scheduleBuild().catch(() => {});
    };
    const followFlush = () => {
      const flushes = lander ? lander.stats.flushes : 1;
      if (flushes > seenFlushes && building === undefined) {
        seenFlushes = flushes;
        firstPicture();
      }
      if (!followFlushes || Date.now() - startedAt > FOLLOW_FLUSHES_MS || !lander) {
        if (pictured) {
          clearInterval(watch);
          afterFlush = undefined;
        }
      }
    };
    // At once after a flush (the first picture waits for nothing more), and every 250 ms for a flush that came while
    // a build was in progress.
    afterFlush = followFlush;
    const watch = setInterval(followFlush, 250);
    timers.push(watch);
    if (options.forMs === undefined || options.forMs > 15_000)
      timers.push(setTimeout(() => pictured || firstPicture(), 15_000));
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
        `[${Math.round((Date.now() - started) / 1000)}s] messages sent ${produced.toLocaleString('en')} · records in ${total.received.toLocaleString('en')} · landed ${total.landed.toLocaleString('en')} · dead-lettered ${total.dead_lettered.toLocaleString('en')} · files ${lander?.stats.files ?? 0}${troubles()}`,
      );
    }, progressEveryMs),
  );

  // What is wrong right now, for the progress line: a pipeline backing off, a connector failing or retrying.
  const troubles = (): string => {
    const notes: string[] = [];
    const pipeline = worker?.health();
    if (pipeline?.state === 'backing_off')
      notes.push(`landing paused after ${pipeline.failures} failure(s): ${pipeline.last_error ?? 'unknown error'}`);
    for (const connector of connectors) {
      const health = connector.health();
      if (health.state === 'failed' || health.error)
        notes.push(`connector ${connector.id} ${health.state}${health.error ? `: ${health.error}` : ''}`);
    }
    return notes.length > 0 ? ` · ${notes.join(' · ')}` : '';
  };

  const problems: string[] = [];
  for (const connector of connectors) {
    // Personal data is masked here, before the bus: the first durable write of anything a connector sends.
    const connectorLog = log.child({ connector: connector.id });
    const checkpoint = await SourceCheckpoint.open(join(checkpointDir, `${connector.id}.json`), {
      bus: bus!,
      topics,
      log: connectorLog,
    });
    // The guard sits below the masking, so it records and recognises the bytes the bus really holds.
    const producer = maskingProducer(checkpoint.guard(bus!.producer()), masker, personalFeeds);
    try {
      await connector.start({ producer, checkpoint, log: connectorLog, dataResources: catalogs.data_resources });
    } catch (error) {
      // E.g. a listener whose port is taken: the hub shuts down in order instead of running without that source.
      const why = error instanceof Error ? error.message : String(error);
      problems.push(`connector ${connector.id} could not start: ${why}`);
      log.error({ err: error, connector: connector.id }, 'connector could not start; stopping');
      break;
    }
  }
  // The upstream API beside the other roles (`all`) only when a token is configured: a demo without upper tiers
  // listens on no port.
  let api: ServingApi | undefined;
  if (problems.length === 0 && runs('api') && config.api.tokens.length > 0) {
    try {
      api = await serveApi(loaded, dataDir, log.child({ role: 'api' }), {
        status: () => ops.status(),
        requests: ops.countApiRequests(),
      });
      out(`api listening on ${api.url} (${config.api.tokens.length} token(s))`);
    } catch (error) {
      problems.push(
        `the api could not listen on ${config.api.listen}: ${error instanceof Error ? error.message : String(error)}`,
      );
      log.error({ err: error }, 'api could not start; stopping');
    }
  }
  if (problems.length === 0) {
    ops.setState('running');
    log.info(
      { role: options.role, connectors: connectors.map((c) => c.id), lake: lakeLocation(loaded) },
      'hub running',
    );
    await (options.forMs === undefined
      ? options.stopSignal
      : Promise.race([options.stopSignal, new Promise((r) => timers.push(setTimeout(r, options.forMs)))]));
  }

  ops.setState('stopping');
  out('stopping: sources first, then draining the bus into the lake…');
  for (const timer of timers) clearTimeout(timer);
  for (const task of tasks) task.stop();
  // A compaction stops before its next day (each day is whole or recoverable): the final build must not wait long.
  stopCompaction.abort();
  // In their listed order, each after the one before: a connector that feeds another (the demo publishing to the
  // MQTT broker a sensor-mqtt connector reads) is listed first and has delivered everything before that one stops.
  // A connector waiting on the bus (backpressure while landing fails) must not hold the shutdown past its limit.
  const stopInOrder = async () => {
    for (const connector of connectors) await connector.stop();
  };
  if (!(await settlesWithin(stopInOrder(), config.landing.drain_timeout_ms)))
    problems.push(`connectors did not stop within ${config.landing.drain_timeout_ms} ms (landing.drain_timeout_ms)`);
  for (const connector of connectors) {
    const health = connector.health();
    if (health.state === 'failed')
      problems.push(`connector ${connector.id} failed: ${health.error ?? 'unknown error'}`);
  }
  if (worker) {
    try {
      await worker.drain(config.landing.drain_timeout_ms);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
      log.error({ err: error }, 'stopping without landing everything');
    }
    await worker.stop();
  }
  await writer?.close();
  await bus?.close();
  await pulling;
  await building?.catch(() => {});
  await compacting;
  let marts: RunSummary['marts'] = null;
  if (runs('models')) {
    try {
      finalBuild = true;
      marts = await buildMarts();
    } catch (error) {
      problems.push(`building the marts failed: ${error instanceof Error ? error.message : String(error)}`);
      log.error({ err: error }, 'building the marts failed');
    }
  }
  await buildThread?.close();
  await api?.close();
  s3Store?.client.destroy();
  dataDirLock?.release();
  const summary: RunSummary = {
    durationMs: Date.now() - started,
    stats: lander?.stats ?? { feeds: {}, rows: {}, files: 0, flushes: 0 },
    sent: sent(),
    connectors: connectors.map((c) => ({ id: c.id, kind: c.kind, health: c.health() })),
    marts,
    problems,
  };
  out(formatSummary(summary));
  for (const problem of problems) out(`problem: ${problem}`);
  return summary;
}
