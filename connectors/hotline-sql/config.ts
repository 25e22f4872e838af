import { z } from 'zod';
import { hotlineCommonKeys } from '../hotline-cursor/config.js';

/** A PostgreSQL identifier as written in the config: quoted by the connector, never interpolated raw. */
const identifier = z
  .string()
  .regex(
    /^[\p{L}_][\p{L}\p{N}_$]{0,62}$/u,
    'expected an identifier (letters, digits, _ and $; not starting with a digit)',
  );

/**
 * A 12345 case system's PostgreSQL table or view polled with an incremental cursor: every row updated after the last
 * one taken, by (update time, order id). See docs/connectors.md "hotline-sql".
 */
export const hotlineSqlConnectorConfig = z
  .object({
    ...hotlineCommonKeys,
    kind: z.literal('hotline-sql'),
    connection_string: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected postgres://user:password@host:port/database')
      .describe(
        'postgres://user:${HOTLINE_DB_PASSWORD}@host:5432/db (the password from the environment; never logged)',
      ),
    schema: identifier.optional().describe('schema of the table (default: the search_path)'),
    table: identifier.describe('table or view of work orders'),
    columns: z
      .array(identifier)
      .min(1)
      .optional()
      .describe('columns to read (each becomes a key of the message); default: all'),
    order_id_column: identifier.default('order_id').describe('the order id column (ordered as text, COLLATE "C")'),
    updated_at_column: identifier
      .default('updated_at')
      .describe('the update time column (timestamp or timestamptz); rows where it is NULL are never read'),
    batch_size: z.number().int().min(1).max(50_000).default(1000).describe('rows per query'),
    pool_size: z.number().int().min(1).max(32).default(2).describe('connections kept open'),
    statement_timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(3_600_000)
      .default(30_000)
      .describe('a query running longer is cancelled by the server and retried'),
    connect_timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(10_000)
      .describe('a connection not made within this is abandoned and retried'),
  })
  .strict();

export type HotlineSqlConnectorConfig = z.infer<typeof hotlineSqlConnectorConfig>;
