/**
 * KafkaBus (kafkajs) against the project's Kafka-protocol test broker over TCP: what the hub relies on from any bus.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCoordinator, groupHandlers } from '../../../test/support/kafka/group/index.js';
import { KafkaTestBroker } from '../../../test/support/kafka/server.js';
import { MessageTooLargeError } from '../errors.js';
import type { BusConsumer, BusMessage, PartitionBatch } from '../types.js';
import { KafkaBus } from './bus.js';

const TOPIC = 'raw.sensor';

let broker: KafkaTestBroker;
let coordinator: GroupCoordinator;
const open: Array<{ close(): Promise<void> }> = [];

beforeEach(async () => {
  coordinator = new GroupCoordinator({ minSessionTimeoutMs: 1000 });
  let started: KafkaTestBroker | undefined;
  const node = { nodeId: 0, host: '127.0.0.1', port: () => started?.port ?? 0 };
  started = await KafkaTestBroker.start({ extraHandlers: groupHandlers(coordinator, node), log: () => {} });
  broker = started;
});

afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close().catch(() => {});
  coordinator.close();
  await broker.close();
});

async function openBus(): Promise<KafkaBus> {
  const bus = await KafkaBus.open({
    brokers: [broker.address],
    session_timeout_ms: 6_000,
    heartbeat_interval_ms: 200,
    fetch_max_wait_ms: 100,
    max_message_bytes: 64 * 1024,
  });
  open.push(bus);
  return bus;
}

/** Polls until `count` messages arrived (or fails after many empty polls). */
async function pollUntil(consumer: BusConsumer, count: number): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  for (let polls = 0; got.length < count && polls < 300; polls++) {
    const batches: PartitionBatch[] = await consumer.poll({ maxMessages: 100, maxWaitMs: 100 });
    for (const b of batches) got.push(...b.messages);
  }
  return got;
}

