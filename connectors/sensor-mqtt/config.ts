import { z } from 'zod';
import { tlsFilesConfig } from '../../pipelines/tls-files.js';
import { feeds } from '../types.js';

/** An MQTT topic filter: `/`-separated levels, `+` a whole level, `#` only as the last level. */
const topicFilter = z
  .string()
  .min(1)
  .max(65_535)
  .refine(
    (filter) =>
      filter.split('/').every((level, i, levels) => {
        if (level === '#') return i === levels.length - 1;
        return level === '+' || !/[+#]/.test(level);
      }) && !filter.includes('\u0000'),
    'expected an MQTT topic filter: "+" stands for one whole level, "#" only as the last level',
  );

/**
 * Sensors that publish to an MQTT broker: the connector subscribes to topic filters in a persistent session and
 * appends each message to `raw.<feed>` before it acknowledges it to the broker (PUBACK after the durable append).
 * See docs/connectors.md.
 */
export const sensorMqttConnectorConfig = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a lowercase id (letters, digits, _ and -)')
      .describe('connector id, named in logs, health and its dead letters'),
    kind: z.literal('sensor-mqtt'),
    url: z
      .string()
      .regex(/^mqtts?:\/\/[^/\s]+\/?$/, 'expected mqtt://host:port or mqtts://host:port')
      .describe('the broker: mqtt://host[:port] (default port 1883) or mqtts://host[:port] (TLS, default 8883)'),
    client_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, _ or -')
      .describe(
        'MQTT client id of the persistent session; keep it stable: the broker keeps what was published while the hub was down for this id (and gives each id one connection at a time)',
      ),
    tls: tlsFilesConfig
      .optional()
      .describe('TLS options of an mqtts:// url: a private CA to trust, a client certificate; read at start'),
    username: z.string().min(1).optional().describe('broker user name (`${ENV_VAR}` keeps it out of the file)'),
    password: z.string().min(1).optional().describe('broker password; write it as `${ENV_VAR}`'),
    topics: z
      .array(topicFilter)
      .min(1)
      .describe('topic filters to subscribe to, with wildcards: `+` one level, `#` the rest, e.g. city/+/+/reading'),
    qos: z
      .union([z.literal(0), z.literal(1)])
      .default(1)
      .describe(
        '1 (default): each message is acknowledged to the broker only after its durable append, nothing is lost; 0: the broker forgets a message once sent, so what is in flight at a crash or disconnect is lost',
      ),
    keepalive_s: z
      .number()
      .int()
      .min(5)
      .max(65_535)
      .default(30)
      .describe('MQTT keepalive: a silent connection is declared dead after about 1.5 times this'),
    connect_timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(10_000)
      .describe('how long one connection attempt (TCP, TLS, CONNACK) may take before it is retried with backoff'),
    batch_max_messages: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(500)
      .describe('messages collected into one bus send (one fsync) before they are acknowledged together'),
    batch_max_wait_ms: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(20)
      .describe('longest a message waits for its batch to fill before the batch is sent anyway'),
    feed: z.enum(feeds).default('sensor').describe('the feed the messages belong to: each goes to raw.<feed>'),
    mapping: z
      .string()
      .min(1)
      .optional()
      .describe(
        "mapping file (YAML, docs/mappings.md) for this source's messages, relative to the config; default: the feed's mapping (`mappings.<feed>`, else the built-in one). It reads topic levels with `{ header: mqtt-topic, segment: N }`",
      ),
    key_segment: z
      .number()
      .int()
      .min(-100)
      .max(100)
      .optional()
      .describe(
        'bus key = this topic level (0 = the first, -1 = the last), e.g. the device id, so one device stays in order on one partition; default: the whole topic',
      ),
  })
  .strict()
  .refine((c) => c.tls === undefined || c.url.startsWith('mqtts://'), {
    message: 'tls is only used with an mqtts:// url: write mqtts://host:port, or remove tls',
    path: ['tls'],
  });

export type SensorMqttConnectorConfig = z.infer<typeof sensorMqttConnectorConfig>;
