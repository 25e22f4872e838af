/**
 * A departmental file's record chunk re-sent after a restart (the dept-files connector resends what it had not seen
 * committed) is a duplicate, as it would have been without the restart: the lander recalls the landed dept_record
 * keys (delivery id and file line) along with the deliveries'.
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
let dir: string;
let writer: ParquetWriter;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-dept-recall-'));
  await mkdir(join(dir, 'scratch'));
  writer = await ParquetWriter.open(join(dir, 'scratch'));
});
afterEach(async () => {
  await writer.close();
  await rm(dir, { recursive: true, force: true });
});

/** A pipeline as it starts over the lake: a fresh normalizer (no dedupe memory) and lander. */
function startPipeline(): Lander {
  const normalizer = new Normalizer('dept', {
    salt: 'dept-recall-salt',
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
    limits: { maxRows: 1_000_000, maxBytes: 1 << 30, maxAgeMs: 3_600_000 },
    now: () => NOW,
  });
}

const chunk = {
  kind: 'records',
  deliveryId: 'R330106003-9f2c4e1ab07d33c1',
  resourceCode: 'R330106003',
  adcode: '330106',
  deliveredAt: '2026-07-31T18:00:00.000Z',
  file: 'R330106003_20260801.csv',
  lines: [3, 4],
  records: [{ 名称: '文三路保洁巡查' }, { 名称: '天目山路保洁巡查' }],
};

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
