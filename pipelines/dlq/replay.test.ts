/**
 * Replay decisions and crash recovery against a real embedded bus and a local lake: a replay interrupted after some
 * appends is finished from the bus and never appends those again; a departmental record chunk part of which landed
 * goes again with only its dead lines; what cannot be replayed faithfully is skipped with its reason.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { BusFixture } from '../bus/embedded/test-support.js';
import type { BusMessage } from '../bus/types.js';
import { deadLetterFilePath, generationTag } from '../land/layout.js';
import { LocalLakeStore } from '../land/local-store.js';
import { literal } from '../models/columns.js';
import { pendingPath, REPLAY_ID_HEADER, REPLAY_OF_HEADER, readPendingReplays, readReplayRecords } from './ledger.js';
import { replayDeadLetters } from './replay.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

interface Letter {
  feed?: string;
  reason_code?: string;
  topic: string;
  offset: number;
  line?: number;
  message_rows?: number;
}

/** Writes dead letters as the lander does: one Parquet file per message, named by its coordinates. */
async function writeDeadLetters(lakeDir: string, generation: string, letters: Letter[]): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const [i, l] of letters.entries()) {
      const feed = l.feed ?? 'dept';
      const path = join(
        lakeDir,
        deadLetterFilePath(feed, '2026-12-01', {
          topic: l.topic,
          partition: 0,
          firstOffset: l.offset,
          // Unique per letter (two letters of one message here), parsed like a landed name.
          lastOffset: l.offset + i,
          generation,
        }),
      );
      await mkdir(join(path, '..'), { recursive: true });
      const coordinates = JSON.stringify({
        topic: l.topic,
        partition: 0,
        offset: l.offset,
        ...(l.line === undefined ? {} : { line: l.line }),
        ...(l.message_rows === undefined ? {} : { message_rows: l.message_rows }),
      });
      await connection.run(
        `copy (select ${literal(feed)} as feed, 'test' as source, ${literal(l.reason_code ?? 'invalid')} as reason_code,
                 '[]' as reason, '{}' as raw, false as raw_truncated, 1::bigint as records,
                 ${literal(coordinates)} as coordinates, ${literal(l.topic)} as _topic, 0 as _partition,
                 ${l.offset}::bigint as _offset, timestamptz '2026-12-01 10:00:00+08' as dead_lettered_at)
         to ${literal(path)} (format parquet)`,
      );
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function setUp() {
  const root = fixture.tempDir();
  const bus = await fixture.open({ dir: join(root, 'bus') });
  for (const topic of ['raw.sensor', 'raw.video', 'raw.hotline', 'raw.event', 'raw.dept', 'dlq.sensor'])
    await bus.ensureTopic(topic, { partitions: 1 });
  const lakeDir = join(root, 'lake');
  await mkdir(lakeDir, { recursive: true });
  const store = new LocalLakeStore(lakeDir);
  return { bus, lakeDir, store, tag: generationTag(bus.generation) };
}

async function readAll(bus: Awaited<ReturnType<typeof setUp>>['bus'], topic: string): Promise<BusMessage[]> {
  return (await bus.read({ topic, partition: 0 }, 0, 1_000)).messages;
}

describe('dlq replay', () => {
  it('finishes an interrupted replay from the bus and never appends its copies again', async () => {
    const { bus, lakeDir, store, tag } = await setUp();
    const producer = bus.producer();
    await producer.send(
      'raw.sensor',
      ['a', 'b', 'c'].map((v) => ({ key: v, value: `{"v":"${v}"}` })),
    );
    await writeDeadLetters(lakeDir, tag, [
      { feed: 'sensor', topic: 'raw.sensor', offset: 0 },
      { feed: 'sensor', topic: 'raw.sensor', offset: 1 },
      { feed: 'sensor', topic: 'raw.sensor', offset: 2 },
    ]);
    // A replay that appended the copies of 0 and 1, then died before its record.
    const message = (of: string) => ({ of, feed: 'sensor', reason_codes: ['invalid'], records: 1, as: null });
    await store.writeSmall(
      pendingPath('replay-crashed'),
      JSON.stringify({
        version: 1,
        replay_id: 'replay-crashed',
        started_at: '2026-12-01T02:00:00.000Z',
        bus_generation: bus.generation,
        watermarks: [{ topic: 'raw.sensor', partition: 0, offset: 3 }],
        messages: ['raw.sensor:0:0', 'raw.sensor:0:1', 'raw.sensor:0:2'].map(message),
      }),
    );
    for (const of of ['raw.sensor:0:0', 'raw.sensor:0:1'])
      await producer.send('raw.sensor', [
        { value: 'copy', headers: { [REPLAY_OF_HEADER]: of, [REPLAY_ID_HEADER]: 'replay-crashed' } },
      ]);
    await producer.close();

    const outcome = await replayDeadLetters({ bus, store, lakeDir, filter: {} });
    expect(outcome.recovered.map((r) => r.messages.map((m) => [m.of, m.as]))).toEqual([
      [
        ['raw.sensor:0:0', 'raw.sensor:0:3'],
        ['raw.sensor:0:1', 'raw.sensor:0:4'],
      ],
    ]);
    expect(await readPendingReplays(store)).toEqual([]);
    // Only the message the crashed replay had not appended goes now, as itself.
    expect(outcome.alreadyReplayed).toBe(2);
    expect(outcome.messages.map((m) => [m.of, m.as])).toEqual([['raw.sensor:0:2', 'raw.sensor:0:5']]);
    const log = await readAll(bus, 'raw.sensor');
    expect(log).toHaveLength(6);
    expect(log[5]!.value.toString()).toBe('{"v":"c"}');
    expect(log[5]!.key).toBe('c');
    expect(log[5]!.headers[REPLAY_OF_HEADER]).toBe('raw.sensor:0:2');
    expect(await readReplayRecords(store)).toHaveLength(2);
    // Nothing is left to replay.
    const again = await replayDeadLetters({ bus, store, lakeDir, filter: {} });
    expect(again.messages).toEqual([]);
    expect(await readAll(bus, 'raw.sensor')).toHaveLength(6);
  });

  it('replays only the dead lines of a departmental record chunk part of which landed', async () => {
    const { bus, lakeDir, store, tag } = await setUp();
    const chunk = {
      kind: 'records',
      deliveryId: 'D-1',
      records: [{ a: 1 }, { a: 2 }, { a: 3 }],
      lines: [10, 11, 12],
    };
    const producer = bus.producer();
    await producer.send('raw.dept', [
      { key: 'D-1', value: JSON.stringify(chunk), headers: { 'cityhub-source': 'bureau' } },
    ]);
    await producer.close();
    await writeDeadLetters(lakeDir, tag, [
      { topic: 'raw.dept', offset: 0, line: 11, message_rows: 1 },
      { topic: 'raw.dept', offset: 0, line: 12, message_rows: 1 },
    ]);
    const outcome = await replayDeadLetters({ bus, store, lakeDir, filter: {} });
    expect(outcome.messages).toMatchObject([{ of: 'raw.dept:0:0', lines: [11, 12], records: 2, as: 'raw.dept:0:1' }]);
    const copy = (await readAll(bus, 'raw.dept'))[1]!;
    expect(JSON.parse(copy.value.toString())).toEqual({ ...chunk, records: [{ a: 2 }, { a: 3 }], lines: [11, 12] });
    expect(copy.headers['cityhub-source']).toBe('bureau');
  });

  it('skips what it cannot replay faithfully, saying why, and appends nothing for it', async () => {
    const { bus, lakeDir, store, tag } = await setUp();
    const producer = bus.producer();
    await producer.send('raw.sensor', [{ value: '{}' }, { value: '{"records":[1,2]}' }, { value: '{}' }]);
    await producer.send('dlq.sensor', [{ value: '{}' }]);
    await producer.close();
    await writeDeadLetters(lakeDir, tag, [
      { feed: 'sensor', topic: 'raw.sensor', offset: 0, reason_code: 'duplicate' },
      // A bulk message one record of which landed (a mapping's `records:`): it would land twice.
      { feed: 'sensor', topic: 'raw.sensor', offset: 1, message_rows: 1 },
      { feed: 'sensor', topic: 'dlq.sensor', offset: 0, reason_code: 'too_large' },
      // Beyond what the bus holds.
      { feed: 'sensor', topic: 'raw.sensor', offset: 9 },
    ]);
    // A dead letter of an earlier bus: its offset names another message here.
    await writeDeadLetters(lakeDir, 'oldgen000001', [{ feed: 'sensor', topic: 'raw.sensor', offset: 2 }]);
    const outcome = await replayDeadLetters({ bus, store, lakeDir, filter: {} });
    const why = Object.fromEntries(outcome.messages.map((m) => [m.of, m.skipped]));
    expect(why).toEqual({
      'dlq.sensor:0:0': expect.stringMatching(/connector dead letter/),
      'raw.sensor:0:0': expect.stringMatching(/duplicates are not replayed/),
      'raw.sensor:0:1': expect.stringMatching(/part of this message landed/),
      'raw.sensor:0:2': expect.stringMatching(/another bus/),
      'raw.sensor:0:9': expect.stringMatching(/no longer holds/),
    });
    expect(await readAll(bus, 'raw.sensor')).toHaveLength(3);
    // Recorded with their reasons, and chosen again next time (nothing was replayed).
    expect((await readReplayRecords(store))[0]!.messages).toHaveLength(5);
    expect((await replayDeadLetters({ bus, store, lakeDir, filter: {}, dryRun: true })).messages).toHaveLength(5);
  });

  it('narrows by feed, reason and message id', async () => {
    const { bus, lakeDir, store, tag } = await setUp();
    const producer = bus.producer();
    await producer.send('raw.sensor', [{ value: '{}' }, { value: '{}' }]);
    await producer.send('raw.video', [{ value: '{}' }]);
    await producer.close();
    await writeDeadLetters(lakeDir, tag, [
      { feed: 'sensor', topic: 'raw.sensor', offset: 0, reason_code: 'invalid' },
      { feed: 'sensor', topic: 'raw.sensor', offset: 1, reason_code: 'unknown_region' },
      { feed: 'video', topic: 'raw.video', offset: 0, reason_code: 'invalid' },
    ]);
    const ofs = async (options: Partial<Parameters<typeof replayDeadLetters>[0]>) =>
      (await replayDeadLetters({ bus, store, lakeDir, filter: {}, dryRun: true, ...options })).messages.map(
        (m) => m.of,
      );
    expect(await ofs({ filter: { feed: 'sensor' } })).toEqual(['raw.sensor:0:0', 'raw.sensor:0:1']);
    expect(await ofs({ filter: { reason: 'invalid' } })).toEqual(['raw.sensor:0:0', 'raw.video:0:0']);
    expect(await ofs({ ids: ['raw.sensor:0:1'] })).toEqual(['raw.sensor:0:1']);
    expect(await ofs({ filter: { since: '2026-12-02T00:00:00Z' } })).toEqual([]);
    // A dry run appends and records nothing.
    expect(await readAll(bus, 'raw.sensor')).toHaveLength(2);
    expect(await readReplayRecords(store)).toEqual([]);
  });
});
