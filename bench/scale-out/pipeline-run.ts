/**
 * One measured run of the scale-out bench, in its own process: sends N sensor payloads through the bus of the chosen
 * path and waits until the pipeline (PipelineWorker + Lander + Normalizer, as the hub wires them) has landed every
 * one in a committed Parquet file, timing where the time goes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { s3rverLake } from '../../connectors/dept-files/s3rver-peer.js';
import { rawTopic } from '../../connectors/types.js';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import { KafkaBus } from '../../pipelines/bus/kafka/index.js';
import type { Bus } from '../../pipelines/bus/types.js';
import { bundledRegionsPath, loadCatalogFile } from '../../pipelines/catalogs/load.js';
import { landingConfig } from '../../pipelines/config/schema.js';
import { LocalLakeStore } from '../../pipelines/land/local-store.js';
import { ParquetWriter } from '../../pipelines/land/parquet-writer.js';
import { S3LakeStore } from '../../pipelines/land/s3-store.js';
import type { LakeStore } from '../../pipelines/land/store.js';
import { Normalizer } from '../../pipelines/normalize/normalizer.js';
import { PipelineWorker } from '../../pipelines/pipeline/worker.js';
import { type SensorPayloads, sensorKey } from '../sensor-payloads.js';
import { startProfiler } from './cpu-profile.js';
import type { BenchPath, RunResult } from './result.js';
import { TimedLakeStore, TimedLander } from './timed-lake.js';

export interface PipelineRunOptions {
  path: BenchPath;
  payloads: SensorPayloads;
  /** host:port of the Kafka-protocol test broker (kafka paths). */
  broker?: string;
  /** Process id of the broker: sent SIGUSR2 at the start and the end of the timed window, to mark its CPU time. */
  brokerPid?: number;
  /** s3rver endpoint and its bucket (kafka-s3). */
  s3?: { endpoint: string; bucket: string };
  /** Sample the main thread's CPU over the timed window (slows the run: for where the CPU goes, not for rates). */
  profile?: boolean;
}

/** Messages per send, as a connector's batch. */
const SEND_BATCH = 5_000;
const PARTITIONS = 4;
/** A run that has not drained in this long is broken, not slow. */
const DRAIN_TIMEOUT_MS = 600_000;

const landing = landingConfig.parse({});

/** CPU time all cores spent busy so far (ms), from the kernel's per-core counters. */
function machineBusyMs(): number {
  let busy = 0;
  for (const { times } of cpus()) busy += times.user + times.nice + times.sys + times.irq;
  return busy;
}

async function openBus(options: PipelineRunOptions, dir: string): Promise<Bus> {
  if (options.path === 'embedded') return openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'always' });
  if (!options.broker) throw new Error(`path ${options.path} needs --broker`);
  // The defaults a `bus: { type: kafka }` config gets, as a production hub would run.
  return KafkaBus.open({ brokers: [options.broker] });
}

function lakeStore(options: PipelineRunOptions, dir: string): LakeStore {
  if (options.path !== 'kafka-s3') return new LocalLakeStore(join(dir, 'lake'));
  if (!options.s3) throw new Error('path kafka-s3 needs --s3-endpoint');
  return new S3LakeStore({
    config: s3rverLake(options.s3.endpoint, options.s3.bucket, 'lake'),
    cacheDir: join(dir, 'lake-cache'),
  });
}

function markBroker(pid: number | undefined): void {
  if (pid !== undefined) process.kill(pid, 'SIGUSR2');
}

export async function pipelineRun(options: PipelineRunOptions): Promise<RunResult> {
  const { ndjson, starts, ends } = options.payloads;
  const count = starts.length;
  const dir = await mkdtemp(join(tmpdir(), `cityhub-bench-${options.path}-`));
  try {
    const bus = await openBus(options, dir);
    const topic = rawTopic('sensor');
    await bus.ensureTopic(topic, { partitions: PARTITIONS });
    const regions = loadCatalogFile('regions', bundledRegionsPath());
    const writer = await ParquetWriter.open(dir);
    const store = new TimedLakeStore(lakeStore(options, dir));
    const lander = new TimedLander({
      store,
      writer,
      generation: bus.generation,
      normalizers: new Map([
        [
          topic,
          new Normalizer('sensor', {
            salt: 'bench-salt',
            regionCodes: new Set(regions.map((r) => r.code)),
            maxPayloadBytes: landing.max_payload_bytes,
            minEventMs: Date.UTC(2000, 0, 1),
            maxFutureSkewMs: landing.max_future_skew_ms,
            dedupeWindow: landing.dedupe_window,
          }),
        ],
      ]),
      // The hub's default landing limits.
      limits: { maxRows: landing.max_rows, maxBytes: landing.max_bytes, maxAgeMs: landing.max_age_ms },
    });
    let offsetCommitMs = 0;
    const worker = new PipelineWorker({
      bus,
      lander,
      topics: [topic],
      groupId: 'bench',
      log: pino({ level: 'warn' }),
      onFlush: () => {
        offsetCommitMs += performance.now() - lander.lastFlushEnd;
      },
    });
    await worker.start();
    const producer = bus.producer();

    const profiler = options.profile ? await startProfiler() : undefined;
    markBroker(options.brokerPid);
    const cpu0 = process.cpuUsage();
    const machine0 = machineBusyMs();
    const t0 = performance.now();
    for (let i = 0; i < count; i += SEND_BATCH) {
      const messages = [];
      for (let j = i; j < Math.min(count, i + SEND_BATCH); j++)
        messages.push({ key: sensorKey(j), value: ndjson.subarray(starts[j]!, ends[j]!) });
      await producer.send(topic, messages);
    }
    const produced = performance.now();
    await worker.drain(DRAIN_TIMEOUT_MS);
    const drained = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const machineBusy = machineBusyMs() - machine0;
    markBroker(options.brokerPid);
    const profile = await profiler?.stop();

    await producer.close();
    await worker.stop();
    await writer.close();
    await bus.close();
    const landed = lander.stats.feeds.sensor;
    if (landed?.received !== count) throw new Error(`landed ${landed?.received} of ${count} records`);
    if (landed.landed !== count) throw new Error(`${count - landed.landed} of ${count} records were dead-lettered`);
    return {
      path: options.path,
      records: count,
      produceSeconds: (produced - t0) / 1000,
      drainedSeconds: (drained - t0) / 1000,
      flushes: lander.flushes.calls,
      flushSeconds: lander.flushes.ms / 1000,
      storeCommitSeconds: store.commits.ms / 1000,
      journalSeconds: store.journalWrites.ms / 1000,
      offsetCommitSeconds: offsetCommitMs / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      machineBusySeconds: machineBusy / 1000,
      cores: cpus().length,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      ...(profile ? { profile } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
