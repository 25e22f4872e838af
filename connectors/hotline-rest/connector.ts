import { instantKey } from '../hotline-cursor/instant.js';
import { HotlinePollingConnector } from '../hotline-cursor/poller.js';
import type { HotlineRestConnectorConfig } from './config.js';
import { HotlineRestSource, type RestContinuation } from './source.js';

/** The hotline-rest connector: the shared cursor poller over a 12345 REST API. */
export function createHotlineRestConnector(
  config: HotlineRestConnectorConfig,
): HotlinePollingConnector<RestContinuation> {
  const start = config.start_at;
  return new HotlinePollingConnector(
    {
      id: config.id,
      kind: 'hotline-rest',
      poll_interval_ms: config.poll_interval_ms,
      lookback_ms: config.lookback_ms,
      numeric_order_ids: config.numeric_order_ids,
      ...(start !== undefined
        ? { start: { updated_at: start, order_id: '', at: instantKey(start, config.source_utc_offset)! } }
        : {}),
    },
    new HotlineRestSource(config),
  );
}
