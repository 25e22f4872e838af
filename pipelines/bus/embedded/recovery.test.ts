import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusMessage } from '../types.js';
import { EmbeddedLogCorruptError } from './index.js';
import { BusFixture, framesOf, segmentFiles } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

async function readAll(bus: Bus, topic: string, groupId = `reader-${Math.random()}`): Promise<BusMessage[]> {
  const consumer = bus.consumer({ groupId: groupId.replace(/[^A-Za-z0-9._-]/g, '') });
  await consumer.subscribe([topic]);
  const messages: BusMessage[] = [];
  for (;;) {
    const batches = await consumer.poll({ maxMessages: 10_000, maxWaitMs: 0 });
    if (batches.length === 0) break;
    for (const batch of batches) messages.push(...batch.messages);
  }
  await consumer.close();
  return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

describe('reopen', () => {
  for (const fsync of ['always', 'never'] as const) {
    it(`keeps messages and committed offsets; new appends continue offsets densely (fsync ${fsync})`, async () => {
      const dir = fixture.tempDir();
      let bus = await fixture.open({ dir, fsync });
      await bus.ensureTopic('t', { partitions: 2, retentionMs: 1000 });
      const producer = bus.producer();
      const first = Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 5}`, value: `first-${i}`, timestamp: i }));
      await producer.send('t', first);
      const consumer = bus.consumer({ groupId: 'app' });
      await consumer.subscribe(['t']);
      const polled = await consumer.poll({ maxMessages: 100, maxWaitMs: 1000 });
      const commits = polled.map((b) => ({
        topic: 't',
        partition: b.partition,
        offset: b.messages.at(-1)!.offset + 1,
      }));
      await consumer.commit(commits);
      const before = await bus.describe('t');
      await bus.close();

      bus = await fixture.open({ dir, fsync });
      expect(await bus.describe('t')).toEqual(before);
      const again = bus.consumer({ groupId: 'app' });
      await again.subscribe(['t']);
      for (const commit of commits) expect(await again.committed(commit)).toBe(commit.offset);
      // Position starts at the committed offset.
      const resumed = await again.poll({ maxMessages: 1, maxWaitMs: 1000 });
      const startedAt = commits.find((c) => c.partition === resumed[0]!.partition)?.offset ?? 0;
      expect(resumed[0]!.messages[0]!.offset).toBe(startedAt);
      const all = await readAll(bus, 't');
      expect(all.map((m) => m.value.toString()).sort()).toEqual(first.map((m) => m.value).sort());
      expect(all.every((m) => m.timestamp === Number(m.value.toString().slice('first-'.length)))).toBe(true);

      const results = await bus.producer().send('t', [
        { key: 'k0', value: 'second-0' },
        { key: 'k1', value: 'second-1' },
      ]);
      for (const result of results) {
        expect(result.baseOffset).toBe(before.find((p) => p.partition === result.partition)!.highWatermark);
      }
      // The topic's metadata survived too.
      expect(JSON.parse(fs.readFileSync(`${dir}/t/topic.json`, 'utf8'))).toMatchObject({
        partitions: 2,
        retentionMs: 1000,
      });
    });
  }
});

describe('torn tail', () => {
  async function seed(dir: string): Promise<string> {
    const bus = await fixture.open({ dir, segmentBytes: 4096 });
    await bus.ensureTopic('t', { partitions: 1 });
    const producer = bus.producer();
    for (let i = 0; i < 10; i++) {
      await producer.send(
        't',
        Array.from({ length: 20 }, (_, j) => ({ key: `k${j}`, value: `m-${i * 20 + j}` })),
      );
    }
    await bus.close();
    return segmentFiles(dir, 't', 0).at(-1)!;
  }

  it('truncates garbage appended to the last segment and keeps the good prefix', async () => {
    const dir = fixture.tempDir();
    const last = await seed(dir);
    const goodSize = fs.statSync(last).size;
    fs.appendFileSync(last, Buffer.from('\x00\x00\x01\x00garbage that is not a frame at all'));
    const bus = await fixture.open({ dir });
    expect(fixture.warnings).toMatchObject([{ kind: 'truncated-tail', file: last, position: goodSize }]);
    expect(fs.statSync(last).size).toBe(goodSize);
    const all = await readAll(bus, 't');
    expect(all.map((m) => m.value.toString())).toEqual(Array.from({ length: 200 }, (_, i) => `m-${i}`));
    const [result] = await bus.producer().send('t', [{ value: 'after' }]);
    expect(result!.baseOffset).toBe(200);
    const again = await readAll(bus, 't');
    expect(again.at(-1)).toMatchObject({ offset: 200, key: null });
    expect(again.at(-1)!.value.toString()).toBe('after');
  });

  it('drops the batch a crash cut mid-way and reuses its offsets', async () => {
    const dir = fixture.tempDir();
    const last = await seed(dir);
    // The last send's 20 records are the last frame: one batch.
    const torn = framesOf(last).at(-1)!;
    expect(torn).toMatchObject({ offset: 180, count: 20 });
    const cutAt = torn.position + 10; // inside the last frame's header
    fs.truncateSync(last, cutAt);
    const bus = await fixture.open({ dir });
    expect(fixture.warnings).toMatchObject([{ kind: 'truncated-tail', position: torn.position, droppedBytes: 10 }]);
    const all = await readAll(bus, 't');
    expect(all.map((m) => m.value.toString())).toEqual(Array.from({ length: 180 }, (_, i) => `m-${i}`));
    const [result] = await bus.producer().send('t', [{ value: 'replacement' }]);
    expect(result!.baseOffset).toBe(180);
    expect((await readAll(bus, 't')).at(-1)!.value.toString()).toBe('replacement');
  });

  it('truncates at the last frame of the last segment when its CRC fails (nothing sound follows it)', async () => {
    const dir = fixture.tempDir();
    const last = await seed(dir);
    const frame = framesOf(last).at(-1)!;
    expect(frame).toMatchObject({ offset: 180, count: 20 });
    const data = fs.readFileSync(last);
    const victim = frame.position;
    data[victim + 30] = data[victim + 30]! ^ 0xff;
    fs.writeFileSync(last, data);
    const bus = await fixture.open({ dir });
    expect(fixture.warnings[0]).toMatchObject({ kind: 'truncated-tail', position: victim });
    expect(fixture.warnings[0]!.kind === 'truncated-tail' && fixture.warnings[0]!.reason).toMatch(/crc mismatch/);
    // The batch goes whole, with the send it held.
    expect((await readAll(bus, 't')).map((m) => m.offset)).toEqual(Array.from({ length: 180 }, (_, i) => i));
  });
});

describe('corruption before the tail', () => {
  it('throws EmbeddedLogCorruptError naming the file and the frame position, and keeps the log untouched', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir, segmentBytes: 4096 });
    await bus.ensureTopic('t', { partitions: 1 });
    for (let i = 0; i < 10; i++) {
      await bus.producer().send(
        't',
        Array.from({ length: 20 }, (_, j) => ({ value: `m-${i * 20 + j}` })),
      );
    }
    await bus.close();
    const [first] = segmentFiles(dir, 't', 0);
    const data = fs.readFileSync(first!);
    const victim = framesOf(first!)[3]!.position;
    data[victim + 29] = data[victim + 29]! ^ 0x01;
    fs.writeFileSync(first!, data);

    const error = await fixture.open({ dir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EmbeddedLogCorruptError);
    expect(error).toMatchObject({ file: first, position: victim });
    expect((error as Error).message).toContain(first);
    expect(fs.statSync(first!).size).toBe(data.length);
    // The failed open released the lock: a second attempt reports the same damage, not a lock conflict.
    await expect(fixture.open({ dir })).rejects.toMatchObject({ file: first, position: victim });
  });

  it('drops empty segments a crash left past the end of the previous one, and continues offsets densely', async () => {
    // A roll creates the next segment when a batch is queued; killed before the previous segment's queued writes
    // reached its file, the log holds a shorter last-but-one segment and an empty one based beyond it.
    const dir = fixture.tempDir();
    let bus = await fixture.open({ dir, segmentBytes: 2048 });
    await bus.ensureTopic('t', { partitions: 1 });
    await bus.producer().send(
      't',
      Array.from({ length: 10 }, (_, j) => ({ value: `m-${j}` })),
    );
    await bus.close();
    const [only] = segmentFiles(dir, 't', 0);
    fs.writeFileSync(only!.replace(/\d{20}\.log$/, `${'14'.padStart(20, '0')}.log`), '');
    fs.writeFileSync(only!.replace(/\d{20}\.log$/, `${'19'.padStart(20, '0')}.log`), '');

    bus = await fixture.open({ dir, segmentBytes: 2048 });
    expect(segmentFiles(dir, 't', 0)).toEqual([only]);
    const [result] = await bus.producer().send('t', [{ value: 'after' }]);
    expect(result!.baseOffset).toBe(10);
    expect((await readAll(bus, 't')).map((m) => m.value.toString())).toEqual([
      ...Array.from({ length: 10 }, (_, j) => `m-${j}`),
      'after',
    ]);
  });

  it('reports a missing segment in the middle as a gap', async () => {
    const dir = fixture.tempDir();
    // Each send is one batch frame of about 450 bytes: two per segment, five segments.
    const bus = await fixture.open({ dir, segmentBytes: 1024 });
    await bus.ensureTopic('t', { partitions: 1 });
    for (let i = 0; i < 10; i++) {
      await bus.producer().send(
        't',
        Array.from({ length: 20 }, (_, j) => ({ value: `m-${i * 20 + j}` })),
      );
    }
    await bus.close();
    const files = segmentFiles(dir, 't', 0);
    expect(files.length).toBeGreaterThan(3);
    fs.rmSync(files[1]!);
    await expect(fixture.open({ dir })).rejects.toMatchObject({
      constructor: EmbeddedLogCorruptError,
      file: files[2],
      position: 0,
    });
  });
});
