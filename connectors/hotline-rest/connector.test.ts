import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBus } from '../../pipelines/bus/embedded/bus.js';
import { BusFixture } from '../../pipelines/bus/embedded/test-support.js';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { FakeProducer } from '../../test/support/fake-producer.js';
import { CapturedLog } from '../hotline-cursor/testing.js';
import { connectorConfig } from '../index.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { type ApiOrder, HotlineApiPeer } from './api-peer.js';
import { hotlineRestConnectorConfig } from './config.js';
import { createHotlineRestConnector } from './connector.js';
import { retryAfter } from './source.js';

const fast: RetryPolicy = { initialMs: 1, maxMs: 8, factor: 2, maxAttempts: Infinity };
const fixture = new BusFixture();
const peers: HotlineApiPeer[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop().catch(() => {});
  for (const peer of peers.splice(0)) await peer.stop();
  await fixture.cleanup();
});

async function peer(options: { listening?: boolean } = {}): Promise<HotlineApiPeer> {
  const api = new HotlineApiPeer();
  peers.push(api);
  await api.start();
  if (options.listening === false) await api.stop(); // keeps the port: the peer is down, and comes back there
  return api;
}

function order(n: number, updateTime: string, state = '已受理', extra: Partial<ApiOrder> = {}): ApiOrder {
  return {
    orderNo: `GD2026081300${String(n).padStart(2, '0')}`,
    updateTime,
    state,
    acceptTime: '2026-08-13 09:00:00',
    channel: '电话',
    category: '城市管理/市容环境/暴露垃圾',
    street: '330106001',
    caller: { phone: '13800138000' },
    ...extra,
  };
}

function connector(api: HotlineApiPeer, over: Record<string, unknown> = {}) {
  const config = hotlineRestConnectorConfig.parse({
    id: 'hotline-api',
    kind: 'hotline-rest',
    base_url: `${api.baseUrl}/api`,
    path: '/orders',
    page_size: 4,
    poll_interval_ms: 10,
    ...over,
  });
  const c = createHotlineRestConnector(config);
  stops.push(() => c.stop());
  return c;
}

async function busWithTopics(): Promise<EmbeddedBus> {
  const bus = await fixture.open({ dir: fixture.tempDir() });
  await bus.ensureTopic('raw.hotline', { partitions: 1 });
  await bus.ensureTopic('dlq.hotline', { partitions: 1 });
  return bus;
}

async function keysOn(bus: EmbeddedBus, topic = 'raw.hotline'): Promise<string[]> {
  const end = (await bus.describe(topic))[0]!.highWatermark;
  const { messages } = await bus.read({ topic, partition: 0 }, 0, end + 1);
  return messages.map((m) => `${m.key}@${(JSON.parse(m.value.toString()) as ApiOrder).updateTime}`);
}

const at = (o: ApiOrder) => `${o.orderNo}@${o.updateTime}`;

