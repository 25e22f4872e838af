import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBus } from '../../pipelines/bus/embedded/bus.js';
import { BusFixture } from '../../pipelines/bus/embedded/test-support.js';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { FakeProducer } from '../../test/support/fake-producer.js';
import { instantKey } from '../hotline-cursor/instant.js';
import { HotlinePollingConnector } from '../hotline-cursor/poller.js';
import { CapturedLog, ObservedSource } from '../hotline-cursor/testing.js';
import { connectorConfig } from '../index.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { type HotlineSqlConnectorConfig, hotlineSqlConnectorConfig } from './config.js';
import { PostgresPeer } from './pg-peer.js';
import { cursorQuery } from './query.js';
import { HotlineSqlSource } from './source.js';

const fast: RetryPolicy = { initialMs: 1, maxMs: 8, factor: 2, maxAttempts: Infinity };
const fixture = new BusFixture();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean().catch(() => {});
  await fixture.cleanup();
});

const TABLE = `create table "工单" (
  order_id text primary key,
  updated_at timestamptz not null,
  state text,
  accept_time timestamptz,
  deadline timestamp,
  street text,
  caller_phone text,
  amount numeric,
  visit jsonb
)`;

async function peer(): Promise<PostgresPeer> {
  const p = await PostgresPeer.create();
  cleanups.push(() => p.close());
  await p.db.exec(TABLE);
  await p.start(0);
  return p;
}

async function upsert(
  p: PostgresPeer,
  id: string,
  updatedAt: string,
  state = '已受理',
  street: string | null = '330106001',
) {
  await p.db.query(
    `insert into "工单" values ($1, $2, $3, '2026-08-13 09:00:00+08', '2026-08-20 18:00:00', $4, '13800138000', 12.50, '{"contacted": true}')
     on conflict (order_id) do update set updated_at = excluded.updated_at, state = excluded.state, street = excluded.street`,
    [id, updatedAt, state, street],
  );
}

function connector(p: PostgresPeer, over: Partial<Record<string, unknown>> = {}) {
  const config: HotlineSqlConnectorConfig = hotlineSqlConnectorConfig.parse({
    id: 'case-db',
    kind: 'hotline-sql',
    connection_string: p.url(),
    table: '工单',
    batch_size: 3,
    poll_interval_ms: 10,
    connect_timeout_ms: 2000,
    ...over,
  });
  const source = new ObservedSource(new HotlineSqlSource(config));
  const c = new HotlinePollingConnector(
    { id: config.id, kind: 'hotline-sql', poll_interval_ms: config.poll_interval_ms, numeric_order_ids: false },
    source,
  );
  cleanups.push(() => c.stop());
  return { c, source };
}

async function busWithTopics(): Promise<EmbeddedBus> {
  const bus = await fixture.open({ dir: fixture.tempDir() });
  await bus.ensureTopic('raw.hotline', { partitions: 1 });
  await bus.ensureTopic('dlq.hotline', { partitions: 1 });
  return bus;
}

async function rowsOn(bus: EmbeddedBus): Promise<Record<string, unknown>[]> {
  const end = (await bus.describe('raw.hotline'))[0]!.highWatermark;
  const { messages } = await bus.read({ topic: 'raw.hotline', partition: 0 }, 0, end + 1);
  return messages.map((m) => JSON.parse(m.value.toString()) as Record<string, unknown>);
}

const versions = (rows: Record<string, unknown>[]) => rows.map((r) => `${r.order_id}@${r.updated_at}`);

