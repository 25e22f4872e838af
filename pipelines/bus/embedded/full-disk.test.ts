import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isRetriable } from '../../retry.js';
import type { Bus, BusMessage } from '../types.js';
import { EmbeddedWriteFailedError, fsSegmentIo, type SegmentIo } from './index.js';
import { BusFixture, segmentFiles } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

function osError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated, ${syscall}`), { code, syscall });
}

/** The real file system, except that while `full` a write lands half its first buffer and then fails ENOSPC. */
class FaultyDisk implements SegmentIo {
  full = false;
  failSyncs = false;
  async writev(fd: number, buffers: Buffer[], position: number): Promise<void> {
    if (!this.full) return fsSegmentIo.writev(fd, buffers, position);
    const first = buffers[0]!;
    fs.writeSync(fd, first, 0, first.length >> 1, position);
    throw osError('ENOSPC', 'write');
  }
  async fdatasync(fd: number): Promise<void> {
    if (this.failSyncs) throw osError('EIO', 'fdatasync');
    return fsSegmentIo.fdatasync(fd);
  }
}

async function readAll(bus: Bus, topic: string): Promise<string[]> {
  const consumer = bus.consumer({ groupId: `reader-${Date.now()}` });
  await consumer.subscribe([topic]);
  const messages: BusMessage[] = [];
  for (;;) {
    const batches = await consumer.poll({ maxMessages: 1000, maxWaitMs: 0 });
    if (batches.length === 0) break;
    for (const batch of batches) messages.push(...batch.messages);
  }
  await consumer.close();
  return messages.map((m) => `${m.offset}:${m.value.toString()}`);
}

const batch = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: 'k', value: `${prefix}-${i}` }));
const expected = (from: number, prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${from + i}:${prefix}-${i}`);

describe('a full disk', () => {
  for (const fsync of ['always', 'never'] as const) {
    it(`refuses sends with a retriable error while writes fail, then accepts the next ones at the next offsets (fsync ${fsync})`, async () => {
      const dir = fixture.tempDir();
      const disk = new FaultyDisk();
      const bus = await fixture.open({ dir, fsync, io: disk });
      await bus.ensureTopic('raw.t', { partitions: 1 });
      const producer = bus.producer();
      await producer.send('raw.t', batch('before', 10));

      disk.full = true;
      // Concurrent sends: one in flight, others queued behind it; all are refused.
      const refused = await Promise.allSettled([
        producer.send('raw.t', batch('refused-a', 5)),
        producer.send('raw.t', batch('refused-b', 3)),
        producer.send('raw.t', batch('refused-c', 1)),
      ]);
      for (const outcome of refused) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason;
        expect(error).toBeInstanceOf(EmbeddedWriteFailedError);
        expect(error).toMatchObject({
          topic: 'raw.t',
          partition: 0,
          file: segmentFiles(dir, 'raw.t', 0)[0],
          code: 'ENOSPC',
        });
        expect(error.cause).toMatchObject({ code: 'ENOSPC' });
        expect(isRetriable(error)).toBe(true);
      }
      expect((await bus.describe('raw.t'))[0]!.highWatermark).toBe(10);
      // Still full: refused again, not wedged.
      await expect(producer.send('raw.t', batch('refused-d', 2))).rejects.toBeInstanceOf(EmbeddedWriteFailedError);

      disk.full = false;
      const [after] = await producer.send('raw.t', batch('after', 4));
      expect(after!.baseOffset).toBe(10);
      const acknowledged = [...expected(0, 'before', 10), ...expected(10, 'after', 4)];
      expect(await readAll(bus, 'raw.t')).toEqual(acknowledged);
      await bus.close();

      // Recovery finds exactly what was acknowledged: the half-written refused bytes were cut, nothing to truncate.
      const reopened = await fixture.open({ dir, fsync });
      expect(fixture.warnings).toEqual([]);
      expect(await readAll(reopened, 'raw.t')).toEqual(acknowledged);
      const [next] = await reopened.producer().send('raw.t', batch('reopened', 1));
      expect(next!.baseOffset).toBe(14);
    });
  }

  it('refuses appends whose fsync failed (EIO), across a segment roll, and never serves their bytes', async () => {
    const dir = fixture.tempDir();
    const disk = new FaultyDisk();
    const bus = await fixture.open({ dir, fsync: 'always', io: disk, segmentBytes: 1024 });
    await bus.ensureTopic('raw.t', { partitions: 1 });
    const producer = bus.producer();
    await producer.send('raw.t', batch('before', 30));
    const segmentsBefore = segmentFiles(dir, 'raw.t', 0);

    disk.failSyncs = true;
    const big = batch('refused', 60); // more than a segment: rolls into new files
    const outcomes = await Promise.allSettled([producer.send('raw.t', big), producer.send('raw.t', big)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'EIO', retriable: true });
    expect((await bus.describe('raw.t'))[0]!.highWatermark).toBe(30);

    disk.failSyncs = false;
    const [after] = await producer.send('raw.t', batch('after', 5));
    expect(after!.baseOffset).toBe(30);
    const acknowledged = [...expected(0, 'before', 30), ...expected(30, 'after', 5)];
    expect(await readAll(bus, 'raw.t')).toEqual(acknowledged);
    await bus.close();

    const reopened = await fixture.open({ dir });
    expect(fixture.warnings).toEqual([]);
    expect(await readAll(reopened, 'raw.t')).toEqual(acknowledged);
    // Segments made only for refused appends are gone; the log continues densely.
    expect(segmentFiles(dir, 'raw.t', 0).slice(0, segmentsBefore.length)).toEqual(segmentsBefore);
  });
});
