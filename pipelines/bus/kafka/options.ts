/**
 * Options of the Kafka bus: the config's `bus` keys when `type: kafka` (snake_case like the rest of the config).
 * TLS certificates are files (read at start, relative to the config); SASL credentials come from the environment.
 */
import { z } from 'zod';
import { tlsFilesConfig } from '../../tls-files.js';

const saslSchema = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism the cluster accepts'),
    username: z.string().min(1).describe('SASL user (`${ENV_VAR}` keeps it out of the file)'),
    password: z.string().min(1).describe('SASL password; write it as `${ENV_VAR}`'),
  })
  .strict();

/** `host:port`; a list, or one string of them separated by commas (what an environment variable can hold). */
const brokerList = z
  .union([z.array(z.string()), z.string()])
  .transform((value) =>
    (typeof value === 'string' ? value.split(',') : value).map((broker) => broker.trim()).filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port, e.g. kafka-1:9092'))
      .min(1, 'expected at least one broker host:port'),
  );

export const kafkaBusOptionsSchema = z
  .object({
    brokers: brokerList.describe(
      'bootstrap brokers as host:port: a list, or one comma-separated string (e.g. `${CITYHUB_KAFKA_BROKERS}`)',
    ),
    client_id: z.string().min(1).default('cityhub').describe('Kafka client id reported to the brokers'),
    tls: tlsFilesConfig
      .optional()
      .describe('connect over TLS (present = on; `{}` trusts the public CAs): a private CA, a client certificate'),
    sasl: saslSchema.optional().describe('SASL authentication (usually with tls)'),
    topic_prefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-" (Kafka topic characters)')
      .default('')
      .describe('prepended to every topic name on the cluster, so several hubs can share one cluster'),
    max_message_bytes: z
      .number()
      .int()
      .positive()
      .default(1_000_000)
      .describe(
        "largest message (key + value + headers) a send may hold, checked before sending; keep it below the broker's message.max.bytes",
      ),
    replication_factor: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("replication factor of the topics the hub creates (default: the broker's default.replication.factor)"),
    session_timeout_ms: z
      .number()
      .int()
      .positive()
      .default(30_000)
      .describe(
        'consumer group session timeout: a pipeline process silent this long loses its partitions to the others',
      ),
    heartbeat_interval_ms: z
      .number()
      .int()
      .positive()
      .default(3_000)
      .describe('consumer group heartbeat interval (about a third of the session timeout or less)'),
    connection_timeout_ms: z.number().int().positive().default(3_000).describe('TCP/TLS connect timeout'),
    request_timeout_ms: z.number().int().positive().default(30_000).describe('timeout of one request to a broker'),
    fetch_max_wait_ms: z
      .number()
      .int()
      .positive()
      .default(500)
      .describe('longest a fetch waits at the broker for new data (fetch.max.wait.ms)'),
  })
  .strict();

export type KafkaBusOptions = z.infer<typeof kafkaBusOptionsSchema>;
export type KafkaBusOptionsInput = z.input<typeof kafkaBusOptionsSchema>;
