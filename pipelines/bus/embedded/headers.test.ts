import fs from 'node:fs';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidHeadersError, MessageTooLargeError } from '../errors.js';
import { MAX_HEADER_BYTES, MAX_HEADER_COUNT, NO_HEADERS } from '../headers.js';
import type { Bus, BusMessage, ProduceMessage } from '../types.js';
import { EmbeddedLogCorruptError } from './index.js';
import { repairPartition } from './repair.js';
import { BusFixture, framesIn, segmentFiles } from './test-support.js';
import { verifyLog } from './verify.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

async function readAll(bus: Bus, topic: string): Promise<BusMessage[]> {
  const messages: BusMessage[] = [];
  for (const { partition } of await bus.describe(topic)) {
    for (let offset = 0; ; ) {
      const read = await bus.read({ topic, partition }, offset, 1_000);
      messages.push(...read.messages);
      if (read.messages.length === 0) break;
      offset = read.nextOffset;
    }
  }
  return messages;
}

/**
 * One frame exactly as the log wrote it before headers existed (frame.ts before issue 7): length, crc, offset,
 * timestamp, keyLength, key, value — built here by hand so the test does not depend on the writer under test.
 */
function oldFormatFrame(offset: number, timestamp: number, key: string | null, value: string): Buffer {
  const keyBytes = key === null ? Buffer.alloc(0) : Buffer.from(key);
  const valueBytes = Buffer.from(value);
  const body = Buffer.alloc(20 + keyBytes.length + valueBytes.length);
  body.writeUInt32BE(Math.floor(offset / 2 ** 32), 0);
  body.writeUInt32BE(offset >>> 0, 4);
  body.writeDoubleBE(timestamp, 8);
  body.writeInt32BE(key === null ? -1 : keyBytes.length, 16);
  keyBytes.copy(body, 20);
  valueBytes.copy(body, 20 + keyBytes.length);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(4 + body.length, 0);
  head.writeUInt32BE(zlib.crc32(body), 4);
  return Buffer.concat([head, body]);
}

function framePositions(data: Buffer): number[] {
  return framesIn(data).map((frame) => frame.position);
}

