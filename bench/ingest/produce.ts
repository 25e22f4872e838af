/**
 * The producer of a feed's bench: generates the payloads, writes them as one NDJSON file (what the DuckDB reference
 * reads) and appends them to an embedded bus in `dir` (fsync always), so the pipeline process that measures only
 * consumes, and never holds the generated payloads.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rawTopic } from '../../connectors/types.js';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import type { ProduceMessage } from '../../pipelines/bus/types.js';
import { type BenchFeed, benchFeeds, feedBenches } from './feeds.js';
import type { Expected, GenerateOptions } from './payload-set.js';

export const PARTITIONS = 4;
/** Messages and bytes per bus send, as a connector's batch. */
const SEND_MESSAGES = 5_000;
const SEND_BYTES = 16 * 1024 * 1024;

export const busDir = (dir: string) => join(dir, 'bus');
export const ndjsonPath = (dir: string) => join(dir, 'payloads.ndjson');

export interface Produced {
  messages: number;
  /** Payload bytes, without the NDJSON newlines. */
  bytes: number;
  expected: Expected;
  /** The appends alone (what connectors pay per record before the pipeline): seconds and CPU µs. */
  appendSeconds: number;
  appendCpuMicros: number;
}

export async function produce(
  feed: BenchFeed,
  records: number,
  dir: string,
  options: GenerateOptions,
): Promise<Produced> {
  // Each feed its own stream of the seed, so their invalid and duplicate records do not fall in the same places.
  const set = feedBenches[feed].generate(records, { ...options, seed: options.seed * 7 + benchFeeds.indexOf(feed) });
  await writeFile(ndjsonPath(dir), set.ndjson);
  const bus = await openEmbeddedBus({ dir: busDir(dir), fsync: 'always' });
  let appendSeconds = 0;
  let appendCpuMicros = 0;
  try {
    const topic = rawTopic(feedBenches[feed].feed);
    await bus.ensureTopic(topic, { partitions: PARTITIONS });
    const producer = bus.producer();
    const { ndjson, keys, offsets } = set;
    let batch: ProduceMessage[] = [];
    let batchBytes = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < set.messages; i++) {
      const value = ndjson.subarray(offsets[4 * i]!, offsets[4 * i + 1]!);
      batch.push({ key: keys.toString('utf8', offsets[4 * i + 2]!, offsets[4 * i + 3]!), value });
      batchBytes += value.length;
      if (batch.length >= SEND_MESSAGES || batchBytes >= SEND_BYTES || i === set.messages - 1) {
        await producer.send(topic, batch);
        batch = [];
        batchBytes = 0;
      }
    }
    await producer.close();
    const used = process.cpuUsage(cpu);
    appendSeconds = (performance.now() - started) / 1000;
    appendCpuMicros = used.user + used.system;
  } finally {
    await bus.close();
  }
  return {
    messages: set.messages,
    bytes: set.ndjson.length - set.messages,
    expected: set.expected,
    appendSeconds,
    appendCpuMicros,
  };
}
