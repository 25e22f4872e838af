/**
 * End-to-end throughput of the embedded pipeline for sensor readings: records/s from the first bus append to the
 * last committed Parquet file, and peak RSS; beside DuckDB's own read_json of the same records as NDJSON → Parquet
 * (the reference), measured in the same run. Usage: npm run bench [-- --records N --runs K]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { rawTopic } from '../connectors/types.js';
import { openEmbeddedBus } from '../pipelines/bus/embedded/index.js';
import { bundledRegionsPath, loadCatalogFile } from '../pipelines/catalogs/load.js';
import { landingConfig } from '../pipelines/config/schema.js';
import { Lander } from '../pipelines/land/lander.js';
import { LocalLakeStore } from '../pipelines/land/local-store.js';
import { ParquetWriter } from '../pipelines/land/parquet-writer.js';
import { Normalizer } from '../pipelines/normalize/normalizer.js';
import { PipelineWorker } from '../pipelines/pipeline/worker.js';
import { averagePayloadBytes, type SensorPayloads, sensorKey, sensorPayloads } from './sensor-payloads.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    child: { type: 'string' },
  },
});
const records = Number(values.records);
const landing = landingConfig.parse({});
const runs = Number(values.runs);

async function pipelineRun({ ndjson, starts, ends }: SensorPayloads): Promise<{ seconds: number }> {
  const count = starts.length;
  const dir = await mkdtemp(join(tmpdir(), 'cityhub-bench-'));
  try {
    const bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'always' });
    const topic = rawTopic('sensor');
    await bus.ensureTopic(topic, { partitions: 4 });
    const regions = loadCatalogFile('regions', bundledRegionsPath());
    const writer = await ParquetWriter.open(dir);
    const lander = new Lander({
      store: new LocalLakeStore(join(dir, 'lake')),
      writer,
      normalizers: new Map([
        [
          topic,
          new Normalizer('sensor', {
            salt: 'bench-salt',
            regionCodes: new Set(regions.map((r) => r.code)),
            maxPayloadBytes: 1 << 20,
            minEventMs: Date.UTC(2000, 0, 1),
            maxFutureSkewMs: 86_400_000,
            dedupeWindow: landing.dedupe_window,
          }),
        ],
      ]),
      // The hub's default landing limits.
      limits: { maxRows: landing.max_rows, maxBytes: landing.max_bytes, maxAgeMs: landing.max_age_ms },
    });
    const worker = new PipelineWorker({ bus, lander, topics: [topic], groupId: 'bench', log: pino({ level: 'warn' }) });
    await worker.start();
    const producer = bus.producer();
    const t0 = performance.now();
    const batch = 5_000;
    for (let i = 0; i < count; i += batch) {
      const messages = [];
      for (let j = i; j < Math.min(count, i + batch); j++)
        messages.push({ key: sensorKey(j), value: ndjson.subarray(starts[j]!, ends[j]!) });
      await producer.send(topic, messages);
    }
    // Resolves once every record produced is in a committed Parquet file.
    await worker.drain();
    const seconds = (performance.now() - t0) / 1000;
    await worker.stop();
    writer.close();
    await bus.close();
    const landed = lander.stats.feeds.sensor;
    if (landed?.received !== count) throw new Error(`landed ${landed?.received} of ${count} records`);
    return { seconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function referenceRun({ ndjson }: SensorPayloads): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'cityhub-bench-ref-'));
  try {
    const path = join(dir, 'sensor.ndjson');
    await writeFile(path, ndjson);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const t0 = performance.now();
    await connection.run(
      `copy (select * from read_json('${path}')) to '${join(dir, 'out.parquet')}' (format parquet, compression zstd)`,
    );
    const seconds = (performance.now() - t0) / 1000;
    connection.closeSync();
    instance.closeSync();
    return seconds;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface RunResult {
  seconds: number;
  /** Peak RSS of the run's process, and its RSS once the payloads were generated (before the timed part). */
  peakRssMiB: number;
  payloadRssMiB: number;
}

const mib = (bytes: number) => bytes / 1024 / 1024;

// Each measured run is its own process, so its peak RSS is its own and runs do not warm each other up.
if (values.child) {
  const set = sensorPayloads(records);
  const payloadRssMiB = mib(process.memoryUsage().rss);
  const seconds = values.child === 'pipeline' ? (await pipelineRun(set)).seconds : await referenceRun(set);
  const result: RunResult = { seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, payloadRssMiB };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const averageBytes = averagePayloadBytes(sensorPayloads(1000));
  console.log(
    `sensor readings: ${records.toLocaleString('en')} records, ${averageBytes.toFixed(0)} B average payload, ${runs} runs, fsync always`,
  );
  const child = (kind: string): RunResult =>
    JSON.parse(
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, '--records', String(records)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
  const ours: number[] = [];
  const reference: number[] = [];
  const peaks: number[] = [];
  let payloadRss = 0;
  for (let run = 1; run <= runs; run++) {
    const pipeline = child('pipeline');
    const ref = child('reference');
    ours.push(records / pipeline.seconds);
    reference.push(records / ref.seconds);
    peaks.push(pipeline.peakRssMiB);
    payloadRss = pipeline.payloadRssMiB;
    console.log(
      `run ${run}: pipeline ${(records / pipeline.seconds).toFixed(0)} rec/s (${pipeline.seconds.toFixed(2)} s, peak RSS ${pipeline.peakRssMiB.toFixed(0)} MiB) · DuckDB read_json→Parquet ${(records / ref.seconds).toFixed(0)} rec/s (${ref.seconds.toFixed(2)} s)`,
    );
  }
  console.log(
    `median: pipeline ${median(ours).toFixed(0)} rec/s · reference ${median(reference).toFixed(0)} rec/s · ratio ${(median(ours) / median(reference)).toFixed(3)} · pipeline peak RSS ${median(peaks).toFixed(0)} MiB (${payloadRss.toFixed(0)} MiB of it is the process with its generated payloads, before the timed part)`,
  );
}
