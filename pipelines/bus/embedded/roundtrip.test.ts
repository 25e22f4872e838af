import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusConsumer, BusMessage } from '../types.js';
import {
  EmbeddedBusArgumentError,
  EmbeddedBusClosedError,
  EmbeddedBusLockedError,
  EmbeddedBusStateError,
  EmbeddedTopicNotFoundError,
  murmur2,
  openEmbeddedBus,
  partitionForKey,
} from './index.js';
import { BusFixture } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

/** Polls until `count` messages arrived (each poll may return several partitions). */
async function drain(consumer: BusConsumer, count: number): Promise<BusMessage[]> {
  const messages: BusMessage[] = [];
  while (messages.length < count) {
    const batches = await consumer.poll({ maxMessages: 1000, maxWaitMs: 2000 });
    if (batches.length === 0) throw new Error(`timed out after ${messages.length} of ${count} messages`);
    for (const batch of batches) messages.push(...batch.messages);
  }
  return messages;
}

describe('partitioner', () => {
  it('matches Kafka murmur2 test vectors', () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) expect(murmur2(Buffer.from(key)), key).toBe(hash);
  });
});

describe('embedded bus round trip', () => {
  it('returns keyed and null-key messages in order per partition with offsets, keys, values, timestamps', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir() });
    await bus.ensureTopic('raw.test', { partitions: 3 });
    const producer = bus.producer();
    const before = Date.now();
    const sent = [
      { key: 'sensor-1', value: 'a1', timestamp: 1_700_000_000_000 },
      { key: 'sensor-2', value: Buffer.from([0, 1, 2, 255]) },
      { key: null, value: 'n1' },
      { key: 'sensor-1', value: 'a2', timestamp: 1_700_000_000_001 },
      { value: 'n2' },
      { key: '', value: '' },
      { key: '传感器-3', value: '值 ✓' },
      { key: null, value: 'n3' },
    ];
    const results = await producer.send('raw.test', sent);
    const after = Date.now();
    expect(results.map((r) => r.partition)).toEqual([...results.map((r) => r.partition)].sort());
    expect(results.reduce((n, r) => n + r.count, 0)).toBe(sent.length);
    for (const result of results) expect(result.baseOffset).toBe(0);

    const consumer = bus.consumer({ groupId: 'g1' });
    await consumer.subscribe(['raw.test']);
    expect(consumer.assignment()).toHaveLength(3);
    const received = await drain(consumer, sent.length);
    expect(received).toHaveLength(sent.length);

    // Per partition: dense offsets from 0, in send order.
    const partitionOf = (value: string | Buffer) => received.find((m) => m.value.equals(Buffer.from(value)))!.partition;
    const byPartition = new Map<number, BusMessage[]>();
    for (const message of received)
      byPartition.set(message.partition, [...(byPartition.get(message.partition) ?? []), message]);
    for (const [partition, messages] of byPartition) {
      expect(messages.map((m) => m.offset)).toEqual(messages.map((_, i) => i));
      const expected = sent.filter((s) => partitionOf(s.value) === partition);
      expect(messages.map((m) => m.value.toString('hex'))).toEqual(
        expected.map((m) => Buffer.from(m.value).toString('hex')),
      );
    }
    for (const message of sent) {
      const got = received.find((m) => m.value.equals(Buffer.from(message.value)))!;
      expect(got.topic).toBe('raw.test');
      expect(got.key).toBe(message.key ?? null);
      if (message.timestamp !== undefined) expect(got.timestamp).toBe(message.timestamp);
      else {
        expect(got.timestamp).toBeGreaterThanOrEqual(before);
        expect(got.timestamp).toBeLessThanOrEqual(after);
      }
      if (typeof message.key === 'string') {
        const bytes = Buffer.from(message.key);
        expect(got.partition).toBe(partitionForKey(bytes, 0, bytes.length, 3));
      }
    }
    // Null keys go round-robin: three null-key messages land on three different partitions.
    const nullPartitions = received.filter((m) => m.key === null).map((m) => m.partition);
    expect(new Set(nullPartitions).size).toBe(3);
    expect(await bus.describe('raw.test')).toEqual(
      [0, 1, 2].map((partition) => ({
        partition,
        lowWatermark: 0,
        highWatermark: byPartition.get(partition)?.length ?? 0,
      })),
    );
  });

  it('sends the same key to the same partition across sends, and continues offsets densely', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir() });
    await bus.ensureTopic('t', { partitions: 8 });
    const producer = bus.producer();
    const seen = new Map<string, number>();
    let total = 0;
    for (let round = 0; round < 5; round++) {
      const messages = Array.from({ length: 200 }, (_, i) => ({ key: `device-${i % 40}`, value: `${round}:${i}` }));
      total += messages.length;
      await producer.send('t', messages);
    }
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    const received = await drain(consumer, total);
    const nextOffset = new Map<number, number>();
    for (const message of received) {
      const previous = seen.get(message.key!);
      if (previous !== undefined) expect(message.partition).toBe(previous);
      seen.set(message.key!, message.partition);
      expect(message.offset).toBe(nextOffset.get(message.partition) ?? 0);
      nextOffset.set(message.partition, message.offset + 1);
    }
    expect(seen.size).toBe(40);
  });

  it('reads large batches across many segments from any offset (sparse index seek)', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir(), segmentBytes: 64 * 1024 });
    await bus.ensureTopic('big', { partitions: 1 });
    const producer = bus.producer();
    const value = (i: number) => `${i}:${'v'.repeat(i % 300)}`;
    for (let start = 0; start < 20_000; start += 1000) {
      await producer.send(
        'big',
        Array.from({ length: 1000 }, (_, j) => ({ value: value(start + j) })),
      );
    }
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['big']);
    for (const offset of [0, 1, 4095, 7777, 12_345, 19_999]) {
      consumer.seek({ topic: 'big', partition: 0, offset });
      const [batch] = await consumer.poll({ maxMessages: 500, maxWaitMs: 0 });
      expect(batch!.messages[0]!.offset).toBe(offset);
      expect(batch!.messages.length).toBe(Math.min(500, 20_000 - offset));
      batch!.messages.forEach((m, i) => {
        expect(m.offset).toBe(offset + i);
        expect(m.value.toString()).toBe(value(offset + i));
      });
      expect(batch!.highWatermark).toBe(20_000);
    }
  });

  it('concurrent sends to one partition keep offsets dense and results consistent', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir(), fsync: 'always' });
    await bus.ensureTopic('c', { partitions: 1 });
    const producer = bus.producer();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, s) =>
        producer.send(
          'c',
          Array.from({ length: 50 }, (_, i) => ({ value: `${s}-${i}` })),
        ),
      ),
    );
    const ranges = results.map(([r]) => [r!.baseOffset, r!.count] as const).sort((a, b) => a[0] - b[0]);
    ranges.forEach(([base, count], i) => {
      expect(base).toBe(i * 50);
      expect(count).toBe(50);
    });
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['c']);
    const received = await drain(consumer, 1000);
    results.forEach(([r], s) => {
      for (let i = 0; i < 50; i++) expect(received[r!.baseOffset + i]!.value.toString()).toBe(`${s}-${i}`);
    });
  });

  it('rejects bad input and unknown topics with typed errors', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir() });
    await bus.ensureTopic('t', { partitions: 2 });
    const producer = bus.producer();
    await expect(producer.send('missing', [{ value: 'x' }])).rejects.toBeInstanceOf(EmbeddedTopicNotFoundError);
    await expect(producer.send('t', [{ value: 42 as unknown as string }])).rejects.toMatchObject({
      argument: 'messages[0].value',
    });
    await expect(producer.send('t', [{ key: 7 as unknown as string, value: 'x' }])).rejects.toBeInstanceOf(
      EmbeddedBusArgumentError,
    );
    await expect(producer.send('t', [{ value: 'x', timestamp: Number.NaN }])).rejects.toBeInstanceOf(
      EmbeddedBusArgumentError,
    );
    await expect(bus.ensureTopic('../escape', { partitions: 1 })).rejects.toBeInstanceOf(EmbeddedBusArgumentError);
    await expect(bus.ensureTopic('t2', { partitions: 0 })).rejects.toBeInstanceOf(EmbeddedBusArgumentError);
    expect(() => bus.consumer({ groupId: 'a/b' })).toThrow(EmbeddedBusArgumentError);
    expect(await producer.send('t', [])).toEqual([]);
    // An existing topic keeps its partition count.
    await bus.ensureTopic('t', { partitions: 5 });
    expect(await bus.describe('t')).toHaveLength(2);
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    expect(() => consumer.seek({ topic: 't', partition: 9, offset: 0 })).toThrow(EmbeddedBusStateError);
    const polling = consumer.poll({ maxMessages: 1, maxWaitMs: 1000 });
    await expect(consumer.poll({ maxMessages: 1, maxWaitMs: 0 })).rejects.toBeInstanceOf(EmbeddedBusStateError);
    await consumer.close();
    expect(await polling).toEqual([]);
  });

  it('rejects every operation after close with EmbeddedBusClosedError', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir() });
    await bus.ensureTopic('t', { partitions: 1 });
    const producer = bus.producer();
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    const waiting = consumer.poll({ maxMessages: 10, maxWaitMs: 60_000 });
    await bus.close();
    expect(await waiting).toEqual([]);
    await expect(producer.send('t', [{ value: 'x' }])).rejects.toBeInstanceOf(EmbeddedBusClosedError);
    await expect(consumer.poll({ maxMessages: 1, maxWaitMs: 0 })).rejects.toMatchObject({ resource: 'consumer' });
    await expect(consumer.commit([{ topic: 't', partition: 0, offset: 0 }])).rejects.toBeInstanceOf(
      EmbeddedBusClosedError,
    );
    await expect(bus.describe('t')).rejects.toMatchObject({ resource: 'bus', operation: 'describe' });
    await expect(bus.ensureTopic('u', { partitions: 1 })).rejects.toBeInstanceOf(EmbeddedBusClosedError);
    expect(() => bus.producer()).toThrow(EmbeddedBusClosedError);
    await bus.close(); // idempotent
  });

  it('holds an exclusive lock on the folder and takes over a stale one', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir });
    await expect(openEmbeddedBus({ dir, fsync: 'never' })).rejects.toMatchObject({
      constructor: EmbeddedBusLockedError,
      pid: process.pid,
      dir,
    });
    await bus.close();
    expect(fs.existsSync(join(dir, '.lock'))).toBe(false);
    // A lock left by a process that no longer exists (pid far above pid_max) is stale.
    fs.writeFileSync(join(dir, '.lock'), JSON.stringify({ pid: 2 ** 30, host: (await import('node:os')).hostname() }));
    const reopened = await fixture.open({ dir });
    expect(JSON.parse(fs.readFileSync(join(dir, '.lock'), 'utf8')).pid).toBe(process.pid);
    await reopened.close();
  });
});
