/**
 * Batch frames (frame.ts): one send's records for a partition land as frames of about BATCH_TARGET_BYTES, one CRC
 * each, offsets dense per record. Checked through the public bus API and the bytes on disk.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusConsumer, BusMessage, ProduceMessage } from '../types.js';
import { BATCH_TARGET_BYTES } from './frame.js';
import { EmbeddedLogCorruptError } from './index.js';
import { repairPartition } from './repair.js';
import { BusFixture, type FrameOnDisk, framesOf, segmentFiles } from './test-support.js';
import { verifyLog } from './verify.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

/** A batch frame's header: length, crc, offset word, maxTimestamp, count. */
const BATCH_HEADER_BYTES = 28;

/** Byte ranges [start, end) of the records of a batch frame, each from its u32 record length. */
function recordsOf(data: Buffer, frame: FrameOnDisk): { start: number; end: number }[] {
  const records: { start: number; end: number }[] = [];
  for (let at = frame.position + BATCH_HEADER_BYTES; records.length < frame.count; ) {
    const end = at + 4 + data.readUInt32BE(at);
    records.push({ start: at, end });
    at = end;
  }
  return records;
}

/** Writes the CRC of the frame at `frame.position` over bytes [frame + 8, frame end), as the writer does. */
function resealFrame(data: Buffer, frame: FrameOnDisk): void {
  const end = frame.position + frame.size;
  data.writeUInt32BE(zlib.crc32(data.subarray(frame.position + 8, end)), frame.position + 4);
}

/**
 * A record frame exactly as the log wrote it before batches (B flag clear; the H flag and a headers block when
 * `headers` is given): built by hand so the test does not depend on the writer under test.
 */
function recordFrame(
  offset: number,
  timestamp: number,
  key: string | null,
  value: string,
  headers?: Record<string, string>,
): Buffer {
  const keyBytes = key === null ? Buffer.alloc(0) : Buffer.from(key);
  const entries = Object.entries(headers ?? {}).flatMap(([name, v]) => {
    const n = Buffer.from(name);
    const b = Buffer.from(v);
    const nameLength = Buffer.alloc(2);
    nameLength.writeUInt16BE(n.length);
    const valueLength = Buffer.alloc(2);
    valueLength.writeUInt16BE(b.length);
    return [nameLength, n, valueLength, b];
  });
  const block = Buffer.concat(entries);
  const headersBlock = Buffer.alloc(headers ? 4 + block.length : 0);
  if (headers) {
    headersBlock.writeUInt32BE(block.length, 0);
    block.copy(headersBlock, 4);
  }
  const head = Buffer.alloc(20);
  head.writeUInt32BE(Math.floor(offset / 2 ** 32) + (headers ? 0x80000000 : 0), 0);
  head.writeUInt32BE(offset >>> 0, 4);
  head.writeDoubleBE(timestamp, 8);
  head.writeInt32BE(key === null ? -1 : keyBytes.length, 16);
  const body = Buffer.concat([head, keyBytes, headersBlock, Buffer.from(value)]);
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(4 + body.length, 0);
  prefix.writeUInt32BE(zlib.crc32(body), 4);
  return Buffer.concat([prefix, body]);
}

/** Message i of a run: some null keys, headers on every third, explicit timestamps, values of ~240 bytes. */
function message(i: number): ProduceMessage {
  return {
    key: i % 4 === 0 ? null : `sensor-${i % 13}`,
    value: `value-${i}-${'x'.repeat(220 + (i % 17))}`,
    timestamp: 1_780_000_000_000 + i * 1_000,
    ...(i % 3 === 0 ? { headers: { 'cityhub-source': 'batch', line: String(i) } } : {}),
  };
}

type Summary = [number, string | null, string, number, Record<string, string>];

function summary(m: BusMessage): Summary {
  return [m.offset, m.key, m.value.toString(), m.timestamp, { ...m.headers }];
}