describe('message headers on the embedded bus', () => {
  it('come back from a poll and from a reopened log exactly as sent; a message without them has NO_HEADERS', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir });
    await bus.ensureTopic('raw.h', { partitions: 2 });
    // Names that are Object.prototype keys are headers like any others (JSON.parse makes `__proto__` an own key).
    const hostile = JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>;
    const sent: ProduceMessage[] = [
      { key: 'a', value: '{"n":1}', headers: { 'cityhub-source': 'sensors-east', 'mqtt-topic': 'city/330106/aq' } },
      { key: 'b', value: '{"n":2}' },
      { key: null, value: '{"n":3}', headers: { file: '西湖区/环境监测 2026-07.csv', line: '17', empty: '' } },
      { key: 'a', value: '{"n":4}', headers: hostile },
      { key: 'b', value: '{"n":5}', headers: {} },
    ];
    await bus.producer().send('raw.h', sent);

    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['raw.h']);
    const polled: BusMessage[] = [];
    while (polled.length < sent.length) {
      for (const batch of await consumer.poll({ maxMessages: 100, maxWaitMs: 1_000 })) polled.push(...batch.messages);
    }
    await consumer.close();
    const headersOf = (messages: BusMessage[]) =>
      Object.fromEntries(messages.map((m) => [m.value.toString(), { ...m.headers }]));
    const expected = {
      '{"n":1}': { 'cityhub-source': 'sensors-east', 'mqtt-topic': 'city/330106/aq' },
      '{"n":2}': {},
      '{"n":3}': { file: '西湖区/环境监测 2026-07.csv', line: '17', empty: '' },
      '{"n":4}': { ['__proto__']: 'x', constructor: 'y' },
      '{"n":5}': {},
    };
    expect(headersOf(polled)).toEqual(expected);
    const bare = polled.find((m) => m.value.toString() === '{"n":2}')!;
    expect(bare.headers).toBe(NO_HEADERS);
    expect(Object.isFrozen(bare.headers)).toBe(true);
    expect(Object.getPrototypeOf(polled.find((m) => m.value.toString() === '{"n":4}')!.headers)).toBe(null);
    await bus.close();

    // Recovery scans every frame on open; the headers survive it and read back the same.
    const reopened = await fixture.open({ dir });
    expect(headersOf(await readAll(reopened, 'raw.h'))).toEqual(expected);
    expect((await verifyLog(dir)).findings).toEqual([]);
  });

  it('reads a segment written in the old format (no headers) followed by new frames with headers', async () => {
    const dir = fixture.tempDir();
    const setup = await fixture.open({ dir });
    await setup.ensureTopic('raw.old', { partitions: 1 });
    await setup.close();
    const [segment] = segmentFiles(dir, 'raw.old', 0);
    const old = [
      oldFormatFrame(0, 1_780_000_000_000, 'S1', '{"v":1}'),
      oldFormatFrame(1, 1_780_000_000_001, null, '{"v":2}'),
      oldFormatFrame(2, 1_780_000_000_002, '设备-3', '{"v":"三"}'),
    ];
    fs.writeFileSync(segment!, Buffer.concat(old));

    const bus = await fixture.open({ dir });
    expect(fixture.warnings).toEqual([]);
    const [result] = await bus.producer().send('raw.old', [
      { key: 'S4', value: '{"v":4}', timestamp: 1_780_000_000_004, headers: { 'cityhub-source': 'files' } },
      { key: 'S5', value: '{"v":5}', timestamp: 1_780_000_000_005 },
    ]);
    expect(result!.baseOffset).toBe(3);
    const expected = [
      [0, 'S1', '{"v":1}', 1_780_000_000_000, {}],
      [1, null, '{"v":2}', 1_780_000_000_001, {}],
      [2, '设备-3', '{"v":"三"}', 1_780_000_000_002, {}],
      [3, 'S4', '{"v":4}', 1_780_000_000_004, { 'cityhub-source': 'files' }],
      [4, 'S5', '{"v":5}', 1_780_000_000_005, {}],
    ];
    const summary = (messages: BusMessage[]) =>
      messages.map((m) => [m.offset, m.key, m.value.toString(), m.timestamp, { ...m.headers }]);
    const messages = await readAll(bus, 'raw.old');
    expect(summary(messages)).toEqual(expected);
    expect(messages[0]!.headers).toBe(NO_HEADERS);
    expect(messages[4]!.headers).toBe(NO_HEADERS);
    await bus.close();

    // The old record frames are untouched; the new send is one batch frame (B flag set) holding both its records.
    const bytes = fs.readFileSync(segment!);
    const oldBytes = Buffer.concat(old);
    expect(bytes.subarray(0, oldBytes.length).equals(oldBytes)).toBe(true);
    expect(framesIn(bytes).map(({ offset, batch, count }) => [offset, batch, count])).toEqual([
      [0, false, 1],
      [1, false, 1],
      [2, false, 1],
      [3, true, 2],
    ]);
    expect((await verifyLog(dir)).findings).toEqual([]);
    // Recovery walks both kinds of frame: a reopened log reads the same records, and appends after the batch.
    const reopened = await fixture.open({ dir });
    expect(fixture.warnings).toEqual([]);
    expect(summary(await readAll(reopened, 'raw.old'))).toEqual(expected);
    const [next] = await reopened.producer().send('raw.old', [{ value: '{"v":6}' }]);
    expect(next!.baseOffset).toBe(5);
  });
});

describe('header limits, checked at send', () => {
  async function refused(messages: ProduceMessage[], maxMessageBytes?: number): Promise<unknown> {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir, ...(maxMessageBytes ? { maxMessageBytes } : {}) });
    await bus.ensureTopic('raw.l', { partitions: 1 });
    const error = await bus
      .producer()
      .send('raw.l', messages)
      .catch((err: unknown) => err);
    // Refused whole: nothing of the send is on the bus.
    expect((await bus.describe('raw.l'))[0]!.highWatermark).toBe(0);
    return error;
  }
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, 'v']));

  it(`refuses more than ${MAX_HEADER_COUNT} headers, naming the message`, async () => {
    const error = await refused([
      { value: 'ok', headers: many(MAX_HEADER_COUNT) },
      { value: 'x', headers: many(65) },
    ]);
    expect(error).toBeInstanceOf(InvalidHeadersError);
    expect(error).toMatchObject({ topic: 'raw.l', index: 1, retriable: false });
    expect((error as Error).message).toContain(`more than ${MAX_HEADER_COUNT} headers`);
  });

  it(`refuses names and values over ${MAX_HEADER_BYTES} bytes of UTF-8 together`, async () => {
    // 5,462 three-byte characters: 16,386 bytes, though fewer UTF-16 units than the limit.
    const error = await refused([{ value: 'x', headers: { file: '区'.repeat(5_462) } }]);
    expect(error).toBeInstanceOf(InvalidHeadersError);
    expect((error as Error).message).toContain(`exceed ${MAX_HEADER_BYTES} bytes`);
  });

  it('refuses an empty name, a value that is not a string, and a lone surrogate', async () => {
    expect(await refused([{ value: 'x', headers: { '': 'v' } }])).toMatchObject({ header: '' });
    const notString = { line: 17 } as unknown as Record<string, string>;
    expect(await refused([{ value: 'x', headers: notString }])).toMatchObject({
      header: 'line',
      reason: 'value is number, not a string',
    });
    expect(await refused([{ value: 'x', headers: { file: 'a\uD800b' } }])).toBeInstanceOf(InvalidHeadersError);
  });

  it('counts headers toward bus.max_message_bytes', async () => {
    const headers = { 'cityhub-source': 'c1' }; // 4 + 4 + 14 + 2 = 24 bytes on the wire
    const error = await refused([{ key: 'k', value: 'v'.repeat(1_000), headers }], 1_024);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ bytes: 1 + 1_000 + 24, maxBytes: 1_024 });
  });
});

