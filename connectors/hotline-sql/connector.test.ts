import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
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

// One database for the file (PGlite takes seconds to start on a busy machine); each test starts from an empty schema.
let database: Promise<PGlite> | undefined;
afterAll(async () => {
  await (await database)?.close();
});

async function peer(): Promise<PostgresPeer> {
  database ??= PGlite.create();
  const p = PostgresPeer.over(await database);
  cleanups.push(() => p.close());
  await p.db.exec(`drop schema public cascade; create schema public; ${TABLE}`);
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
    {
      id: config.id,
      kind: 'hotline-sql',
      poll_interval_ms: config.poll_interval_ms,
      numeric_order_ids: false,
      lookback_ms: config.lookback_ms,
    },
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
    const caughtUp = source.caughtUp();
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
    // A read in flight during the upserts may come back empty: wait for a poll begun after them to be committed.
    await source.polled(3);
    rows = await rowsOn(bus);
    expect(versions(rows.slice(7))).toEqual(['C011@2026-08-13T02:00:01Z', 'C002@2026-08-13T02:30:00Z']);
    expect(c.health()).toMatchObject({ state: 'running', sent: { hotline: 9 } });
    expect(c.position).toMatchObject({ order_id: 'C002', updated_at: '2026-08-13 02:30:00+00' });

    // What the server saw: only the two statements of query.ts, every value bound as a parameter.
    const config = hotlineSqlConnectorConfig.parse({
      id: 'x',
      kind: 'hotline-sql',
      connection_string: p.url(),
      table: '工单',
    });
    expect(new Set(p.wire.statements.map((st) => st.text))).toEqual(
      new Set([cursorQuery(config, false), cursorQuery(config, true)]),
    );
    expect(p.wire.statements[0]!.values).toEqual(['3']);
    expect(p.wire.statements.at(-1)!.values).toEqual(['2026-08-13 02:30:00+00', 'C002', '3']);
  });

  it('a database down at start, dropped mid-stream and back later: retried, unhealthy meanwhile, no row lost or doubled', async () => {
    const p = await peer();
    await p.stop();
    for (let i = 1; i <= 4; i++) await upsert(p, `D00${i}`, `2026-08-13 11:00:0${i}+08`);
    const bus = await busWithTopics();
    const log = new CapturedLog();
    const { c, source } = connector(p);
    await c.start({ producer: bus.producer(), log: log.logger, retryPolicy: fast });
    await log.waitFor('hotline source read failed; retrying', 4);
    expect(c.health()).toMatchObject({ state: 'running', error: expect.stringMatching(/ECONNREFUSED/) });
    // Backoff: each attempt waits within the policy's growing ceiling (1, 2, 4, 8 ms; half fixed, half jitter).
    const retries = log.lines.filter((l) => l.msg === 'hotline source read failed; retrying').slice(0, 4);
    expect(retries.map((l) => l.attempt)).toEqual([1, 2, 3, 4]);
    retries.forEach((l, i) => {
      expect(l.delay_ms).toBeGreaterThanOrEqual(2 ** i / 2);
      expect(l.delay_ms).toBeLessThanOrEqual(2 ** i);
    });
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

  it('a row with a NULL order id is dead-lettered with its reason, once; pages of nothing else do not wedge the poll', async () => {
    const p = await peer();
    await p.db.exec(`create table drafts (order_id text, updated_at timestamptz, state text)`);
    const rows: [string | null, string | null][] = [
      ['H001', '2026-08-13 10:00:01+08'],
      [null, '2026-08-13 10:00:02+08'],
      [null, '2026-08-13 10:00:03+08'],
      [null, '2026-08-13 10:00:04+08'],
      [null, '2026-08-13 10:00:05+08'],
      ['H002', '2026-08-13 10:00:05+08'],
      ['H003', null],
    ];
    for (const [id, at] of rows) await p.db.query(`insert into drafts values ($1, $2, '草稿')`, [id, at]);
    const bus = await busWithTopics();
    const log = new CapturedLog();
    // Two rows a read: one page holds nothing but rows without an id.
    const { c, source } = connector(p, { table: 'drafts', batch_size: 2 });
    await c.start({ producer: bus.producer(), log: log.logger, retryPolicy: fast });
    await log.waitFor('message dead-lettered by the connector', 4);
    await source.caughtUp();
    expect((await rowsOn(bus)).map((r) => r.order_id)).toEqual(['H001', 'H002']);
    const letters = (await bus.read({ topic: 'dlq.hotline', partition: 0 }, 0, 10)).messages.map(
      (m) => JSON.parse(m.value.toString()) as Record<string, unknown>,
    );
    expect(letters).toHaveLength(4);
    expect(letters[0]).toMatchObject({ reason_code: 'no_cursor_fields' });
    expect(JSON.stringify(letters[0])).toMatch(/NULL order_id/);
    expect(c.health()).toMatchObject({ state: 'running', dead_lettered: { hotline: 4 } });
    expect(c.position).toMatchObject({ order_id: 'H002' });

    // Still running: later rows are taken, the idless ones are not dead-lettered again.
    await p.db.query(`insert into drafts values ('H004', '2026-08-13 10:00:09+08', '已受理')`);
    // A read already in flight when the row went in may come back empty: wait for a poll that began after it to be
    // sent and committed (the third poll start after this point).
    await source.polled(3);
    expect((await rowsOn(bus)).map((r) => r.order_id)).toEqual(['H001', 'H002', 'H004']);
    expect(c.health().dead_lettered).toEqual({ hotline: 4 });
  });

  it('asks the server for the statement timeout; a server that never answers is given up on, retried, and recovers', async () => {
    const p = await peer();
    for (let i = 1; i <= 3; i++) await upsert(p, `T00${i}`, `2026-08-13 15:00:0${i}+08`);
    const bus = await busWithTopics();
    const log = new CapturedLog();
    const { c, source } = connector(p, { statement_timeout_ms: 100, connect_timeout_ms: 200 });
    // PGlite (WASM, one thread) neither runs pg_sleep without blocking this process nor enforces statement_timeout:
    // the server-side cancel cannot be shown here, only that each connection asks for it, and the client's backstop.
    p.stall();
    await c.start({ producer: bus.producer(), log: log.logger, retryPolicy: fast });
    await log.waitFor('hotline source read failed; retrying', 2);
    expect(c.health().error).toMatch(/timeout/i);
    const caughtUp = source.caughtUp();
    p.resume();
    await caughtUp;
    expect((await rowsOn(bus)).map((r) => r.order_id)).toEqual(['T001', 'T002', 'T003']);
    expect(c.health().error).toBeUndefined();
    expect(p.wire.startups.length).toBeGreaterThan(0);
    for (const startup of p.wire.startups)
      expect(startup).toMatchObject({ statement_timeout: '100', application_name: 'cityhub' });
  });

  it('without lookback_ms, an order stamped before the committed cursor is not seen: no loop, later orders still taken', async () => {
    const p = await peer();
    for (let i = 1; i <= 3; i++) await upsert(p, `B00${i}`, `2026-08-13 16:00:0${i}+08`);
    const bus = await busWithTopics();
    const { c, source } = connector(p);
    let caughtUp = source.caughtUp();
    await c.start({ producer: bus.producer(), log: new CapturedLog().logger, retryPolicy: fast });
    await caughtUp;
    const reads = source.reads;
    // B001 changes state, stamped a minute before the cursor; B004 is new and after it.
    await upsert(p, 'B001', '2026-08-13 15:59:00+08', '已办结');
    await upsert(p, 'B004', '2026-08-13 16:00:09+08');
    caughtUp = source.caughtUp();
    await caughtUp;
    caughtUp = source.caughtUp();
    await caughtUp;
    // The cursor query cannot find a row behind the cursor (Kafka Connect JDBC's limit too): lookback_ms is the cure.
    expect(versions(await rowsOn(bus))).toEqual([
      'B001@2026-08-13T08:00:01Z',
      'B002@2026-08-13T08:00:02Z',
      'B003@2026-08-13T08:00:03Z',
      'B004@2026-08-13T08:00:09Z',
    ]);
    expect(c.position).toMatchObject({ order_id: 'B004' });
    expect(source.reads - reads).toBeLessThanOrEqual(c.health().progress!.polls! + 1);
    expect(c.health()).toMatchObject({ state: 'running', progress: { rows_behind_cursor: 0, orders_late: 0 } });
  });

  it('with lookback_ms, an order committed late inside the window is taken exactly once, across a restart too; one older than the window is not', async () => {
    const p = await peer();
    for (let i = 1; i <= 3; i++) await upsert(p, `L00${i}`, `2026-08-13 16:00:0${i}+08`);
    const bus = await busWithTopics();
    const path = join(fixture.tempDir(), 'case-db.json');
    const topics = ['raw.hotline', 'dlq.hotline'];
    const first = await SourceCheckpoint.open(path, { bus, topics });
    const log = new CapturedLog();
    const one = connector(p, { lookback_ms: 60_000 });
    const caughtUp = one.source.caughtUp();
    await one.c.start({ producer: first.guard(bus.producer()), log: log.logger, checkpoint: first });
    await caughtUp;

    // Committed late: L001's new state stamped 33 s before the cursor (inside the minute), L009 stamped 3 min before
    // (outside it); L004 is new and after the cursor. The window (4 rows, batch_size 3) spans two reads.
    await upsert(p, 'L001', '2026-08-13 15:59:30+08', '已办结');
    await upsert(p, 'L009', '2026-08-13 15:57:00+08');
    await upsert(p, 'L004', '2026-08-13 16:00:09+08');
    await log.waitFor('late orders taken from the lookback window');
    await one.source.polled(3);
    const sent = [
      'L001@2026-08-13T08:00:01Z',
      'L002@2026-08-13T08:00:02Z',
      'L003@2026-08-13T08:00:03Z',
      'L001@2026-08-13T07:59:30Z',
      'L004@2026-08-13T08:00:09Z',
    ];
    expect(versions(await rowsOn(bus))).toEqual(sent);
    expect(one.c.health()).toMatchObject({ state: 'running', progress: { orders_late: 1, rows_behind_cursor: 0 } });
    expect(one.c.health().error).toBeUndefined();
    const warning = log.lines.find((l) => l.msg === 'late orders taken from the lookback window')!;
    expect(warning).toMatchObject({ late: 1, orders: ['L001@2026-08-13 07:59:30+00'], lookback_ms: 60_000 });
    expect(log.count('late orders taken from the lookback window')).toBe(1);
    // Each poll asks from a minute before the cursor (as the database wrote it), then pages on from its last row.
    const asked = p.wire.statements.map((st) => st.values);
    expect(asked).toContainEqual(['2026-08-13 07:59:09+00', '', '3']);
    expect(asked).toContainEqual(['2026-08-13 08:00:03+00', 'L003', '3']);
    await one.c.stop();

    // A restart: the window's sent orders come from the checkpoint, so nothing is sent again; a new late one is taken.
    const second = await SourceCheckpoint.open(path, { bus, topics });
    const log2 = new CapturedLog();
    const two = connector(p, { lookback_ms: 60_000 });
    const polled = two.source.polled(3);
    await two.c.start({ producer: second.guard(bus.producer()), log: log2.logger, checkpoint: second });
    await polled;
    expect(versions(await rowsOn(bus))).toEqual(sent);
    await upsert(p, 'L002', '2026-08-13 16:00:05+08', '已办结');
    await log2.waitFor('late orders taken from the lookback window');
    await two.source.polled();
    expect(versions(await rowsOn(bus))).toEqual([...sent, 'L002@2026-08-13T08:00:05Z']);
    expect(two.c.health().progress).toMatchObject({ orders_late: 1 });
    expect(two.c.position).toMatchObject({ order_id: 'L004' });
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
