import { PGlite } from '@electric-sql/pglite';
import { afterAll } from 'vitest';
import { instantKey } from '../../connectors/hotline-cursor/instant.js';
import { hotlineSqlConnectorConfig } from '../../connectors/hotline-sql/config.js';
import { createHotlineSqlConnector } from '../../connectors/hotline-sql/connector.js';
import { PostgresPeer } from '../../connectors/hotline-sql/pg-peer.js';
import { CURSOR_AT } from '../../connectors/hotline-sql/query.js';
import { describeConnectorConformance } from '../support/connector-conformance.js';

// One database for the file (PGlite takes seconds to start on a busy machine); each test gets the table afresh.
let database: Promise<PGlite> | undefined;
afterAll(async () => {
  await (await database)?.close();
});

describeConnectorConformance('hotline-sql', async () => {
  database ??= PGlite.create();
  const peer = PostgresPeer.over(await database);
  await peer.db.exec(`drop table if exists work_orders;
    create table work_orders (order_id text primary key, updated_at timestamptz not null, state text)`);
  await peer.start(0);
  let next = 0;
  /** Update time (comparable UTC text) of each offered order. */
  const offeredAt = new Map<string, string>();
  return {
    topics: ['raw.hotline', 'dlq.hotline'],
    async offer(count) {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = `GD2026080${String(next++).padStart(5, '0')}`;
        // Each later order updated a second later: the cursor walks them in order.
        const at = new Date(Date.UTC(2026, 7, 1, 1, 0, next)).toISOString();
        await peer.db.query(`insert into work_orders values ($1, $2, '已受理')`, [id, at]);
        offeredAt.set(id, instantKey(at, '+00:00')!);
        ids.push(id);
      }
      return ids;
    },
    identify: (message) => (JSON.parse(message.value.toString('utf8')) as { order_id?: string }).order_id,
    connector: () =>
      createHotlineSqlConnector(
        hotlineSqlConnectorConfig.parse({
          id: 'conformance',
          kind: 'hotline-sql',
          connection_string: peer.url(),
          table: 'work_orders',
          batch_size: 4,
          poll_interval_ms: 10,
          connect_timeout_ms: 2000,
        }),
      ),
    // A polled table is acknowledged when the connector asks the server for what comes after the order: the cursor it
    // committed, seen in the bound parameters ($1 update time, $2 order id) of its later queries.
    async acknowledged(id) {
      const at = offeredAt.get(id)!;
      return peer.wire.statements.some(({ text, values: [cursorAt, cursorId] }) => {
        if (!text.includes(CURSOR_AT) || typeof cursorAt !== 'string' || typeof cursorId !== 'string') return false;
        const committed = instantKey(cursorAt, '+00:00')!;
        return committed > at || (committed === at && cursorId >= id);
      });
    },
    close: () => peer.close(),
  };
});