describe('the hotline-rest connector', () => {
  it('takes every order once across pages — ten updated in the same second included — then a changed order again', async () => {
    const api = await peer();
    const sameSecond = Array.from({ length: 10 }, (_, i) => order(i + 1, '2026-08-13 10:00:00'));
    const rest = Array.from({ length: 5 }, (_, i) => order(i + 20, `2026-08-13 10:00:0${i + 1}`));
    api.upsert(...rest, ...sameSecond);
    const bus = await busWithTopics();
    const log = new CapturedLog();
    const c = connector(api);
    const caughtUp = api.caughtUp();
    await c.start({ producer: bus.producer(), log: log.logger, retryPolicy: fast });
    await caughtUp;
    expect(await keysOn(bus)).toEqual([...sameSecond, ...rest].map(at));
    // Same-second orders span pages (page size 4): the second poll resumed inside that second, by order id.
    expect(api.requests.some((r) => r.url.searchParams.get('page') === '2')).toBe(true);

    // A state change, and two orders stamped in the same second as the cursor with higher ids.
    const handled = order(3, '2026-08-13 10:05:00', '已办结', { finishTime: '2026-08-13 10:05:00' });
    const late = [order(30, '2026-08-13 10:00:05'), order(31, '2026-08-13 10:00:05')];
    api.upsert(handled, ...late);
    const again = api.caughtUp();
    await again;
    expect((await keysOn(bus)).slice(15)).toEqual([...late, handled].map(at));
    const last = JSON.parse(
      (await bus.read({ topic: 'raw.hotline', partition: 0 }, 17, 1)).messages[0]!.value.toString(),
    );
    expect(last).toMatchObject({ orderNo: handled.orderNo, state: '已办结' });
    expect(c.health()).toMatchObject({
      state: 'running',
      sent: { hotline: 18 },
      progress: { orders_sent: 18, rows_behind_cursor: 0 },
    });
    expect(c.health().error).toBeUndefined();
  });

  it('waits out a peer that is down at start, 500s, a 429 with Retry-After and an HTML page: unhealthy meanwhile, nothing lost', async () => {
    const api = await peer({ listening: false });
    api.upsert(...Array.from({ length: 9 }, (_, i) => order(i + 1, `2026-08-13 11:00:0${i}`)));
    const bus = await busWithTopics();
    const log = new CapturedLog();
    const c = connector(api);
    await c.start({ producer: bus.producer(), log: log.logger, retryPolicy: fast });
    await log.waitFor('hotline source read failed; retrying', 2);
    expect(c.health().state).toBe('running');
    expect(c.health().error).toMatch(/cannot be reached.*ECONNREFUSED/);

    // Back, but failing: a 500, an HTML gateway page with 200, then a 429 asking for 1 s.
    api.canned.push(
      { status: 500, body: 'internal error' },
      { status: 200, body: '<html><body>网关维护中</body></html>' },
      { status: 429, body: 'slow down', headers: { 'retry-after': '1' } },
    );
    const recovered = log.waitFor('hotline source recovered');
    const caughtUp = api.caughtUp();
    await api.start();
    await recovered;
    await caughtUp;
    const failures = log.lines.filter((l) => l.msg === 'hotline source read failed; retrying');
    const answered = failures.filter((l) => !/ECONNREFUSED/.test((l.err as { message: string }).message));
    expect(answered.map((l) => (l.err as { message: string }).message)).toEqual([
      expect.stringMatching(/answered 500/),
      expect.stringMatching(/answered 200 with a page that is not JSON \(text\/html.*网关维护中/),
      expect.stringMatching(/answered 429/),
    ]);
    // Retry-After (1 s) wins over the short backoff.
    expect(answered[2]!.delay_ms).toBeGreaterThanOrEqual(1000);
    expect(c.health().error).toBeUndefined();
    expect(await keysOn(bus)).toEqual([...api.orders.values()].map(at));
    expect(c.health().progress).toMatchObject({ orders_sent: 9, source_retries: failures.length });

    // Dropped mid-stream: down between two polls, back later; the new order comes, none twice.
    await api.stop();
    api.upsert(order(40, '2026-08-13 12:00:00'));
    await log.waitFor('hotline source read failed; retrying', failures.length + 1);
    expect(c.health().error).toMatch(/cannot be reached/);
    const back = api.caughtUp();
    await api.start();
    await back;
    expect(await keysOn(bus)).toEqual([...api.orders.values()].map(at));
  });

  it('a full bus: the cursor does not move and the next page is not asked for until the orders are on the bus', async () => {
    const api = await peer();
    api.upsert(...Array.from({ length: 6 }, (_, i) => order(i + 1, `2026-08-13 12:00:0${i}`)));
    const producer = new FakeProducer();
    producer.failNext(3);
    const dir = fixture.tempDir();
    const checkpoint = await SourceCheckpoint.open(join(dir, 'hotline-api.json'));
    const c = connector(api);
    const caughtUp = api.caughtUp();
    await c.start({ producer, log: new CapturedLog().logger, retryPolicy: fast, checkpoint });
    await producer.failed(3);
    expect(checkpoint.position).toBeUndefined();
    expect(api.requests).toHaveLength(1);
    expect(c.health().error).toMatch(/bus send to raw.hotline failing.*ENOSPC/);
    await caughtUp;
    expect(producer.acknowledged.map((m) => m.key)).toEqual([...api.orders.keys()]);
    expect(checkpoint.position).toMatchObject({ order_id: 'GD202608130006', updated_at: '2026-08-13 12:00:05' });
    expect(c.health().retries).toBe(3);
  });

  it('a restart resumes from the committed cursor: no order twice, none missed', async () => {
    const api = await peer();
    api.upsert(...Array.from({ length: 5 }, (_, i) => order(i + 1, `2026-08-13 13:00:0${i}`)));
    const bus = await busWithTopics();
    const dir = fixture.tempDir();
    const path = join(dir, 'hotline-api.json');
    const topics = ['raw.hotline', 'dlq.hotline'];
    const first = await SourceCheckpoint.open(path, { bus, topics });
    const one = connector(api);
    let caughtUp = api.caughtUp();
    await one.start({ producer: first.guard(bus.producer()), log: new CapturedLog().logger, checkpoint: first });
    await caughtUp;
    await one.stop();
    expect(one.health().state).toBe('stopped');

    api.upsert(order(6, '2026-08-13 13:00:05'), order(2, '2026-08-13 13:10:00', '已办结'));
    const second = await SourceCheckpoint.open(path, { bus, topics });
    const two = connector(api);
    const from = api.requests.length;
    caughtUp = api.caughtUp();
    await two.start({ producer: second.guard(bus.producer()), log: new CapturedLog().logger, checkpoint: second });
    await caughtUp;
    const firstAsk = api.requests[from]!.url.searchParams;
    expect([firstAsk.get('updated_since'), firstAsk.get('after_id')]).toEqual([
      '2026-08-13 13:00:04',
      'GD202608130005',
    ]);
    const keys = await keysOn(bus);
    expect(keys).toHaveLength(7);
    expect(new Set(keys).size).toBe(7);
    await rm(dir, { recursive: true, force: true });
  });

  it('an API that ignores the cursor or a clock that went back: reported, no loop, each order version sent once, newer ones still taken', async () => {
    const api = await peer();
    api.upsert(...Array.from({ length: 3 }, (_, i) => order(i + 1, `2026-08-13 14:00:0${i}`)));
    const bus = await busWithTopics();
    const log = new CapturedLog();
    const c = connector(api, { page_size: 10 });
    let caughtUp = api.caughtUp();
    await c.start({ producer: bus.producer(), log: log.logger, retryPolicy: fast });
    await caughtUp;

    api.ignoreCursor = true;
    // The source's clock went back: order 1 changed state, stamped before the cursor.
    api.upsert(order(1, '2026-08-13 13:59:00', '已办结'));
    await log.waitFor('cursor went backwards', 2);
    expect(c.health().error).toMatch(/returned 3 order\(s\) at or before the cursor/);
    expect(c.health().progress).toMatchObject({ rows_repeated_skipped: 3 + 2 });
    expect(c.position).toMatchObject({ order_id: 'GD202608130003' });
    expect(await keysOn(bus)).toEqual([
      'GD202608130001@2026-08-13 14:00:00',
      'GD202608130002@2026-08-13 14:00:01',
      'GD202608130003@2026-08-13 14:00:02',
      'GD202608130001@2026-08-13 13:59:00',
    ]);
    // Each poll is one request: a page that moves nothing forward ends the poll.
    const polls = c.health().progress!.polls!;
    expect(api.requests.length).toBeLessThanOrEqual(polls + 1);

    api.ignoreCursor = false;
    api.upsert(order(4, '2026-08-13 14:00:09'));
    caughtUp = api.caughtUp();
    await caughtUp;
    expect((await keysOn(bus)).at(-1)).toBe('GD202608130004@2026-08-13 14:00:09');
    expect(c.health().error).toBeUndefined();
  });

  it('with lookback_ms, an order committed late inside the window is taken exactly once, across a restart too; one older than the window is not', async () => {
    const api = await peer();
    api.upsert(...Array.from({ length: 3 }, (_, i) => order(i + 1, `2026-08-13 14:00:0${i}`)));
    const bus = await busWithTopics();
    const path = join(fixture.tempDir(), 'hotline-api.json');
    const topics = ['raw.hotline', 'dlq.hotline'];
    const first = await SourceCheckpoint.open(path, { bus, topics });
    const log = new CapturedLog();
    const one = connector(api, { page_size: 10, lookback_ms: 60_000 });
    // A poll is one request here (fewer orders than a page); the second request starts the poll after the first.
    await one.start({ producer: first.guard(bus.producer()), log: log.logger, checkpoint: first });
    await api.answered(2);

    // Order 1's new state committed late, stamped 38 s before the cursor; order 7 stamped 2 min before (outside the
    // minute); order 4 new and after the cursor.
    api.upsert(
      order(1, '2026-08-13 13:59:40', '已办结'),
      order(7, '2026-08-13 13:58:00'),
      order(4, '2026-08-13 14:00:09'),
    );
    await log.waitFor('late orders taken from the lookback window');
    await api.answered(api.requests.length + 2);
    const sent = [
      'GD202608130001@2026-08-13 14:00:00',
      'GD202608130002@2026-08-13 14:00:01',
      'GD202608130003@2026-08-13 14:00:02',
      'GD202608130001@2026-08-13 13:59:40',
      'GD202608130004@2026-08-13 14:00:09',
    ];
    expect(await keysOn(bus)).toEqual(sent);
    expect(one.health()).toMatchObject({ state: 'running', progress: { orders_late: 1, rows_behind_cursor: 0 } });
    expect(one.health().error).toBeUndefined();
    expect(log.count('late orders taken from the lookback window')).toBe(1);
    // Each poll asks from a minute before the cursor, in the API's own time format, before every id of that second.
    const asked = api.requests.map((r) => [
      r.url.searchParams.get('updated_since'),
      r.url.searchParams.get('after_id'),
    ]);
    expect(asked).toContainEqual(['2026-08-13 13:59:02', '']);
    expect(asked.at(-1)).toEqual(['2026-08-13 13:59:09', '']);
    await one.stop();

    // A restart: what the window sent is in the checkpoint, so nothing is sent again.
    const second = await SourceCheckpoint.open(path, { bus, topics });
    const two = connector(api, { page_size: 10, lookback_ms: 60_000 });
    const from = api.requests.length;
    await two.start({ producer: second.guard(bus.producer()), log: new CapturedLog().logger, checkpoint: second });
    await api.answered(from + 3);
    expect(await keysOn(bus)).toEqual(sent);
    expect(two.health().progress).toMatchObject({ orders_late: 0, orders_sent: 0 });
  });

  it('follows a next link in the body, sends the auth header, and dead-letters an order without an id', async () => {
    const api = await peer();
    api.token = 'Bearer s3cret';
    const orders = Array.from({ length: 5 }, (_, i) => order(i + 1, `2026-08-13 15:00:0${i}`));
    api.nextLinks = true;
    api.upsert(...orders, { ...order(9, '2026-08-13 15:00:09'), orderNo: '' });
    const bus = await busWithTopics();
    const c = connector(api, {
      headers: { Authorization: 'Bearer s3cret' },
      pagination: { type: 'next_link', next_path: 'links.next' },
    });
    const log = new CapturedLog();
    await c.start({ producer: bus.producer(), log: log.logger, retryPolicy: fast });
    await log.waitFor('message dead-lettered by the connector');
    // Polls go on returning the order without an id: it is dead-lettered once.
    await api.answered(api.requests.length + 3);
    expect(await keysOn(bus)).toEqual(orders.map(at));
    expect(api.requests.every((r) => r.status === 200)).toBe(true);
    expect(api.requests.some((r) => r.url.searchParams.get('page') === '2')).toBe(true);
    const letters = (await bus.read({ topic: 'dlq.hotline', partition: 0 }, 0, 10)).messages;
    expect(letters).toHaveLength(1);
    expect(JSON.parse(letters[0]!.value.toString())).toMatchObject({ reason_code: 'no_cursor_fields' });
    expect(c.health().dead_lettered).toEqual({ hotline: 1 });
  });
});

describe('hotline-rest config and Retry-After', () => {
  it('is registered, rejects unknown keys and fixes the feed to hotline', () => {
    const parsed = connectorConfig.parse({ id: 'h', kind: 'hotline-rest', base_url: 'http://127.0.0.1:1/api' });
    expect(parsed).toMatchObject({ feed: 'hotline', pagination: { type: 'page_number', page_param: 'page' } });
    expect(() =>
      connectorConfig.parse({ id: 'h', kind: 'hotline-rest', base_url: 'http://x', pgae_size: 3 }),
    ).toThrow();
    expect(() =>
      connectorConfig.parse({ id: 'h', kind: 'hotline-rest', base_url: 'http://x', feed: 'sensor' }),
    ).toThrow();
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfter('3')).toBe(3000);
    expect(retryAfter('Wed, 21 Oct 2026 07:28:10 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfter(null)).toBeUndefined();
  });
});