/** What message(i) must read back as at `offset`. */
function expected(i: number, offset = i): Summary {
  const m = message(i);
  return [offset, m.key ?? null, m.value as string, m.timestamp!, { ...(m.headers ?? {}) }];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

async function pollAll(consumer: BusConsumer, maxMessages: number): Promise<BusMessage[][]> {
  const polls: BusMessage[][] = [];
  for (;;) {
    const batches = await consumer.poll({ maxMessages, maxWaitMs: 0 });
    if (batches.length === 0) return polls;
    polls.push(batches.flatMap((batch) => batch.messages));
  }
}

async function readAll(bus: Bus, topic: string, from = 0): Promise<BusMessage[]> {
  const messages: BusMessage[] = [];
  for (let offset = from; ; ) {
    const read = await bus.read({ topic, partition: 0 }, offset, 1_000);
    if (read.messages.length === 0) return messages;
    messages.push(...read.messages);
    offset = read.nextOffset;
  }
}

/** A bus with a one-partition topic `t` and the given sends of message(i), i counting across sends. */
async function seed(sends: number[], options: { segmentBytes?: number } = {}): Promise<{ dir: string; bus: Bus }> {
  const dir = fixture.tempDir();
  const bus = await fixture.open({ dir, ...options });
  await bus.ensureTopic('t', { partitions: 1 });
  let i = 0;
  for (const n of sends) {
    const results = await bus.producer().send(
      't',
      range(i, i + n).map((k) => message(k)),
    );
    expect(results).toEqual([{ topic: 't', partition: 0, baseOffset: i, count: n }]);
    i += n;
  }
  return { dir, bus };
}

describe('a send lands as batch frames', () => {
  it('of few frames holding every record densely, each at most BATCH_TARGET_BYTES of records unless one record is larger', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir });
    await bus.ensureTopic('t', { partitions: 1 });
    const big = 1_500;
    const messages: ProduceMessage[] = range(0, 3_000).map((i) => ({
      key: `k${i % 7}`,
      value: i === big ? 'B'.repeat(100 * 1024) : `v${i}:${'y'.repeat(50 + ((i * 37) % 400))}`,
      timestamp: 1_780_000_000_000 + i,
    }));
    expect(await bus.producer().send('t', messages)).toEqual([
      { topic: 't', partition: 0, baseOffset: 0, count: 3_000 },
    ]);
    await bus.close();

    const [file] = segmentFiles(dir, 't', 0);
    const data = fs.readFileSync(file!);
    const frames = framesOf(file!);
    expect(frames.every((frame) => frame.batch)).toBe(true);
    expect(frames.length).toBeGreaterThan(2);
    expect(frames.length).toBeLessThan(messages.length / 100);
    expect(frames.reduce((sum, frame) => sum + frame.count, 0)).toBe(messages.length);
    // Offsets are dense per record: each frame starts where the previous one's records end.
    expect(frames.map((frame) => frame.offset)).toEqual(
      frames.map((_, k) => frames.slice(0, k).reduce((sum, frame) => sum + frame.count, 0)),
    );
    for (const [k, frame] of frames.entries()) {
      // The target bounds a batch's records; its 28-byte header comes on top.
      const recordBytes = frame.size - BATCH_HEADER_BYTES;
      if (frame.count > 1) expect(recordBytes).toBeLessThanOrEqual(BATCH_TARGET_BYTES);
      // Cut where the next record would not fit: a frame is as full as the target allows.
      const next = frames[k + 1];
      if (next) {
        const nextRecord = recordsOf(data, next)[0]!;
        expect(recordBytes + (nextRecord.end - nextRecord.start)).toBeGreaterThan(BATCH_TARGET_BYTES);
      }
    }
    // The one record larger than the target is a batch of its own.
    const oversized = frames.filter((frame) => frame.size - BATCH_HEADER_BYTES > BATCH_TARGET_BYTES);
    expect(oversized.map((frame) => [frame.offset, frame.count])).toEqual([[big, 1]]);

    const reopened = await fixture.open({ dir });
    const read = await readAll(reopened, 't');
    expect(read.map((m) => [m.offset, m.key, m.value.toString(), m.timestamp])).toEqual(
      messages.map((m, i) => [i, m.key, m.value, m.timestamp]),
    );
  });

  it('fills a batch exactly to the target and no further', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir });
    await bus.ensureTopic('t', { partitions: 1 });
    // 17 bytes of record fields + key 'k' + 1,006 bytes of value: records of 1 KiB, 64 of them fill the target.
    const recordBytes = 17 + 1 + 1_006;
    expect(BATCH_TARGET_BYTES % recordBytes).toBe(0);
    const perBatch = BATCH_TARGET_BYTES / recordBytes;
    await bus.producer().send(
      't',
      range(0, 3 * perBatch + 8).map((i) => ({ key: 'k', value: `${i}`.padEnd(1_006, '.') })),
    );
    await bus.close();
    const frames = framesOf(segmentFiles(dir, 't', 0)[0]!);
    expect(frames.map((frame) => [frame.offset, frame.count, frame.size])).toEqual([
      [0, perBatch, BATCH_HEADER_BYTES + BATCH_TARGET_BYTES],
      [perBatch, perBatch, BATCH_HEADER_BYTES + BATCH_TARGET_BYTES],
      [2 * perBatch, perBatch, BATCH_HEADER_BYTES + BATCH_TARGET_BYTES],
      [3 * perBatch, 8, BATCH_HEADER_BYTES + 8 * recordBytes],
    ]);
  });
});

