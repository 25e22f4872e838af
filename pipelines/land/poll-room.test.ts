/**
 * A flush holds about `max_rows` rows whatever a message carries: the worker asks the lander how many messages its
 * next poll may bring (pollRoom). Before, a poll of 2,000 departmental chunks of ~80 rows each made one flush of
 * 160,000 rows against a limit of 100,000.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { rawTopic } from '../../connectors/types.js';
import { NO_HEADERS } from '../bus/headers.js';
import type { PartitionBatch } from '../bus/types.js';
import { Normalizer } from '../normalize/normalizer.js';
import { Lander } from './lander.js';
import { LocalLakeStore } from './local-store.js';
import { ParquetWriter } from './parquet-writer.js';

const NOW = Date.parse('2026-08-05T12:00:00+08:00');
const MAX_ROWS = 1_000;
const POLL_MAX = 2_000;
let dir: string;
let writer: ParquetWriter;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-poll-room-'));
  await mkdir(join(dir, 'scratch'));
  writer = await ParquetWriter.open(join(dir, 'scratch'));
});
afterEach(async () => {
  await writer.close();
  await rm(dir, { recursive: true, force: true });
});

function deptLander(): Lander {
  const normalizer = new Normalizer('dept', {
    salt: 'poll-room-salt',
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
    limits: { maxRows: MAX_ROWS, maxBytes: 1 << 30, maxAgeMs: 3_600_000 },
    now: () => NOW,
  });
}

/** `count` record chunks of a delivered file from line `line` on, `perChunk` records each, as the connector sends. */
function chunks(offset: number, count: number, line: number, perChunk: number): PartitionBatch {
  const topic = rawTopic('dept');
  const messages = Array.from({ length: count }, (_, m) => {
    const lines = Array.from({ length: perChunk }, (_, r) => line + m * perChunk + r);
    const value = Buffer.from(
      JSON.stringify({
        kind: 'records',
        deliveryId: 'R330106003-9f2c4e1ab07d33c1',
        resourceCode: 'R330106003',
        adcode: '330106',
        deliveredAt: '2026-07-31T18:00:00.000Z',
        file: 'R330106003_20260801.csv',
        lines,
        records: lines.map((n) => ({ 名称: `保洁巡查 ${n}` })),
      }),
    );
    return { topic, partition: 0, offset: offset + m, key: null, value, timestamp: NOW, headers: NO_HEADERS };
  });
  return { topic, partition: 0, highWatermark: offset + count, messages };
}

it('sizes polls by the rows a message brings, so a flush of 80-row chunks passes max_rows by less than one chunk', async () => {
  const lander = deptLander();
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
  const lander = deptLander();
  lander.add(chunks(0, 1, 2, 1_500));
  expect(lander.due()).toBe(true);
  expect(lander.pollRoom(POLL_MAX)).toBe(1);
  await lander.flush();
  await lander.committed();
  expect(lander.pollRoom(POLL_MAX)).toBe(1);
  expect(lander.pollRoom(0)).toBe(1);
});
