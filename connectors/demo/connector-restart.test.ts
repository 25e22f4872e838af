import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import type { Bus, BusProducer } from '../../pipelines/bus/types.js';
import { deadLetterTopic } from '../../pipelines/normalize/connector-dead-letter.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { feeds, rawTopic } from '../types.js';
import { DemoConnector } from './connector.js';
import { historyMessages } from './index.js';
import { regions } from './testing/fixtures.js';

const log = pino({ level: 'silent' });
const config = {
  id: 'demo',
  kind: 'demo' as const,
  seed: 8,
  start_month: '2026-03',
  months: 1,
  scale: 0.05,
  live: false,
  live_tick_ms: 1000,
  batch_size: 30,
};
const topics = feeds.flatMap((feed) => [rawTopic(feed), deadLetterTopic(feed)]);

/** What the process did before it died: the bus took the send, then nothing more happened (no commit). */
class Died extends Error {}

async function valuesOn(bus: Bus, topic: string): Promise<string[]> {
  const out: string[] = [];
  for (const { partition, highWatermark } of await bus.describe(topic)) {
    for (let offset = 0; offset < highWatermark; ) {
      const { messages, nextOffset } = await bus.read({ topic, partition }, offset, 1000);
      for (const m of messages) out.push(m.value.toString('utf8'));
      offset = nextOffset;
    }
  }
  return out.sort();
}

describe('the demo connector restarted after dying between the bus acknowledgement and its commit', () => {
  let dir: string;
  let bus: Bus;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityhub-demo-restart-'));
    bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'never' });
    for (const topic of topics) await bus.ensureTopic(topic, { partitions: 2 });
  });
  afterEach(async () => {
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([1, 3])(
    'dying after send %i of a flush: every history message is on the bus exactly once',
    async (sendOfFlush) => {
      const path = join(dir, 'checkpoints', 'demo.json');
      // First life: dies right after the bus acknowledged the chosen send of the ~6th flush (flushes send one feed each).
      const first = await SourceCheckpoint.open(path, { bus, topics, log });
      const guarded = first.guard(bus.producer());
      let sends = 0;
      const dying: BusProducer = {
        send: async (topic, messages) => {
          const results = await guarded.send(topic, messages);
          if (++sends === 5 * 5 + sendOfFlush) throw new Died('killed after the acknowledgement');
          return results;
        },
        close: () => guarded.close(),
      };
      const connector = new DemoConnector(config, regions);
      await connector.start({ producer: dying, checkpoint: first, log });
      await expect(connector.done).rejects.toBeInstanceOf(Died);

      // Second life: same checkpoint file, same bus.
      const second = await SourceCheckpoint.open(path, { bus, topics, log });
      expect(second.resendsToSkip).toBeGreaterThan(0);
      const restarted = new DemoConnector(config, regions);
      await restarted.start({ producer: second.guard(bus.producer()), checkpoint: second, log });
      await restarted.done;

      const history = [...historyMessages(restarted.city)];
      for (const feed of feeds) {
        const expected = history
          .filter((m) => m.feed === feed)
          .map((m) => m.value)
          .sort();
        expect(await valuesOn(bus, rawTopic(feed)), feed).toEqual(expected);
      }
    },
  );
});
