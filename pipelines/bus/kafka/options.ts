/**
 * Options of the Kafka bus, snake_case like the rest of the config so the lead can place this schema under
 * `bus` (type: kafka) as it is. SASL and TLS settings are passed to the client untouched.
 */
import { z } from 'zod';

const saslSchema = z
  .object({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    password: z.string().min(1),
  })
  .strict()
  .describe('SASL credentials (use ${ENV_VAR} interpolation for the password)');

const sslSchema = z.union([
  z.boolean(),
  z
    .object({
      ca: z.string().optional().describe('PEM of the certificate authorities to trust'),
      cert: z.string().optional().describe('PEM client certificate (mutual TLS)'),
      key: z.string().optional().describe('PEM client key (mutual TLS)'),
      reject_unauthorized: z.boolean().default(true),
    })
    .strict(),
]);

export const kafkaBusOptionsSchema = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).describe('bootstrap brokers, host:port'),
    client_id: z.string().min(1).default('cityhub'),
    ssl: sslSchema.optional(),
    sasl: saslSchema.optional(),
    /** Prepended to every topic name, so several hubs can share one cluster. */
    topic_prefix: z.string().default(''),
    /** Checked before sending, like the embedded log's limit; keep it below the broker's message.max.bytes. */
    max_message_bytes: z.number().int().positive().default(1_000_000),
    /** Replication factor of created topics; unset = the broker's default.replication.factor (-1). */
    replication_factor: z.number().int().positive().optional(),
    session_timeout_ms: z.number().int().positive().default(30_000),
    heartbeat_interval_ms: z.number().int().positive().default(3_000),
    connection_timeout_ms: z.number().int().positive().default(3_000),
    request_timeout_ms: z.number().int().positive().default(30_000),
    /** Longest a fetch waits at the broker for data (fetch.max.wait.ms); poll() waits on the handover instead. */
    fetch_max_wait_ms: z.number().int().positive().default(500),
  })
  .strict();

export type KafkaBusOptions = z.infer<typeof kafkaBusOptionsSchema>;
export type KafkaBusOptionsInput = z.input<typeof kafkaBusOptionsSchema>;