describe('the hotline-sql connector (PostgreSQL over the wire: PGlite + pglite-socket, pg)', () => {
  it('takes every row once — same second and same microsecond included — then a changed row again, as typed JSON', async () => {
    const p = await peer();
    for (const id of ['C005', 'C001', 'C004', 'C002', 'C003']) await upsert(p, id, '2026-08-13 10:00:00.000001+08');
    await upsert(p, 'C010', '2026-08-13 10:00:00.000002+08');
    await upsert(p, 'C009', '2026-08-13 10:00:01+08', '已办结', null);
    const bus = await busWithTopics();
    const { c, source } = connector(p);
    let caughtUp = source.caughtUp();
    await c.start({ producer: bus.producer(), log: new CapturedLog().logger, retryPolicy: fast });
    await caughtUp;
    let rows = await rowsOn(bus);
    expect(versions(rows)).toEqual([
      'C001@2026-08-13T02:00:00.000001Z',
      'C002@2026-08-13T02:00:00.000001Z',
      'C003@2026-08-13T02:00:00.000001Z',
      'C004@2026-08-13T02:00:00.000001Z',
      'C005@2026-08-13T02:00:00.000001Z',
      'C010@2026-08-13T02:00:00.000002Z',
      'C009@2026-08-13T02:00:01Z',
    ]);
    // Column names as keys; timestamps ISO text; numeric as text (no digit lost); jsonb as JSON; NULL kept as null.
    expect(rows[6]).toEqual({
      order_id: 'C009',
      updated_at: '2026-08-13T02:00:01Z',
      state: '已办结',
      accept_time: '2026-08-13T01:00:00Z',
      deadline: '2026-08-20T18:00:00',
      street: null,
      caller_phone: '13800138000',
      amount: '12.50',
      visit: { contacted: true },
    });

    await upsert(p, 'C002', '2026-08-13 10:30:00+08', '已办结');
    await upsert(p, 'C011', '2026-08-13 10:00:01+08');
    caughtUp = source.caughtUp();
    await caughtUp;
    rows = await rowsOn(bus);
    expect(versions(rows.slice(7))).toEqual(['C011@2026-08-13T02:00:01Z', 'C002@2026-08-13T02:30:00Z']);
    expect(c.health()).toMatchObject({ state: 'running', sent: { hotline: 9 } });
    expect(c.position).toMatchObject({ order_id: 'C002', updated_at: '2026-08-13 02:30:00+00' });
  });

  it('a database down at start, dropped mid-stream and back later: retried, unhealthy meanwhile, no row lost or doubled', async () => {
    const p = await peer();
    await p.stop();
    for (let i = 1; i <= 4; i++) await upsert(p, `D00${i}`, `2026-08-13 11:00:0${i}+08`);
    const bus = await busWithTopics();
    const log = new CapturedLog();
    const { c, source } = connector(p);
    await c.start({ producer: bus.producer(), log: log.logger, retryPolicy: fast });
    await log.waitFor('hotline source read failed; retrying', 2);
    expect(c.health()).toMatchObject({ state: 'running', error: expect.stringMatching(/ECONNREFUSED/) });
    let caughtUp = source.caughtUp();
    await p.start();
    await caughtUp;
    expect(c.health().error).toBeUndefined();

    await p.stop();
    for (let i = 5; i <= 8; i++) await upsert(p, `D00${i}`, `2026-08-13 11:00:0${i}+08`);
    const failures = log.count('hotline source read failed; retrying');
    await log.waitFor('hotline source read failed; retrying', failures + 1);
    expect(c.health().error).toBeDefined();
    caughtUp = source.caughtUp();
    await p.start();
    await caughtUp;
    const ids = (await rowsOn(bus)).map((r) => r.order_id);
    expect(ids).toEqual(['D001', 'D002', 'D003', 'D004', 'D005', 'D006', 'D007', 'D008']);
    expect(c.health().error).toBeUndefined();
  });

  it('a full bus: the cursor is not committed and the next batch not read until the batch is on the bus', async () => {
    const p = await peer();
    for (let i = 1; i <= 5; i++) await upsert(p, `E00${i}`, `2026-08-13 12:00:0${i}+08`);
    const producer = new FakeProducer();
    producer.failNext(3);
    const checkpoint = await SourceCheckpoint.open(join(fixture.tempDir(), 'case-db.json'));
    const { c, source } = connector(p);
    const caughtUp = source.caughtUp();
    await c.start({ producer, log: new CapturedLog().logger, retryPolicy: fast, checkpoint });
    await producer.failed(3);
    expect(checkpoint.position).toBeUndefined();
    expect(source.reads).toBe(1);
    await caughtUp;
    expect(producer.acknowledged.map((m) => m.key)).toEqual(['E001', 'E002', 'E003', 'E004', 'E005']);
    expect(checkpoint.position).toMatchObject({ order_id: 'E005' });
  });

  it('a restart resumes from the committed cursor', async () => {
    const p = await peer();
    for (let i = 1; i <= 4; i++) await upsert(p, `F00${i}`, `2026-08-13 13:00:0${i}+08`);
    const bus = await busWithTopics();
    const path = join(fixture.tempDir(), 'case-db.json');
    const topics = ['raw.hotline', 'dlq.hotline'];
    const first = await SourceCheckpoint.open(path, { bus, topics });
    const one = connector(p);
    let caughtUp = one.source.caughtUp();
    await one.c.start({ producer: first.guard(bus.producer()), log: new CapturedLog().logger, checkpoint: first });
    await caughtUp;
    await one.c.stop();

    await upsert(p, 'F005', '2026-08-13 13:00:05+08');
    await upsert(p, 'F001', '2026-08-13 13:10:00+08', '已办结');
    const second = await SourceCheckpoint.open(path, { bus, topics });
    const two = connector(p);
    caughtUp = two.source.caughtUp();
    await two.c.start({ producer: second.guard(bus.producer()), log: new CapturedLog().logger, checkpoint: second });
    await caughtUp;
    expect(versions(await rowsOn(bus))).toEqual([
      'F001@2026-08-13T05:00:01Z',
      'F002@2026-08-13T05:00:02Z',
      'F003@2026-08-13T05:00:03Z',
      'F004@2026-08-13T05:00:04Z',
      'F005@2026-08-13T05:00:05Z',
      'F001@2026-08-13T05:10:00Z',
    ]);
  });

  it('a missing table is reported and retried, not a crash; the connector reads once it exists', async () => {
    const p = await peer();
    const log = new CapturedLog();
    const { c, source } = connector(p, { table: 'orders_v' });
    const producer = new FakeProducer();
    await c.start({ producer, log: log.logger, retryPolicy: fast });
    await log.waitFor('hotline source read failed; retrying');
    expect(c.health()).toMatchObject({ state: 'running', error: expect.stringMatching(/orders_v.*42P01/) });
    const caughtUp = source.caughtUp();
    await p.db.exec(`create view orders_v as select * from "工单"`);
    await upsert(p, 'G001', '2026-08-13 14:00:00+08');
    await caughtUp;
    expect(producer.acknowledged.map((m) => m.key)).toEqual(['G001']);
  });
});

