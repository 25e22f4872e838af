import { HotlineApiPeer } from '../../connectors/hotline-rest/api-peer.js';
import { hotlineRestConnectorConfig } from '../../connectors/hotline-rest/config.js';
import { createHotlineRestConnector } from '../../connectors/hotline-rest/connector.js';
import { describeConnectorConformance } from '../support/connector-conformance.js';

describeConnectorConformance('hotline-rest', async () => {
  const api = new HotlineApiPeer();
  await api.start();
  let next = 0;
  return {
    topics: ['raw.hotline', 'dlq.hotline'],
    async offer(count) {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const orderNo = `12345-2026080${String(next++).padStart(5, '0')}`;
        // Each later order updated a second later: the cursor walks them in order.
        const at = new Date(Date.UTC(2026, 7, 1, 1, 0, next)).toISOString().replace('Z', '+00:00');
        api.upsert({ orderNo, updateTime: at, state: '受理' });
        ids.push(orderNo);
      }
      return ids;
    },
    identify: (message) => (JSON.parse(message.value.toString('utf8')) as { orderNo?: string }).orderNo,
    connector: () =>
      createHotlineRestConnector(
        hotlineRestConnectorConfig.parse({
          id: 'conformance',
          kind: 'hotline-rest',
          base_url: `${api.baseUrl}/api`,
          path: '/orders',
          page_size: 4,
          poll_interval_ms: 10,
        }),
      ),
    // A polled source is acknowledged when the connector asks for what comes after the order: its committed cursor.
    async acknowledged(id) {
      return api.requests.some(
        (r) => (r.url.searchParams.get('after_id') ?? '') >= id && r.url.searchParams.has('updated_since'),
      );
    },
    close: () => api.stop(),
  };
});