describe('reading from inside a batch', () => {
  it('a seek or a committed offset in the middle of a batch gets exactly the records from there on, in order', async () => {
    const { bus, dir } = await seed([600, 400]);
    const frames = framesOf(segmentFiles(dir, 't', 0)[0]!);
    expect(frames.length).toBeGreaterThanOrEqual(4);
    // Well inside a batch of each send: neither offset starts a frame.
    const seekTo = frames[1]!.offset + 123;
    const committed = frames[3]!.offset + 57;
    expect(frames[1]!.count).toBeGreaterThan(123 + 1);
    expect(frames[3]!.count).toBeGreaterThan(57 + 1);
    expect(frames[3]!.offset).toBeGreaterThanOrEqual(600);

    const seeker = bus.consumer({ groupId: 'seeker' });
    await seeker.subscribe(['t']);
    seeker.seek({ topic: 't', partition: 0, offset: seekTo });
    const sought = (await pollAll(seeker, 10_000)).flat();
    expect(sought.map(summary)).toEqual(range(seekTo, 1_000).map((i) => expected(i)));
    await seeker.close();

    const first = bus.consumer({ groupId: 'resumer' });
    await first.subscribe(['t']);
    await first.commit([{ topic: 't', partition: 0, offset: committed }]);
    await first.close();
    const resumer = bus.consumer({ groupId: 'resumer' });
    await resumer.subscribe(['t']);
    const resumed = (await pollAll(resumer, 10_000)).flat();
    expect(resumed.map(summary)).toEqual(range(committed, 1_000).map((i) => expected(i)));
    await resumer.close();

    // bus.read too: a few records from inside a batch, and where to go on.
    const read = await bus.read({ topic: 't', partition: 0 }, seekTo, 5);
    expect(read.messages.map(summary)).toEqual(range(seekTo, seekTo + 5).map((i) => expected(i)));
    expect(read.nextOffset).toBe(seekTo + 5);
  });

  it('polls of 7 over batches of ~250 records return every record exactly once, in order', async () => {
    const { bus, dir } = await seed([600, 400]);
    const frames = framesOf(segmentFiles(dir, 't', 0)[0]!);
    expect(Math.max(...frames.map((frame) => frame.count))).toBeGreaterThan(200);

    const consumer = bus.consumer({ groupId: 'small' });
    await consumer.subscribe(['t']);
    const polls = await pollAll(consumer, 7);
    expect(polls.every((messages) => messages.length >= 1 && messages.length <= 7)).toBe(true);
    expect(polls.flat().map(summary)).toEqual(range(0, 1_000).map((i) => expected(i)));
    expect(consumer.position?.({ topic: 't', partition: 0 })).toBe(1_000);
    // From a position inside a batch too (a seek to the 3rd record of the second batch).
    consumer.seek({ topic: 't', partition: 0, offset: frames[1]!.offset + 2 });
    const again = await pollAll(consumer, 7);
    expect(again.flat().map((m) => m.offset)).toEqual(range(frames[1]!.offset + 2, 1_000));
    await consumer.close();
  });
});

describe('recovery of batch frames', () => {
  it('a reopened bus keeps every offset, and the next append continues after the last batch', async () => {
    const { bus, dir } = await seed([300, 1, 500]);
    const before = await bus.describe('t');
    expect(before[0]!.highWatermark).toBe(801);
    await bus.close();
    const frames = framesOf(segmentFiles(dir, 't', 0)[0]!);
    const last = frames.at(-1)!;
    expect(last.offset + last.count).toBe(801);

    const reopened = await fixture.open({ dir });
    expect(fixture.warnings).toEqual([]);
    expect(await reopened.describe('t')).toEqual(before);
    expect((await readAll(reopened, 't')).map(summary)).toEqual(range(0, 801).map((i) => expected(i)));
    // The rebuilt index still finds an offset inside a batch.
    const inside = frames[1]!.offset + 1;
    expect((await readAll(reopened, 't', inside)).map(summary)).toEqual(range(inside, 801).map((i) => expected(i)));
    const [result] = await reopened.producer().send('t', [message(801)]);
    expect(result!.baseOffset).toBe(801);
    expect((await readAll(reopened, 't', 800)).map(summary)).toEqual([expected(800), expected(801)]);
  });

  it('a torn last batch is truncated on open, dropping the whole batch; the next append reuses its first offset', async () => {
    const { bus, dir } = await seed([400, 300]);
    await bus.close();
    const [file] = segmentFiles(dir, 't', 0);
    const frames = framesOf(file!);
    const torn = frames.at(-1)!;
    expect(torn.count).toBeGreaterThan(1);
    const size = fs.statSync(file!).size;
    const cut = torn.position + Math.floor(torn.size / 2);
    fs.truncateSync(file!, cut);
    expect((await verifyLog(dir)).findings).toMatchObject([{ kind: 'torn-tail', position: torn.position }]);

    const reopened = await fixture.open({ dir });
    expect(fixture.warnings).toMatchObject([
      { kind: 'truncated-tail', file, position: torn.position, droppedBytes: cut - torn.position },
    ]);
    expect(fs.statSync(file!).size).toBe(torn.position);
    expect(size).toBe(torn.position + torn.size);
    expect((await reopened.describe('t'))[0]!.highWatermark).toBe(torn.offset);
    expect((await readAll(reopened, 't')).map(summary)).toEqual(range(0, torn.offset).map((i) => expected(i)));
    const [result] = await reopened.producer().send('t', [{ key: 'k', value: 'after the crash' }]);
    expect(result!.baseOffset).toBe(torn.offset);
    const [last] = await readAll(reopened, 't', torn.offset);
    expect([last!.offset, last!.value.toString()]).toEqual([torn.offset, 'after the crash']);
  });
});

