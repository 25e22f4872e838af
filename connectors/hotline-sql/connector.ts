import { instantKey } from '../hotline-cursor/instant.js';
import { HotlinePollingConnector } from '../hotline-cursor/poller.js';
import type { HotlineSqlConnectorConfig } from './config.js';
import { HotlineSqlSource } from './source.js';

/** The hotline-sql connector: the shared cursor poller over a PostgreSQL table or view. */
export function createHotlineSqlConnector(config: HotlineSqlConnectorConfig): HotlinePollingConnector<true> {
  const start = config.start_at;
  return new HotlinePollingConnector(
    {
      id: config.id,
      kind: 'hotline-sql',
      poll_interval_ms: config.poll_interval_ms,
      lookback_ms: config.lookback_ms,
      // Ordered as text in the "C" collation by the query: the cursor compares the same way.
      numeric_order_ids: false,
      ...(start !== undefined ? { start: { updated_at: start, order_id: '', at: instantKey(start, '+00:00')! } } : {}),
    },
    new HotlineSqlSource(config),
  );
}