describe('KafkaBus over the Kafka-protocol test broker', () => {
  it('round-trips keyed messages with headers; a key always lands on the same partition', async () => {
    const bus = await openBus();
    await bus.ensureTopic(TOPIC, { partitions: 3 });
    const producer = bus.producer();
    const results = await producer.send(TOPIC, [
      { key: 'dev-1', value: 'a', headers: { 'cityhub-source': 'mqtt-1', 'mqtt-topic': 'city/330100/dev-1' } },
      { key: 'dev-1', value: Buffer.from('b') },
      { key: 'dev-2', value: '传感器' },
    ]);
    expect(results.reduce((n, r) => n + r.count, 0)).toBe(3);
    const consumer = bus.consumer({ groupId: 'landing' });
    await consumer.subscribe([TOPIC]);
    expect(consumer.assignment().map((tp) => tp.partition)).toEqual([0, 1, 2]);
    const got = await pollUntil(consumer, 3);
    const dev1 = got.filter((m) => m.key === 'dev-1');
    expect(dev1.map((m) => m.value.toString())).toEqual(['a', 'b']);
    expect(new Set(dev1.map((m) => m.partition)).size).toBe(1);
    expect(dev1[0]!.headers).toEqual({ 'cityhub-source': 'mqtt-1', 'mqtt-topic': 'city/330100/dev-1' });
    expect(got.find((m) => m.key === 'dev-2')?.value.toString()).toBe('传感器');
    const first = results.find((r) => r.partition === dev1[0]!.partition)!;
    expect(dev1[0]!.offset).toBe(first.baseOffset);
    // read() outside the group sees the same messages.
    const partition = dev1[0]!.partition;
    const onPartition = got.filter((m) => m.partition === partition).sort((x, y) => x.offset - y.offset);
    const read = await bus.read({ topic: TOPIC, partition }, 1, 10);
    expect(read.messages.map((m) => [m.offset, m.key, m.value.toString()])).toEqual(
      onPartition.slice(1).map((m) => [m.offset, m.key, m.value.toString()]),
    );
    expect(read.nextOffset).toBe(onPartition.length);
  });

  it('refuses an oversized message before sending anything, naming its index', async () => {
    const bus = await openBus();
    await bus.ensureTopic(TOPIC, { partitions: 1 });
    const error = await bus
      .producer()
      .send(TOPIC, [{ value: 'ok' }, { value: Buffer.alloc(65 * 1024) }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect((error as MessageTooLargeError).index).toBe(1);
    expect((await bus.describe(TOPIC))[0]!.highWatermark).toBe(0);
  });

  it('a restarted consumer resumes at the committed offset, not at what it polled', async () => {
    const bus = await openBus();
    await bus.ensureTopic(TOPIC, { partitions: 1 });
    await bus.producer().send(
      TOPIC,
      ['1', '2', '3', '4'].map((value) => ({ value })),
    );
    const first = bus.consumer({ groupId: 'landing' });
    await first.subscribe([TOPIC]);
    expect((await pollUntil(first, 4)).length).toBe(4);
    await first.commit([{ topic: TOPIC, partition: 0, offset: 2 }]); // landed only the first two
    await first.close();
    const second = bus.consumer({ groupId: 'landing' });
    await second.subscribe([TOPIC]);
    expect(await second.committed({ topic: TOPIC, partition: 0 })).toBe(2);
    expect((await pollUntil(second, 2)).map((m) => m.value.toString())).toEqual(['3', '4']);
  });

  it('seek re-reads from the given offset and drops what was queued', async () => {
    const bus = await openBus();
    await bus.ensureTopic(TOPIC, { partitions: 1 });
    await bus.producer().send(
      TOPIC,
      ['1', '2', '3'].map((value) => ({ value })),
    );
    const consumer = bus.consumer({ groupId: 'landing' });
    await consumer.subscribe([TOPIC]);
    expect((await pollUntil(consumer, 1)).length).toBeGreaterThan(0);
    consumer.seek({ topic: TOPIC, partition: 0, offset: 0 });
    expect((await pollUntil(consumer, 3)).map((m) => m.value.toString())).toEqual(['1', '2', '3']);
  });

  it('two consumers of one group split the partitions; one takes all when the other closes', async () => {
    const bus = await openBus();
    await bus.ensureTopic(TOPIC, { partitions: 4 });
    const a = bus.consumer({ groupId: 'landing' });
    await a.subscribe([TOPIC]);
    const b = bus.consumer({ groupId: 'landing' });
    await b.subscribe([TOPIC]);
    // a learns of the rebalance at its next heartbeat, i.e. inside a poll.
    for (let i = 0; i < 100 && a.assignment().length !== 2; i++) await a.poll({ maxMessages: 10, maxWaitMs: 100 });
    expect(a.assignment().length).toBe(2);
    expect([...a.assignment(), ...b.assignment()].map((tp) => tp.partition).sort()).toEqual([0, 1, 2, 3]);
    await b.close();
    for (let i = 0; i < 100 && a.assignment().length !== 4; i++) await a.poll({ maxMessages: 10, maxWaitMs: 100 });
    expect(a.assignment().map((tp) => tp.partition)).toEqual([0, 1, 2, 3]);
  });

  it('survives a broker outage mid-stream: a send made while it is down resolves, nothing is lost or repeated', async () => {
    const bus = await openBus();
    await bus.ensureTopic(TOPIC, { partitions: 2 });
    const producer = bus.producer();
    await producer.send(
      TOPIC,
      ['1', '2'].map((value) => ({ key: value, value })),
    );
    const consumer = bus.consumer({ groupId: 'landing' });
    await consumer.subscribe([TOPIC]);
    expect((await pollUntil(consumer, 2)).length).toBe(2);
    await broker.stop();
    const sending = producer.send(
      TOPIC,
      ['3', '4'].map((value) => ({ key: value, value })),
    );
    await broker.restart();
    await sending;
    const after = await pollUntil(consumer, 2);
    // Polled before the outage but not committed: the member goes on from where it was, not from the commits.
    expect(after.map((m) => m.value.toString()).sort()).toEqual(['3', '4']);
    expect(await consumer.poll({ maxMessages: 10, maxWaitMs: 300 })).toEqual([]);
    const ends = await bus.describe(TOPIC);
    expect(ends.reduce((n, p) => n + p.highWatermark, 0)).toBe(4);
  });

  it("a rebalance does not hand a kept partition's polled, uncommitted messages over again", async () => {
    const bus = await openBus();
    await bus.ensureTopic(TOPIC, { partitions: 4 });
    const producer = bus.producer();
    await producer.send(
      TOPIC,
      Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
    );
    const a = bus.consumer({ groupId: 'landing' });
    await a.subscribe([TOPIC]);
    const first = await pollUntil(a, 40);
    expect(first).toHaveLength(40);
    const b = bus.consumer({ groupId: 'landing' });
    await b.subscribe([TOPIC]);
    const again: BusMessage[] = [];
    for (let i = 0; i < 100 && a.assignment().length !== 2; i++) {
      for (const batch of await a.poll({ maxMessages: 100, maxWaitMs: 100 })) again.push(...batch.messages);
    }
    expect(a.assignment()).toHaveLength(2);
    await producer.send(
      TOPIC,
      Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: String(40 + i) })),
    );
    const kept = new Set(a.assignment().map((tp) => tp.partition));
    const expectedNew =
      (await bus.describe(TOPIC)).filter((p) => kept.has(p.partition)).reduce((n, p) => n + p.highWatermark, 0) -
      first.filter((m) => kept.has(m.partition)).length;
    again.push(...(await pollUntil(a, expectedNew - again.length)));
    expect(again.every((m) => Number(m.value.toString()) >= 40)).toBe(true);
    expect(again).toHaveLength(expectedNew);
  });

  it('a member that stops polling for longer than its session timeout (a slow flush) stays in the group', async () => {
    const bus = await KafkaBus.open({
      brokers: [broker.address],
      session_timeout_ms: 1_000,
      heartbeat_interval_ms: 200,
      fetch_max_wait_ms: 100,
    });
    open.push(bus);
    await bus.ensureTopic(TOPIC, { partitions: 1 });
    await bus.producer().send(
      TOPIC,
      ['1', '2', '3'].map((value) => ({ value })),
    );
    const consumer = bus.consumer({ groupId: 'landing' });
    await consumer.subscribe([TOPIC]);
    let taken: BusMessage[] = [];
    while (taken.length === 0)
      taken = (await consumer.poll({ maxMessages: 1, maxWaitMs: 100 })).flatMap((b) => b.messages);
    // The rest of the batch now waits for the next poll. Nothing signals "the session would have expired": the wait
    // itself is what is tested, three session timeouts long.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await consumer.commit([{ topic: TOPIC, partition: 0, offset: 1 }]);
    expect(await consumer.committed({ topic: TOPIC, partition: 0 })).toBe(1);
    expect((await pollUntil(consumer, 2)).map((m) => m.value.toString())).toEqual(['2', '3']);
  });

  it('ensureTopic is idempotent and keeps the partition count; the generation is stable per cluster', async () => {
    const bus = await openBus();
    await bus.ensureTopic(TOPIC, { partitions: 2, retentionMs: 86_400_000 });
    await bus.ensureTopic(TOPIC, { partitions: 5 });
    expect((await bus.describe(TOPIC)).map((p) => p.partition)).toEqual([0, 1]);
    expect(broker.topics.get(TOPIC)?.configs.get('retention.ms')).toBe('86400000');
    expect(broker.topics.get(TOPIC)?.configs.get('retention.bytes')).toBe('-1');
    const again = await openBus();
    expect(again.generation).toBe(bus.generation);
    expect(bus.generation).toMatch(/^[0-9a-f-]{36}$/);
  });
});
