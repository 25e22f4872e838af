/**
 * Measures the hotline connectors on loopback: orders/s from a 12345 REST API (node:http peer) and from PostgreSQL
 * (PGlite over pglite-socket, `pg`), each into a real embedded bus (fsync always) through a source checkpoint, as the
 * hub runs them; and where the time goes (reading the source, appending to the bus, the rest: cursor, JSON,
 * checkpoint commits). A measurement, not a test: `npm run build && node dist/connectors/hotline-cursor/measure.js
 * [orders]`. The peers run in this process: their CPU is part of the figure (2-core machine).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import type { BusProducer } from '../../pipelines/bus/types.js';
import { HotlineApiPeer } from '../hotline-rest/api-peer.js';
import { hotlineRestConnectorConfig } from '../hotline-rest/config.js';
import { HotlineRestSource } from '../hotline-rest/source.js';
import { hotlineSqlConnectorConfig } from '../hotline-sql/config.js';
import { PostgresPeer } from '../hotline-sql/pg-peer.js';
import { HotlineSqlSource } from '../hotline-sql/source.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { HotlinePollingConnector, type OrderSource } from './poller.js';
import { ObservedSource } from './testing.js';

const log = pino({ level: 'silent' });
const orders = Number(process.argv[2] ?? 50_000);

function order(i: number): Record<string, unknown> {
  const second = String(i % 60).padStart(2, '0');
  const minute = String(Math.floor(i / 60) % 60).padStart(2, '0');
  const hour = String(8 + Math.floor(i / 3600)).padStart(2, '0');
  return {
    orderNo: `GD20260813${String(i).padStart(6, '0')}`,
    updateTime: `2026-08-13 ${hour}:${minute}:${second}`,
    state: '已受理',
    acceptTime: '2026-08-13 08:00:00',
    channel: '电话',
    category: '城市管理/市容环境/暴露垃圾',
    street: '330106001',
    content: '市民反映某小区门口垃圾堆放多日无人清理，影响通行，请尽快处理。',
    caller: { phone: '13800138000' },
  };
}

class TimedSource<C> extends ObservedSource<C> {
  readMs = 0;
  override async read(...args: Parameters<OrderSource<C>['read']>) {
    const t = performance.now();
    try {
      return await super.read(...args);
    } finally {
      this.readMs += performance.now() - t;
    }
  }
}

async function run<C>(name: string, source: TimedSource<C>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cityhub-hotline-measure-'));
  try {
    const bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'always' });
    await bus.ensureTopic('raw.hotline', { partitions: 4 });
    await bus.ensureTopic('dlq.hotline', { partitions: 1 });
    const checkpoint = await SourceCheckpoint.open(join(dir, 'cp.json'), {
      bus,
      topics: ['raw.hotline', 'dlq.hotline'],
    });
    let sendMs = 0;
    const inner = checkpoint.guard(bus.producer());
    const producer: BusProducer = {
      send: async (topic, messages) => {
        const t = performance.now();
        try {
          return await inner.send(topic, messages);
        } finally {
          sendMs += performance.now() - t;
        }
      },
      close: () => inner.close(),
    };
    const connector = new HotlinePollingConnector(
      { id: name, kind: name, poll_interval_ms: 10, numeric_order_ids: false },
      source,
    );
    const caughtUp = source.caughtUp();
    const t0 = performance.now();
    await connector.start({ producer, log, checkpoint });
    await caughtUp;
    const total = performance.now() - t0;
    await connector.stop();
    const sent = connector.health().progress!.orders_sent!;
    const rest = total - source.readMs - sendMs;
    console.log(
      `${name}: ${sent} orders in ${(total / 1000).toFixed(2)} s = ${Math.round(sent / (total / 1000))} orders/s; ` +
        `source reads ${Math.round((source.readMs / total) * 100)}% (${source.reads} reads), ` +
        `bus sends incl. checkpoint record + fsync ${Math.round((sendMs / total) * 100)}%, ` +
        `cursor/JSON/commits ${Math.round((rest / total) * 100)}%`,
    );
    await bus.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const api = new HotlineApiPeer();
await api.start(0);
for (let i = 0; i < orders; i++) api.upsert(order(i) as never);
const restConfig = hotlineRestConnectorConfig.parse({
  id: 'rest',
  kind: 'hotline-rest',
  base_url: `${api.baseUrl}/api`,
  path: '/orders',
  page_size: 500,
});
await run('hotline-rest', new TimedSource(new HotlineRestSource(restConfig)));
await api.stop();

const pgPeer = await PostgresPeer.create();
await pgPeer.db.exec(`create table orders (order_id text primary key, updated_at timestamptz not null, state text,
  accept_time timestamptz, channel text, category text, street text, content text, caller_phone text)`);
await pgPeer.db.exec(`insert into orders select 'GD20260813' || lpad(i::text, 6, '0'),
  timestamptz '2026-08-13 08:00:00+08' + (i || ' seconds')::interval, '已受理', timestamptz '2026-08-13 08:00:00+08',
  '电话', '城市管理/市容环境/暴露垃圾', '330106001', '市民反映某小区门口垃圾堆放多日无人清理，影响通行，请尽快处理。', '13800138000'
  from generate_series(0, ${orders - 1}) as i`);
await pgPeer.start(0);
const sqlConfig = hotlineSqlConnectorConfig.parse({
  id: 'sql',
  kind: 'hotline-sql',
  connection_string: pgPeer.url(),
  table: 'orders',
  batch_size: 1000,
});
await run('hotline-sql', new TimedSource(new HotlineSqlSource(sqlConfig)));
await pgPeer.close();