describe('damaged headers', () => {
  /**
   * 50 messages with headers in one partition, one per send: each is a batch frame of one record, so frame i holds
   * offset i. Returns the bus folder and its segment.
   */
  async function seed(): Promise<{ dir: string; file: string }> {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir });
    await bus.ensureTopic('raw.d', { partitions: 1 });
    for (let i = 0; i < 50; i++) {
      await bus
        .producer()
        .send('raw.d', [{ key: 'k', value: `record-${i}`, headers: { 'cityhub-source': 'files', line: String(i) } }]);
    }
    await bus.close();
    const file = segmentFiles(dir, 'raw.d', 0)[0]!;
    expect(framesIn(fs.readFileSync(file)).map(({ offset, batch, count }) => [offset, batch, count])).toEqual(
      Array.from({ length: 50 }, (_, i) => [i, true, 1]),
    );
    return { dir, file };
  }
  /**
   * Byte of the first header name in the one-record batch frame at `position`: the batch header (28), the record's
   * length, attributes, timestamp and key length (17), key 'k' (1), the block length (4), the name length (2).
   */
  const headerByte = (position: number) => position + 28 + 17 + 1 + 4 + 2;

  it('a rotted header byte in the middle is damage: open fails naming the byte, verify reports it, repair recovers', async () => {
    const { dir, file } = await seed();
    const data = fs.readFileSync(file);
    const victim = framePositions(data)[20]!;
    data[headerByte(victim)] = data[headerByte(victim)]! ^ 0x20;
    fs.writeFileSync(file, data);

    const error = await fixture.open({ dir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EmbeddedLogCorruptError);
    expect(error).toMatchObject({ file, position: victim });
    expect((error as Error).message).toContain('crc mismatch');
    expect((await verifyLog(dir)).findings).toMatchObject([
      { kind: 'damage', position: victim, firstOffset: 20, soundFramesAfter: 29 },
    ]);

    // The repair moves the damage aside; what came before keeps its offsets and its headers.
    expect(await repairPartition(dir, 'raw.d', 0)).toMatchObject({ from: 20 });
    const bus = await fixture.open({ dir });
    const survivors = await readAll(bus, 'raw.d');
    expect(survivors.map((m) => [m.offset, m.headers.line])).toEqual(
      Array.from({ length: 20 }, (_, i) => [i, String(i)]),
    );
  });

  it('a headers block whose entries overrun it is refused even when its CRC matches', async () => {
    const { dir, file } = await seed();
    const data = fs.readFileSync(file);
    const victim = framePositions(data)[20]!;
    const frameEnd = victim + 4 + data.readUInt32BE(victim);
    // Name length of the first header made far larger than the block, CRC recomputed: a sound-looking frame whose
    // structure is wrong (a writer bug, not rot) must not decode into garbage headers.
    data.writeUInt16BE(0x7fff, headerByte(victim) - 2);
    data.writeUInt32BE(zlib.crc32(data.subarray(victim + 8, frameEnd)), victim + 4);
    fs.writeFileSync(file, data);

    const error = await fixture.open({ dir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EmbeddedLogCorruptError);
    expect(error).toMatchObject({ position: victim });
    expect((error as Error).message).toContain('header entry runs past the headers block');
  });

  it('a tail torn inside a headers block is truncated on open like any torn tail', async () => {
    const { dir, file } = await seed();
    const last = framePositions(fs.readFileSync(file)).at(-1)!;
    fs.truncateSync(file, headerByte(last) + 3);
    const bus = await fixture.open({ dir });
    expect(fixture.warnings).toMatchObject([{ kind: 'truncated-tail', position: last }]);
    const messages = await readAll(bus, 'raw.d');
    expect(messages).toHaveLength(49);
    expect(messages.at(-1)!.headers).toEqual({ 'cityhub-source': 'files', line: '48' });
  });
});
