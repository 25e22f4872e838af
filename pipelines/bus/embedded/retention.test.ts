import fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { segmentsToDelete } from './retention.js';
import { BusFixture, segmentFiles } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

describe('segmentsToDelete', () => {
  const segs = [
    { nextOffset: 10, size: 100, maxTimestamp: 1000 },
    { nextOffset: 20, size: 100, maxTimestamp: 2000 },
    { nextOffset: 30, size: 100, maxTimestamp: 3000 },
  ];
  it('deletes oldest first while over the size limit, never at or above protectFrom', () => {
    expect(segmentsToDelete(segs, 400, Infinity, { retentionMs: 0, retentionBytes: 250 }, 0)).toBe(2);
    expect(segmentsToDelete(segs, 400, 15, { retentionMs: 0, retentionBytes: 250 }, 0)).toBe(1);
    expect(segmentsToDelete(segs, 400, 9, { retentionMs: 0, retentionBytes: 1 }, 0)).toBe(0);
    expect(segmentsToDelete(segs, 400, 30, { retentionMs: 0, retentionBytes: 1 }, 0)).toBe(3);
  });
  it('deletes by the newest timestamp in a segment, stopping at the first young one', () => {
    expect(segmentsToDelete(segs, 400, Infinity, { retentionMs: 1500, retentionBytes: 0 }, 4000)).toBe(2);
    expect(segmentsToDelete(segs, 400, Infinity, { retentionMs: 5000, retentionBytes: 0 }, 4000)).toBe(0);
    expect(segmentsToDelete(segs, 400, Infinity, { retentionMs: 0, retentionBytes: 0 }, 4000)).toBe(0);
  });
});

describe('retention', () => {
  async function seed(spec: { retentionBytes?: number; retentionMs?: number }, timestamp?: number) {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir, segmentBytes: 2048 });
    await bus.ensureTopic('t', { partitions: 1, ...spec });
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    const producer = bus.producer();
    for (let i = 0; i < 40; i++) {
      await producer.send(
        't',
        Array.from({ length: 10 }, (_, j) => ({ value: `m-${i * 10 + j}-${'p'.repeat(60)}`, timestamp })),
      );
    }
    return { dir, bus, consumer };
  }

  it('deletes whole segments below the committed offset when over retentionBytes; lowWatermark moves', async () => {
    const { dir, bus, consumer } = await seed({ retentionBytes: 4096 });
    const files = segmentFiles(dir, 't', 0);
    expect(files.length).toBeGreaterThan(10);
    // Nothing committed yet: the subscribed group protects everything.
    expect(await bus.enforceRetention()).toBe(0);
    expect(segmentFiles(dir, 't', 0)).toEqual(files);

    await consumer.commit([{ topic: 't', partition: 0, offset: 150 }]);
    const deleted = await bus.enforceRetention();
    expect(deleted).toBeGreaterThan(0);
    const kept = segmentFiles(dir, 't', 0);
    expect(kept).toEqual(files.slice(deleted));
    const { lowWatermark, highWatermark } = (await bus.describe('t'))[0]!;
    expect(lowWatermark).toBe(Number(kept[0]!.slice(-24, -4)));
    expect(lowWatermark).toBeGreaterThan(0);
    expect(lowWatermark).toBeLessThanOrEqual(150);
    expect(highWatermark).toBe(400);
    // Everything from the committed offset on is still readable, in order.
    const messages = [];
    for (;;) {
      const batches = await consumer.poll({ maxMessages: 1000, maxWaitMs: 0 });
      if (batches.length === 0) break;
      messages.push(...batches[0]!.messages);
    }
    expect(messages.map((m) => m.offset)).toEqual(Array.from({ length: 250 }, (_, i) => 150 + i));
    // A reader that seeks below the log start resumes at the oldest kept offset.
    consumer.seek({ topic: 't', partition: 0, offset: 0 });
    const [batch] = await consumer.poll({ maxMessages: 1, maxWaitMs: 0 });
    expect(batch!.messages[0]!.offset).toBe(lowWatermark);
  });

  it('never deletes the active segment, nor anything a group that once committed has not consumed', async () => {
    const { dir, bus, consumer } = await seed({ retentionBytes: 1 });
    await consumer.commit([{ topic: 't', partition: 0, offset: 400 }]);
    await bus.enforceRetention();
    const kept = segmentFiles(dir, 't', 0);
    expect(kept).toHaveLength(1);
    expect((await bus.describe('t'))[0]).toMatchObject({
      lowWatermark: Number(kept[0]!.slice(-24, -4)),
      highWatermark: 400,
    });

    // A second group commits far behind and leaves; after reopen nobody is subscribed, but its commit still protects.
    const producer = bus.producer();
    for (let i = 0; i < 20; i++) await producer.send('t', [{ value: `more-${i}-${'q'.repeat(600)}` }]);
    const lagging = bus.consumer({ groupId: 'lagging' });
    await lagging.subscribe(['t']);
    await lagging.commit([{ topic: 't', partition: 0, offset: 405 }]);
    await lagging.close();
    await consumer.commit([{ topic: 't', partition: 0, offset: 420 }]);
    await bus.close();
    const reopened = await fixture.open({ dir, segmentBytes: 2048 });
    await reopened.enforceRetention();
    const { lowWatermark } = (await reopened.describe('t'))[0]!;
    expect(lowWatermark).toBeLessThanOrEqual(405);
    expect(lowWatermark).toBeGreaterThan(400 - 20);
  });

  it('deletes by age (newest timestamp of a segment), and runs on its timer', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir, segmentBytes: 2048, retentionCheckMs: 10 });
    await bus.ensureTopic('t', { partitions: 1, retentionMs: 60_000 });
    const producer = bus.producer();
    for (let i = 0; i < 10; i++) {
      await producer.send(
        't',
        Array.from({ length: 10 }, (_, j) => ({ value: `old-${i}-${j}-${'o'.repeat(80)}`, timestamp: 1000 })),
      );
    }
    await producer.send('t', [{ value: 'new' }]);
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    await consumer.commit([{ topic: 't', partition: 0, offset: 101 }]);
    // The timer may already have deleted the first expired segments while the sends were still going on, so
    // wait until it has gone past them, not merely until something was deleted.
    const deadline = Date.now() + 10_000;
    while ((await bus.describe('t'))[0]!.lowWatermark <= 50 && Date.now() < deadline) await delay(10);
    const { lowWatermark } = (await bus.describe('t'))[0]!;
    expect(lowWatermark).toBeGreaterThan(50);
    expect(fs.existsSync(segmentFiles(dir, 't', 0).at(-1)!)).toBe(true);
  });
});
