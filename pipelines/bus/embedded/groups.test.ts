import { afterEach, describe, expect, it } from 'vitest';
import type { BusConsumer, BusMessage, TopicPartition } from '../types.js';
import { BusFixture } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

const key = (tp: { topic: string; partition: number }) => `${tp.topic}/${tp.partition}`;

/** Polls until nothing is left; checks every batch belongs to the member's assignment at that time. */
async function drainOwned(consumer: BusConsumer): Promise<BusMessage[]> {
  const messages: BusMessage[] = [];
  for (;;) {
    const owned = new Set(consumer.assignment().map(key));
    const batches = await consumer.poll({ maxMessages: 64, maxWaitMs: 0 });
    if (batches.length === 0) return messages;
    for (const batch of batches) {
      expect(owned.has(key(batch))).toBe(true);
      for (const message of batch.messages) expect(key(message)).toBe(key(batch));
      messages.push(...batch.messages);
    }
  }
}

async function seed(partitions: number, count: number) {
  const bus = await fixture.open({ dir: fixture.tempDir() });
  await bus.ensureTopic('t', { partitions });
  await bus.producer().send(
    't',
    Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
  );
  return bus;
}

describe('consumer groups', () => {
  it('two groups read and commit independently', async () => {
    const bus = await seed(3, 90);
    const a = bus.consumer({ groupId: 'a' });
    const b = bus.consumer({ groupId: 'b' });
    await a.subscribe(['t']);
    await b.subscribe(['t']);
    const fromA = await drainOwned(a);
    expect(fromA).toHaveLength(90);
    const ends = (await bus.describe('t')).map((p) => ({
      topic: 't',
      partition: p.partition,
      offset: p.highWatermark,
    }));
    await a.commit(ends);
    for (const end of ends) {
      expect(await a.committed(end)).toBe(end.offset);
      expect(await b.committed(end)).toBe(0);
    }
    const fromB = await drainOwned(b);
    expect(fromB.map((m) => m.value.toString()).sort()).toEqual(fromA.map((m) => m.value.toString()).sort());
    // A new member of group a starts at a's commits: nothing left.
    await a.close();
    const a2 = bus.consumer({ groupId: 'a' });
    await a2.subscribe(['t']);
    expect(await a2.poll({ maxMessages: 10, maxWaitMs: 0 })).toEqual([]);
  });

  it('members of one group split partitions (range assignment) with no overlap and full coverage', async () => {
    const bus = await seed(5, 500);
    const m1 = bus.consumer({ groupId: 'g' });
    const m2 = bus.consumer({ groupId: 'g' });
    await m1.subscribe(['t']);
    expect(m1.assignment().map((tp) => tp.partition)).toEqual([0, 1, 2, 3, 4]);
    await m2.subscribe(['t']);
    expect(m1.assignment().map((tp) => tp.partition)).toEqual([0, 1, 2]);
    expect(m2.assignment().map((tp) => tp.partition)).toEqual([3, 4]);

    const [got1, got2] = await Promise.all([drainOwned(m1), drainOwned(m2)]);
    const seen = new Set<string>();
    for (const message of [...got1, ...got2]) {
      const id = `${message.partition}@${message.offset}`;
      expect(seen.has(id)).toBe(false);
      seen.add(id);
    }
    expect(seen.size).toBe(500);
    expect(new Set(got1.map((m) => m.partition))).toEqual(new Set([0, 1, 2]));
    expect(new Set(got2.map((m) => m.partition))).toEqual(new Set([3, 4]));

    // m1 commits only what it owns; when m2 leaves, m1 takes over 3 and 4 from the group's committed offsets (0).
    const highs = await bus.describe('t');
    await m1.commit(m1.assignment().map((tp) => ({ ...tp, offset: highs[tp.partition]!.highWatermark })));
    await m2.close();
    expect(m1.assignment().map((tp: TopicPartition) => tp.partition)).toEqual([0, 1, 2, 3, 4]);
    const taken = await drainOwned(m1);
    expect(new Set(taken.map((m) => m.partition))).toEqual(new Set([3, 4]));
    expect(taken).toHaveLength(got2.length);
  });

  it('poll waits for data without polling in a loop, resolves early on append, and empty on timeout', async () => {
    const bus = await seed(2, 0);
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    const started = performance.now();
    expect(await consumer.poll({ maxMessages: 10, maxWaitMs: 30 })).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);

    const waiting = consumer.poll({ maxMessages: 10, maxWaitMs: 60_000 });
    const sentAt = performance.now();
    await bus.producer().send('t', [{ key: 'x', value: 'hello' }]);
    const batches = await waiting;
    expect(performance.now() - sentAt).toBeLessThan(5_000);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.messages[0]!.value.toString()).toBe('hello');
    expect(batches[0]!.highWatermark).toBe(1);
  });

  it('a poll over a backlog is shared among the partitions with messages waiting, so none waits a whole poll', async () => {
    // 4 partitions of ~300 messages each (keys hashed) and one nearly drained: a poll of 100 takes about 25 from each.
    const bus = await seed(4, 1200);
    const consumer = bus.consumer({ groupId: 'fair' });
    await consumer.subscribe(['t']);
    const highs = await bus.describe('t');
    const low = highs.find((p) => p.highWatermark > 10)!;
    consumer.seek({ topic: 't', partition: low.partition, offset: low.highWatermark - 3 });
    const batches = await consumer.poll({ maxMessages: 100, maxWaitMs: 0 });
    const sizes = new Map(batches.map((batch) => [batch.partition, batch.messages.length]));
    expect([...sizes.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(sizes.get(low.partition)).toBe(3);
    for (const [partition, size] of sizes) if (partition !== low.partition) expect(size).toBe(25);
    // Still everything is read, each partition in offset order.
    const rest = await drainOwned(consumer);
    const read = [...batches.flatMap((batch) => batch.messages), ...rest];
    for (const { partition, highWatermark } of highs) {
      const offsets = read.filter((m) => m.partition === partition).map((m) => m.offset);
      const from = partition === low.partition ? highWatermark - 3 : 0;
      expect(offsets, `partition ${partition}`).toEqual(
        Array.from({ length: highWatermark - from }, (_, i) => from + i),
      );
    }
  });

  it('seek moves the position without committing', async () => {
    const bus = await seed(1, 10);
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    const [first] = await consumer.poll({ maxMessages: 4, maxWaitMs: 0 });
    expect(first!.messages.map((m) => m.offset)).toEqual([0, 1, 2, 3]);
    consumer.seek({ topic: 't', partition: 0, offset: 8 });
    const [second] = await consumer.poll({ maxMessages: 4, maxWaitMs: 0 });
    expect(second!.messages.map((m) => m.offset)).toEqual([8, 9]);
    consumer.seek({ topic: 't', partition: 0, offset: 1 });
    const [third] = await consumer.poll({ maxMessages: 1, maxWaitMs: 0 });
    expect(third!.messages[0]!.offset).toBe(1);
    expect(await consumer.committed({ topic: 't', partition: 0 })).toBe(0);
  });

  it('a subscription to a topic that does not exist yet gets its partitions once it is created', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir() });
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['later']);
    expect(consumer.assignment()).toEqual([]);
    const waiting = consumer.poll({ maxMessages: 10, maxWaitMs: 60_000 });
    await bus.ensureTopic('later', { partitions: 2 });
    expect(consumer.assignment()).toHaveLength(2);
    await bus.producer().send('later', [{ value: 'first' }]);
    const batches = await waiting;
    expect(batches[0]!.messages[0]!.value.toString()).toBe('first');
  });
});
