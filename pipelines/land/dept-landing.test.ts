/**
 * Departmental record chunks through the lander:
 * - a chunk re-sent after a restart (the dept-files connector resends what it had not seen committed) is a duplicate,
 *   as it would have been without the restart: the lander recalls the landed dept_record keys (delivery id and file
 *   line) along with the deliveries';
 * - a flush holds about `max_rows` rows whatever a message carries: the worker asks the lander how many messages its
 *   next poll may bring (pollRoom). Before, a poll of 2,000 chunks of ~80 rows each made one flush of 160,000 rows
 *   against a limit of 100,000.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawTopic } from '../../connectors/types.js';
import { NO_HEADERS } from '../bus/headers.js';
import type { PartitionBatch } from '../bus/types.js';
import { Normalizer } from '../normalize/normalizer.js';
import { Lander } from './lander.js';
import { LocalLakeStore } from './local-store.js';
import { ParquetWriter } from './parquet-writer.js';

const NOW = Date.parse('2026-08-05T12:00:00+08:00');
let dir: string;
let writer: ParquetWriter;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-dept-landing-'));
  await mkdir(join(dir, 'scratch'));
  writer = await ParquetWriter.open(join(dir, 'scratch'));
});
afterEach(async () => {
  await writer.close();
  await rm(dir, { recursive: true, force: true });
});

/** A pipeline as it starts over the lake: a fresh normalizer (no dedupe memory) and lander. */
function startPipeline(maxRows = 1_000_000): Lander {
  const normalizer = new Normalizer('dept', {
    salt: 'dept-landing-salt',
    regionCodes: new Set(['330000', '330100', '330106']),
    maxPayloadBytes: 1024 * 1024,
    minEventMs: Date.parse('2000-01-01T00:00:00+08:00'),
    maxFutureSkewMs: 24 * 3600_000,
    now: () => NOW,
  });
  return new Lander({
    store: new LocalLakeStore(join(dir, 'lake')),
    writer,
    normalizers: new Map([[rawTopic('dept'), normalizer]]),
    limits: { maxRows, maxBytes: 1 << 30, maxAgeMs: 3_600_000 },
    now: () => NOW,
  });
}

/** The delivered file every chunk below belongs to. */
const delivery = {
  kind: 'records',
  deliveryId: 'R330106003-9f2c4e1ab07d33c1',
  resourceCode: 'R330106003',
  adcode: '330106',
  deliveredAt: '2026-07-31T18:00:00.000Z',
  file: 'R330106003_20260801.csv',
};

const chunk = { ...delivery, lines: [3, 4], records: [{ 名称: '文三路保洁巡查' }, { 名称: '天目山路保洁巡查' }] };

function batch(offset: number, payload: object): PartitionBatch {
  const topic = rawTopic('dept');
  const value = Buffer.from(JSON.stringify(payload));
  return {
    topic,
    partition: 0,
    highWatermark: offset + 1,
    messages: [{ topic, partition: 0, offset, key: null, value, timestamp: NOW, headers: NO_HEADERS }],
  };
}

it('a record chunk landed before a restart is a duplicate after it; other lines of the file still land', async () => {
  const before = startPipeline();
  before.add(batch(0, chunk));
  await before.flush();
  await before.committed();
  expect(before.stats.feeds.dept).toEqual({ received: 2, landed: 2, dead_lettered: 0 });

  const after = startPipeline();
  await after.recallLanded();
  after.add(batch(1, chunk));
  after.add(batch(2, { ...chunk, lines: [5], records: [{ 名称: '莫干山路保洁巡查' }] }));
  await after.flush();
  await after.committed();
  expect(after.stats.feeds.dept).toEqual({ received: 3, landed: 1, dead_lettered: 2 });
  expect(after.deadLettersByReason.get('dept')).toEqual(new Map([['duplicate', 2]]));
});

const MAX_ROWS = 1_000;
const POLL_MAX = 2_000;

/** `count` record chunks of a delivered file from line `line` on, `perChunk` records each, as the connector sends. */
function chunks(offset: number, count: number, line: number, perChunk: number): PartitionBatch {
  const topic = rawTopic('dept');
  const messages = Array.from({ length: count }, (_, m) => {
    const lines = Array.from({ length: perChunk }, (_, r) => line + m * perChunk + r);
    const value = Buffer.from(
      JSON.stringify({ ...delivery, lines, records: lines.map((n) => ({ 名称: `保洁巡查 ${n}` })) }),
    );
    return { topic, partition: 0, offset: offset + m, key: null, value, timestamp: NOW, headers: NO_HEADERS };
  });
  return { topic, partition: 0, highWatermark: offset + count, messages };
}

describe('flush size (pollRoom)', () => {
  it('sizes polls by the rows a message brings, so a flush of 80-row chunks passes max_rows by less than one chunk', async () => {
    const lander = startPipeline(MAX_ROWS);
    // Nothing seen yet: a small first poll, which tells the rows a message brings.
    expect(lander.pollRoom(POLL_MAX)).toBe(100);
    lander.add(chunks(0, 1, 2, 80));
    expect(lander.pollRoom(POLL_MAX)).toBe(Math.ceil((MAX_ROWS - 80) / 80));
    let offset = 1;
    let line = 82;
    const flushRows: number[] = [];
    // The worker's loop: poll what pollRoom allows (the bus has more), add, flush when due.
    for (let poll = 0; poll < 200 && flushRows.length < 3; poll++) {
      const count = lander.pollRoom(POLL_MAX);
      lander.add(chunks(offset, count, line, 80));
      offset += count;
      line += count * 80;
      if (lander.due()) {
        const before = lander.stats.feeds.dept?.received ?? 0;
        await lander.flush();
        await lander.committed();
        flushRows.push((lander.stats.feeds.dept?.received ?? 0) - before);
        // Emptied: room for max_rows again, in chunks of 80 rows.
        expect(lander.pollRoom(POLL_MAX)).toBe(Math.ceil(MAX_ROWS / 80));
      }
    }
    expect(flushRows.length).toBe(3);
    for (const rows of flushRows) {
      expect(rows).toBeGreaterThanOrEqual(MAX_ROWS);
      expect(rows).toBeLessThan(MAX_ROWS + 80);
    }
    expect(lander.stats.feeds.dept?.dead_lettered).toBe(0);
  });

  it('never asks for fewer than one message, nor more than the poll allows', async () => {
    const lander = startPipeline(MAX_ROWS);
    lander.add(chunks(0, 1, 2, 1_500));
    expect(lander.due()).toBe(true);
    expect(lander.pollRoom(POLL_MAX)).toBe(1);
    await lander.flush();
    await lander.committed();
    expect(lander.pollRoom(POLL_MAX)).toBe(1);
    expect(lander.pollRoom(0)).toBe(1);
  });
});