describe('damage inside a batch', () => {
  it('a flipped byte in a record of a middle batch: open refuses, repair records a gap over it and every later batch', async () => {
    const { bus, dir } = await seed([500, 500, 500]);
    const highWatermark = (await bus.describe('t'))[0]!.highWatermark;
    expect(highWatermark).toBe(1_500);
    await bus.close();
    const [file] = segmentFiles(dir, 't', 0);
    const frames = framesOf(file!);
    expect(frames.length).toBeGreaterThanOrEqual(5);
    const k = Math.floor(frames.length / 2);
    const victim = frames[k]!;
    const later = frames.slice(k + 1);
    // One byte of the value of a record in the middle of the batch.
    const data = fs.readFileSync(file!);
    const record = recordsOf(data, victim)[Math.floor(victim.count / 2)]!;
    data[record.end - 3] = data[record.end - 3]! ^ 0x01;
    fs.writeFileSync(file!, data);

    const error = await fixture.open({ dir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EmbeddedLogCorruptError);
    expect(error).toMatchObject({ file, position: victim.position });
    expect((error as Error).message).toContain('crc mismatch');
    expect((await verifyLog(dir)).findings).toMatchObject([
      {
        kind: 'damage',
        position: victim.position,
        firstOffset: victim.offset,
        lastSoundOffset: highWatermark - 1,
        soundFramesAfter: later.length,
      },
    ]);

    const repair = await repairPartition(dir, 't', 0);
    // The gap starts at the damaged batch's first offset and covers every offset of it and of the batches after.
    expect(repair).toMatchObject({ from: victim.offset, soundFramesMoved: later.length });
    expect(repair!.to).toBeGreaterThanOrEqual(victim.offset + victim.count);
    expect(repair!.to).toBeGreaterThanOrEqual(highWatermark);
    expect((await verifyLog(dir)).findings).toEqual([]);

    const repaired = await fixture.open({ dir });
    expect((await readAll(repaired, 't')).map(summary)).toEqual(range(0, victim.offset).map((i) => expected(i)));
    const [result] = await repaired.producer().send('t', [message(0)]);
    // No offset is handed out twice.
    expect(result!.baseOffset).toBe(repair!.to);
    expect(result!.baseOffset).toBeGreaterThanOrEqual(highWatermark);
  });

  /** Seeds three sends of 500, then changes the records of the middle batch frame and recomputes its CRC. */
  async function tamperMiddleBatch(change: (data: Buffer, records: { start: number; end: number }[]) => void) {
    const { bus, dir } = await seed([500, 500, 500]);
    await bus.close();
    const [file] = segmentFiles(dir, 't', 0);
    const frames = framesOf(file!);
    const victim = frames[Math.floor(frames.length / 2)]!;
    const data = fs.readFileSync(file!);
    change(data, recordsOf(data, victim));
    resealFrame(data, victim);
    fs.writeFileSync(file!, data);
    return { dir, file: file!, victim };
  }

  describe('a batch whose CRC matches but whose record lengths do not tile the frame is refused, not misread', () => {
    async function tamper(change: (data: Buffer, records: { start: number; end: number }[]) => void) {
      const { dir, file, victim } = await tamperMiddleBatch(change);
      const error = await fixture.open({ dir }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(EmbeddedLogCorruptError);
      expect(error).toMatchObject({ file, position: victim.position });
      return { error: error as Error, victim };
    }

    it('records that end before the frame does', async () => {
      const { error, victim } = await tamper((data, records) => {
        const last = records.at(-1)!;
        data.writeUInt32BE(data.readUInt32BE(last.start) - 1, last.start);
      });
      expect(error.message).toContain(`the batch's ${victim.count} records end 1 bytes before the frame`);
    });

    it('a record that runs past the frame', async () => {
      const { error, victim } = await tamper((data, records) => {
        const middle = records[10]!;
        data.writeUInt32BE(data.readUInt32BE(middle.start) + 100_000, middle.start);
      });
      expect(error.message).toMatch(new RegExp(`record 10 of ${victim.count}: length \\d+ out of range`));
    });
  });

  it('a batch record with fields out of range though its CRC matches is reported by verify, so repair can act', async () => {
    // The read path refuses such a record (nextRecord) and tells the user to run `cityhub bus verify`/`repair`:
    // they must see it too, as they do for a record frame whose fields are out of range.
    const { dir, victim } = await tamperMiddleBatch((data, records) => {
      data[records[10]!.start + 4] = 0x80; // attributes: a bit frame.ts does not define
    });

    expect((await verifyLog(dir)).findings).toMatchObject([
      { kind: 'damage', position: victim.position, firstOffset: victim.offset },
    ]);
    await expect(fixture.open({ dir })).rejects.toMatchObject({
      constructor: EmbeddedLogCorruptError,
      position: victim.position,
    });
  });
});

describe('a segment of old record frames followed by batch frames', () => {
  it('reads back in order, from any offset, before and after a reopen', async () => {
    const dir = fixture.tempDir();
    const setup = await fixture.open({ dir });
    await setup.ensureTopic('t', { partitions: 1 });
    await setup.close();
    const [segment] = segmentFiles(dir, 't', 0);
    const old: Summary[] = [
      [0, 'S1', '{"v":0}', 1_770_000_000_000, {}],
      [1, null, '{"v":1}', 1_770_000_000_001, {}],
      [2, '设备-2', '{"v":"二"}', 1_770_000_000_002, { 'cityhub-source': 'old', line: '2' }],
      [3, 'S3', '{"v":3}', 1_770_000_000_003, {}],
    ];
    const oldBytes = Buffer.concat(
      old.map(([offset, key, value, timestamp, headers]) =>
        recordFrame(offset, timestamp, key, value, Object.keys(headers).length > 0 ? headers : undefined),
      ),
    );
    fs.writeFileSync(segment!, oldBytes);

    const bus = await fixture.open({ dir });
    expect(fixture.warnings).toEqual([]);
    const [first] = await bus.producer().send(
      't',
      range(0, 400).map((i) => message(i)),
    );
    expect(first!.baseOffset).toBe(4);
    const [second] = await bus.producer().send('t', [message(400)]);
    expect(second!.baseOffset).toBe(404);
    const all: Summary[] = [...old, ...range(0, 401).map((i) => expected(i, i + 4))];

    const frames = framesOf(segment!);
    expect(fs.readFileSync(segment!).subarray(0, oldBytes.length).equals(oldBytes)).toBe(true);
    expect(frames.slice(0, 4).map((frame) => [frame.offset, frame.batch, frame.count])).toEqual([
      [0, false, 1],
      [1, false, 1],
      [2, false, 1],
      [3, false, 1],
    ]);
    expect(frames.slice(4).every((frame) => frame.batch)).toBe(true);
    expect(frames.slice(4).length).toBeLessThan(401);

    expect((await readAll(bus, 't')).map(summary)).toEqual(all);
    // Across the boundary between the two kinds, in small reads.
    const across = await bus.read({ topic: 't', partition: 0 }, 2, 5);
    expect(across.messages.map(summary)).toEqual(all.slice(2, 7));
    expect(across.nextOffset).toBe(7);
    const consumer = bus.consumer({ groupId: 'mixed' });
    await consumer.subscribe(['t']);
    consumer.seek({ topic: 't', partition: 0, offset: 1 });
    expect((await pollAll(consumer, 7)).flat().map(summary)).toEqual(all.slice(1));
    await consumer.close();
    await bus.close();

    expect((await verifyLog(dir)).findings).toEqual([]);
    const reopened = await fixture.open({ dir });
    expect(fixture.warnings).toEqual([]);
    expect((await readAll(reopened, 't')).map(summary)).toEqual(all);
    const [next] = await reopened.producer().send('t', [message(401)]);
    expect(next!.baseOffset).toBe(405);
  });
});
