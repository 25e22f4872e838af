import { afterEach, describe, expect, it } from 'vitest';
import { MessageTooLargeError } from '../errors.js';
import type { Bus, BusMessage } from '../types.js';
import { MAX_MESSAGE_BYTES_LIMIT } from './frame.js';
import { EmbeddedBusArgumentError } from './index.js';
import { BusFixture } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

const MIB = 1024 * 1024;

async function readAll(bus: Bus, topic: string): Promise<BusMessage[]> {
  const consumer = bus.consumer({ groupId: 'reader' });
  await consumer.subscribe([topic]);
  const messages: BusMessage[] = [];
  for (;;) {
    const batches = await consumer.poll({ maxMessages: 100, maxWaitMs: 0 });
    if (batches.length === 0) break;
    for (const batch of batches) messages.push(...batch.messages);
  }
  await consumer.close();
  return messages;
}

describe('bus.max_message_bytes', () => {
  it('refuses a 17 MiB message with MessageTooLargeError and appends nothing (default 8 MiB)', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir() });
    await bus.ensureTopic('raw.big', { partitions: 1 });
    const error = await bus
      .producer()
      .send('raw.big', [{ key: 'k', value: Buffer.alloc(17 * MIB, 1) }])
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({
      topic: 'raw.big',
      index: 0,
      bytes: 17 * MIB + 1,
      maxBytes: 8 * MIB,
      retriable: false,
    });
    expect(await bus.describe('raw.big')).toEqual([{ partition: 0, highWatermark: 0, lowWatermark: 0 }]);
  });

  it('appends and reads back a message of exactly the maximum, even above the reader’s 16 MiB fetch size', async () => {
    const max = 20 * MIB;
    const bus = await fixture.open({ dir: fixture.tempDir(), maxMessageBytes: max });
    await bus.ensureTopic('raw.big', { partitions: 1 });
    const value = Buffer.alloc(max - 3, 7);
    value[value.length - 1] = 9;
    const [result] = await bus.producer().send('raw.big', [
      { key: 'abc', value },
      { key: 'abc', value: 'small after it' },
    ]);
    expect(result).toMatchObject({ baseOffset: 0, count: 2 });
    const messages = await readAll(bus, 'raw.big');
    expect(messages.map((m) => [m.offset, m.value.length])).toEqual([
      [0, max - 3],
      [1, 14],
    ]);
    expect(messages[0]!.value.equals(value)).toBe(true);
  });

  it('refuses a send mixing sizes whole, naming the first oversized message, so nothing of it is appended', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir(), maxMessageBytes: 1000 });
    await bus.ensureTopic('raw.mixed', { partitions: 2 });
    const error = await bus
      .producer()
      .send('raw.mixed', [
        { key: 'a', value: 'fits' },
        { key: 'b', value: 'x'.repeat(999) }, // 1 + 999 bytes: exactly the maximum
        { key: 'c', value: '值'.repeat(400) }, // 1 + 1200 UTF-8 bytes
        { key: 'd', value: Buffer.alloc(5000) },
      ])
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ index: 2, bytes: 1201, maxBytes: 1000 });
    expect((await bus.describe('raw.mixed')).map((p) => p.highWatermark)).toEqual([0, 0]);
    // The producer can take the message out and send the rest.
    const results = await bus.producer().send('raw.mixed', [
      { key: 'a', value: 'fits' },
      { key: 'b', value: 'x'.repeat(999) },
    ]);
    expect(results.reduce((n, r) => n + r.count, 0)).toBe(2);
    expect(await readAll(bus, 'raw.mixed')).toHaveLength(2);
  });

  it('rejects a maximum the reader could not return', async () => {
    const dir = fixture.tempDir();
    await expect(fixture.open({ dir, maxMessageBytes: MAX_MESSAGE_BYTES_LIMIT + 1 })).rejects.toBeInstanceOf(
      EmbeddedBusArgumentError,
    );
  });
});
