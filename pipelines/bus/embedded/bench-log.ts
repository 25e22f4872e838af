/**
 * Micro-benchmark of the embedded log (not a test): N messages of ~250 bytes, produced in sends of 1000 while one
 * consumer polls and commits after every poll, all in one process as in the hub. Reports msgs/s end to end
 * (first send → last commit), plus the time a reopen takes to recover the log it wrote.
 *
 *   npm run build && node dist/pipelines/bus/embedded/bench-log.js [--fsync always|never] [--messages 1000000]
 *     [--batch 1000] [--partitions 4] [--inflight 1] [--poll 10000] [--dir /tmp/somewhere]
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ProduceMessage } from '../types.js';
import { openEmbeddedBus } from './index.js';

const { values: args } = parseArgs({
  options: {
    fsync: { type: 'string', default: 'always' },
    messages: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    partitions: { type: 'string', default: '4' },
    inflight: { type: 'string', default: '1' },
    poll: { type: 'string', default: '10000' },
    dir: { type: 'string' },
  },
});
const fsync = args.fsync === 'never' ? 'never' : 'always';
const total = Number(args.messages);
const batchSize = Number(args.batch);
const partitions = Number(args.partitions);
const inflight = Number(args.inflight);
const pollSize = Number(args.poll);
const dir = args.dir ?? fs.mkdtempSync(join(tmpdir(), 'cityhub-bench-log-'));

/** A handful of distinct batches reused round-robin, so generating messages does not dominate. */
function makeBatches(): ProduceMessage[][] {
  return Array.from({ length: 16 }, (_, b) =>
    Array.from({ length: batchSize }, (_, i) => {
      const id = b * batchSize + i;
      const head = `{"sensor_id":"S${String(id % 5000).padStart(6, '0')}","observed_at":"2024-05-01T08:00:00+08:00","metric":"pm25","value":${(id % 977) / 10},"note":"`;
      return { key: `S${id % 5000}`, value: `${head}${'x'.repeat(Math.max(0, 248 - head.length))}"}` };
    }),
  );
}

async function main(): Promise<void> {
  const batches = makeBatches();
  const bus = await openEmbeddedBus({ dir, fsync });
  await bus.ensureTopic('bench', { partitions });
  const producer = bus.producer();
  const consumer = bus.consumer({ groupId: 'bench' });
  await consumer.subscribe(['bench']);

  const started = performance.now();
  let sent = 0;
  let sends = 0;
  const produce = async (): Promise<void> => {
    while (sent < total) {
      const batch = batches[sends++ % batches.length]!.slice(0, Math.min(batchSize, total - sent));
      sent += batch.length;
      await producer.send('bench', batch);
    }
  };
  const producing = Promise.all(Array.from({ length: inflight }, produce)).then(() => performance.now());

  let consumed = 0;
  let bytes = 0;
  let polls = 0;
  while (consumed < total) {
    const result = await consumer.poll({ maxMessages: pollSize, maxWaitMs: 1000 });
    polls++;
    for (const batch of result) {
      consumed += batch.messages.length;
      for (const message of batch.messages) bytes += message.value.length;
    }
    await consumer.commit(
      result.map((batch) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: batch.messages.at(-1)!.offset + 1,
      })),
    );
  }
  const finished = performance.now();
  const producedAt = await producing;
  await bus.close();

  const reopenStarted = performance.now();
  const reopened = await openEmbeddedBus({ dir, fsync });
  const reopenMs = performance.now() - reopenStarted;
  await reopened.close();
  const logBytes = fs
    .readdirSync(join(dir, 'bench'))
    .filter((name) => name !== 'topic.json')
    .flatMap((p) => fs.readdirSync(join(dir, 'bench', p)).map((f) => fs.statSync(join(dir, 'bench', p, f)).size))
    .reduce((a, b) => a + b, 0);
  if (!args.dir) fs.rmSync(dir, { recursive: true, force: true });

  const seconds = (finished - started) / 1000;
  const line = {
    fsync,
    messages: total,
    batch: batchSize,
    partitions,
    inflight,
    avgValueBytes: Math.round(bytes / consumed),
    seconds: Number(seconds.toFixed(2)),
    msgsPerSec: Math.round(total / seconds),
    produceOnlyMsgsPerSec: Math.round(total / ((producedAt - started) / 1000)),
    mbPerSec: Number((logBytes / 1e6 / seconds).toFixed(1)),
    polls,
    reopenRecoveryMs: Math.round(reopenMs),
    recoveryMbPerSec: Number((logBytes / 1e6 / (reopenMs / 1000)).toFixed(0)),
  };
  console.log(JSON.stringify(line));
}

await main();