describe('hotline-sql config and query', () => {
  it('takes names from the config only as quoted identifiers, values only as parameters', () => {
    const config = hotlineSqlConnectorConfig.parse({
      id: 'db',
      kind: 'hotline-sql',
      connection_string: 'postgres://u:p@h/db',
      schema: 'gd',
      table: '工单',
      columns: ['order_id', 'state'],
    });
    expect(cursorQuery(config, true)).toBe(
      'select "order_id", "state", "updated_at"::text as "__cityhub_cursor_at", "order_id"::text as "__cityhub_cursor_id" ' +
        'from "gd"."工单" where "updated_at" > $1 or ("updated_at" = $1 and "order_id"::text collate "C" > $2) ' +
        'order by "updated_at", "order_id"::text collate "C" limit $3',
    );
    for (const table of ['orders; drop table x', 'a"b', 'x y', '1abc']) {
      expect(() =>
        connectorConfig.parse({ id: 'db', kind: 'hotline-sql', connection_string: 'postgres://h/db', table }),
      ).toThrow();
    }
    expect(
      connectorConfig.parse({ id: 'db', kind: 'hotline-sql', connection_string: 'postgres://h/db', table: 't' }),
    ).toMatchObject({
      feed: 'hotline',
      order_id_column: 'order_id',
      statement_timeout_ms: 30_000,
    });
  });

  it('orders update times to the microsecond whatever their zone', () => {
    expect(instantKey('2026-08-13 10:00:00.000001+08', '+00:00')).toBe('2026-08-13T02:00:00.000001Z');
    expect(
      instantKey('2026-08-13 02:00:00+00', '+00:00')! < instantKey('2026-08-13T02:00:00.0000001Z', '+00:00')!,
    ).toBe(false);
    expect(instantKey('2026-08-13 10:00:00', '+08:00')).toBe('2026-08-13T02:00:00.000000Z');
    expect(instantKey('yesterday', '+08:00')).toBeUndefined();
  });
});
