/**
 * The built-in demo city's config, used when no config file is given (plain data: reading it loads no schema).
 */

/** Loopback ports of the built-in demo: its MQTT broker, the hub's http-ingest listener, its 12345 API. */
export const DEMO_PORTS = { mqtt: 18830, ingest: 18080, hotlineApi: 18345 } as const;
const DEMO_WEBHOOK_SECRET = '${CITYHUB_DEMO_WEBHOOK_SECRET:-cityhub-demo-webhook-secret}';

/**
 * The built-in demo's connectors. The demo city reaches the hub the way a real one does (connectors/demo/README.md
 * "Over the wire"): its sensors publish to an MQTT broker it runs, its video platform posts signed webhooks and its
 * event system NDJSON pushes to the hub's http-ingest listener, it serves a 12345 work-order API that hotline-rest
 * polls, and its departments deliver files into <data_dir>/demo-inbox, read by one dept-files connector per format.
 * The demo comes first: it starts its broker and API (and writes its history files) before the others start, and
 * it stops first. Tests pass their own free ports.
 */
export function demoConnectors(ports: { mqtt: number; ingest: number; hotlineApi: number } = DEMO_PORTS) {
  return [
    {
      id: 'demo',
      kind: 'demo',
      inbox: 'data/demo-inbox',
      wire: {
        mqtt: { port: ports.mqtt, topic_prefix: 'city/sensors' },
        video_webhook: { url: `http://127.0.0.1:${ports.ingest}/push/video`, secret: DEMO_WEBHOOK_SECRET },
        event_push: { url: `http://127.0.0.1:${ports.ingest}/push/events` },
        hotline_api: { port: ports.hotlineApi },
      },
    },
    {
      id: 'sensors',
      kind: 'sensor-mqtt',
      url: `mqtt://127.0.0.1:${ports.mqtt}`,
      client_id: 'cityhub-demo-sensors',
      topics: ['city/sensors/+'],
    },
    {
      id: 'push',
      kind: 'http-ingest',
      listen: { port: ports.ingest },
      sources: [
        { id: 'video', kind: 'video-webhook', path: '/push/video', signature: { keys: { demo: DEMO_WEBHOOK_SECRET } } },
        { id: 'events', kind: 'sensor-bulk', feed: 'event', path: '/push/events' },
      ],
    },
    {
      id: 'hotline',
      kind: 'hotline-rest',
      base_url: `http://127.0.0.1:${ports.hotlineApi}`,
      path: '/api/orders',
      poll_interval_ms: 1000,
    },
    demoDeptFiles('demo-csv', { format: 'csv', encoding: 'gbk', header_row: 'auto' }),
    demoDeptFiles('demo-xlsx', { format: 'xlsx' }),
    demoDeptFiles('demo-ndjson', { format: 'ndjson' }),
  ] as const;
}

/** The embedded demo city, used when no config file is given. */
export const demoConfig = {
  region_code: '330000',
  tier: 'province',
  privacy: { hmac_key: '${CITYHUB_HMAC_KEY:-cityhub-demo-key-not-for-production}', key_id: 'demo' },
  // The first rows land half a second after they arrive, so the first indicators come soon after start.
  landing: { first_flush_age_ms: 500 },
  connectors: demoConnectors(),
} as const;

/** A dept-files connector reading the demo inbox's folder of one format (names: <resource>_<YYYYMMDDHHmmss>…). */
function demoDeptFiles(id: string, read: { format: 'csv' | 'xlsx' | 'ndjson'; encoding?: 'gbk'; header_row?: 'auto' }) {
  return {
    id,
    kind: 'dept-files',
    // The demo writes each file under a dot-name and renames it: complete when it appears, no settling needed.
    source: { type: 'folder', path: `data/demo-inbox/${read.format}`, settle_ms: 0 },
    read,
    // How the demo names its files (connectors/demo/dept-files.ts; a demo test keeps the two in step).
    resource: { from: 'file_name', pattern: '^(?<resource>R\\d{9})_' },
    delivered_at: { pattern: '_(?<time>\\d{14})[._]', format: 'YYYYMMDDHHmmss' },
    // A bounded run (`run --for 1s`) stops it right after start: it still delivers the history files present.
    drain_on_stop: true,
  } as const;
}
