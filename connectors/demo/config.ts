import { z } from 'zod';

const port = z.number().int().min(1).max(65_535);
const host = z.string().min(1).default('127.0.0.1');

/** Where each feed goes when the demo sends it over the wire: to peers it runs itself, or to the hub's listeners. */
export const demoWireConfig = z
  .object({
    mqtt: z
      .object({
        host: host.describe('address the embedded broker listens on'),
        port: port.describe('port of the embedded MQTT broker (aedes) the sensors publish to'),
        topic_prefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'expected topic levels of letters, digits, _ and -')
          .default('city/sensors')
          .describe('each reading is published at QoS 1 to <topic_prefix>/<device id>'),
      })
      .strict()
      .optional()
      .describe('sensor readings: the demo runs an MQTT broker and its devices publish to it'),
    video_webhook: z
      .object({
        url: z
          .url({ protocol: /^https?$/ })
          .describe("the hub's video-webhook source, e.g. http://127.0.0.1:8088/push/video"),
        key_id: z.string().min(1).max(64).default('demo').describe('key id sent in x-key-id'),
        secret: z
          .string()
          .min(16, 'expected a secret of at least 16 characters')
          .describe('HMAC-SHA256 secret shared with the webhook source (`${ENV_VAR}`)'),
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(256)
          .default(32)
          .describe(
            'requests in flight at once (the hub appends concurrent requests together: more in flight, fewer fsyncs per alert)',
          ),
      })
      .strict()
      .optional()
      .describe('video-AI alerts: each one a signed webhook POST (HMAC-SHA256 over `<timestamp>.<body>`)'),
    event_push: z
      .object({
        url: z
          .url({ protocol: /^https?$/ })
          .describe("the hub's bulk source for city events, e.g. http://127.0.0.1:8088/push/events"),
        batch_size: z.number().int().min(1).max(10_000).default(500).describe('events per NDJSON request'),
      })
      .strict()
      .optional()
      .describe('city events: the event system pushes them in NDJSON batches'),
    hotline_api: z
      .object({
        host: host.describe('address the 12345 API listens on'),
        port: port.describe(
          'port of the 12345 work-order API the demo serves (GET /api/orders, docs/connectors.md "hotline-rest")',
        ),
      })
      .strict()
      .optional()
      .describe('12345 work orders: the demo serves a work-order API for a hotline-rest connector to poll'),
  })
  .strict();

export type DemoWireConfig = z.infer<typeof demoWireConfig>;

export const demoConnectorConfig = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a lowercase id (letters, digits, _ and -)')
      .describe('connector id, recorded as _source on every row'),
    kind: z.literal('demo'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(20261123)
      .describe('same seed, same city, same records'),
    start_month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected YYYY-MM')
      .optional()
      .describe('first month of generated history (default: `months` months before the current month)'),
    months: z.number().int().min(1).max(24).default(3).describe('months of history generated at start'),
    scale: z.number().positive().max(50).default(1).describe('volume multiplier (1 ≈ 50k raw records over 3 months)'),
    live: z.boolean().default(true).describe('after the history, keep producing current records until stopped'),
    live_tick_ms: z.number().int().min(50).default(1000).describe('how often live records are produced'),
    batch_size: z.number().int().min(1).max(100_000).default(2000).describe('messages per bus send'),
    inbox: z
      .string()
      .min(1)
      .optional()
      .describe(
        'drop folder (relative to the config file) where the departments deliver their data as files — csv/ (GBK), xlsx/, ndjson/ — for dept-files connectors watching them (list the demo before them); absent: one raw.dept message per delivery',
      ),
    wire: demoWireConfig
      .optional()
      .describe(
        'send feeds over the real protocols instead of straight to the bus, for the hub\'s own network connectors to take in (connectors/demo/README.md "Over the wire"); a feed left out here stays bus messages',
      ),
  })
  .strict();

export type DemoConnectorConfig = z.infer<typeof demoConnectorConfig>;

/** The first month of history when none is configured: `months` whole months before the current one (Asia/Shanghai). */
export function defaultStartMonth(months: number, nowMs: number): string {
  const shanghai = new Date(nowMs + 8 * 3600_000);
  const index = shanghai.getUTCFullYear() * 12 + shanghai.getUTCMonth() - months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${year}-${String(month).padStart(2, '0')}`;
}
