import { z } from 'zod';
import { feeds } from '../types.js';

const id = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a lowercase id (letters, digits, _ and -)');

/**
 * HMAC-SHA256 over `<timestamp>.<body>` (the timestamp header's value, a dot, the raw body bytes), hex in the
 * signature header after its prefix. The secrets come from the environment (`${VAR}` in the config): they are never
 * logged or shown.
 */
export const signatureConfig = z
  .object({
    keys: z
      .record(z.string().min(1).max(64), z.string().min(16, 'expected a secret of at least 16 characters'))
      .refine((keys) => Object.keys(keys).length > 0, 'expected at least one key')
      .describe(
        'key id → secret (use ${ENV_VAR}); several keys let a sender rotate. With one key the key id header may be left out',
      ),
    header: z.string().min(1).default('x-signature').describe('header holding the signature'),
    prefix: z.string().default('sha256=').describe('text before the hex digest in the signature header'),
    timestamp_header: z
      .string()
      .min(1)
      .default('x-timestamp')
      .describe('header holding the signing time, in epoch seconds'),
    key_id_header: z
      .string()
      .min(1)
      .default('x-key-id')
      .describe('header naming the key id; an unknown key id is refused with 403'),
    window_s: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(300)
      .describe(
        'replay window: a timestamp further than this from now is refused, and a timestamp+signature seen within it is refused',
      ),
    replay_cache_entries: z
      .number()
      .int()
      .min(100)
      .max(10_000_000)
      .default(100_000)
      .describe(
        'signatures remembered for the replay check (about 120 bytes each); when full the oldest is forgotten first',
      ),
  })
  .strict();

export const rateLimitConfig = z
  .object({
    requests_per_s: z.number().positive().max(1_000_000).describe('sustained requests per second (token bucket)'),
    burst: z.number().int().min(1).max(1_000_000).optional().describe('bucket size; default: requests_per_s'),
  })
  .strict();

const sourceCommon = {
  id: id.describe('source id: the `cityhub-source` header of its messages, `_source` of its rows'),
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9/_.-]*$/, 'expected an absolute URL path such as /push/sensors')
    .describe('URL path the source is served at (POST)'),
  mapping: z
    .string()
    .min(1)
    .optional()
    .describe("mapping file (YAML, docs/mappings.md) for this source's bodies, relative to the config"),
  enabled: z.boolean().default(true).describe('a disabled source answers 403 (its senders are refused, not lost)'),
  body_limit_bytes: z
    .number()
    .int()
    .min(1)
    .max(256 * 1024 * 1024)
    .optional()
    .describe("largest request body (413 above it); default: the listener's"),
  rate_limit: rateLimitConfig.optional().describe('per-source limit; past it requests get 429 with Retry-After'),
};

export const sensorBulkSourceConfig = z
  .object({
    ...sourceCommon,
    kind: z.literal('sensor-bulk'),
    feed: z.enum(feeds).default('sensor').describe('the feed each record goes to (raw.<feed>)'),
    signature: signatureConfig
      .optional()
      .describe('when set, requests must be signed as for video-webhook; otherwise the network is trusted'),
  })
  .strict();

export const videoWebhookSourceConfig = z
  .object({
    ...sourceCommon,
    kind: z.literal('video-webhook'),
    feed: z.enum(feeds).default('video').describe('the feed each request body goes to (raw.<feed>)'),
    signature: signatureConfig.describe('the signing scheme; unsigned or badly signed requests get 401'),
  })
  .strict();

export const httpIngestSourceConfig = z.discriminatedUnion('kind', [sensorBulkSourceConfig, videoWebhookSourceConfig]);

/**
 * One HTTP listener serving several push sources by path: sensor bulk pushes (a JSON array or NDJSON, each record one
 * message) and signed video-AI webhooks (each body one message). A request is answered 202 only after everything
 * it carried is durably on the bus. See docs/connectors.md.
 */
export const httpIngestConnectorConfig = z
  .object({
    id: id.describe('connector id, named in logs, health and its checkpoint'),
    kind: z.literal('http-ingest'),
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1').describe('address to listen on (0.0.0.0: every interface)'),
        port: z.number().int().min(0).max(65_535).describe('TCP port (0: any free port)'),
      })
      .strict(),
    body_limit_bytes: z
      .number()
      .int()
      .min(1)
      .max(256 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('largest request body for every source without its own (413 above it)'),
    send_attempts: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(4)
      .describe(
        'bus append attempts (shared backoff) before a request is answered 503 with Retry-After; nothing of it is acknowledged then',
      ),
    retry_after_s: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(5)
      .describe('Retry-After of a 503 answered while the bus refuses appends (full disk)'),
    sources: z
      .array(httpIngestSourceConfig)
      .min(1)
      .superRefine((sources, ctx) => {
        const seen = new Set<string>();
        const paths = new Set<string>();
        for (const [i, s] of sources.entries()) {
          if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate source id ${s.id}` });
          if (paths.has(s.path))
            ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `path ${s.path} is served twice` });
          if (s.path === '/healthz')
            ctx.addIssue({ code: 'custom', path: [i, 'path'], message: '/healthz is the listener health' });
          seen.add(s.id);
          paths.add(s.path);
        }
      })
      .describe('the push sources served, each at its own path'),
  })
  .strict();

export type HttpIngestConnectorConfig = z.infer<typeof httpIngestConnectorConfig>;
export type HttpIngestSourceConfig = z.infer<typeof httpIngestSourceConfig>;
export type SignatureConfig = z.infer<typeof signatureConfig>;
export type RateLimitConfig = z.infer<typeof rateLimitConfig>;
