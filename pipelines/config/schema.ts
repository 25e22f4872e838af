import { z } from 'zod';
import { connectorConfig } from '../../connectors/config.js';
import { regionCode } from '../../schemas/common.js';
import { datasetNames } from '../../schemas/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_LIMIT } from '../bus/embedded/frame.js';
import { kafkaBusOptionsSchema } from '../bus/kafka/options.js';
import { indicatorSettingsSchema } from '../models/indicator-settings.js';
import { defaultPersonalFieldNames } from '../privacy/masker.js';
import { DEFAULT_DATA_DIR } from './paths.js';

/**
 * The config file's schema. It is also its documentation: every key has a description, and
 * `cityhub config check --explain` prints them (docs/config.md is generated from the same text).
 * Keys are snake_case with unit suffixes; unknown keys are rejected; `type:` tags mutually exclusive sets.
 */

const embeddedBus = z
  .object({
    type: z.literal('embedded'),
    dir: z.string().optional().describe('folder of the durable log (default <data_dir>/bus)'),
    fsync: z
      .enum(['always', 'never'])
      .default('always')
      .describe(
        'always: a send is acknowledged only after fsync (survives power loss); never: after write (survives kill -9 of the process only)',
      ),
    segment_bytes: z
      .number()
      .int()
      .min(1024)
      .default(64 * 1024 * 1024)
      .describe('roll a new log segment past this size'),
    max_message_bytes: z
      .number()
      .int()
      .min(1)
      .max(MAX_MESSAGE_BYTES_LIMIT)
      .default(DEFAULT_MAX_MESSAGE_BYTES)
      .describe(
        'largest message (key + value bytes) a send may hold; a larger one is refused whole (a connector dead-letters it or answers 413), never acknowledged',
      ),
    max_lag_bytes: z
      .number()
      .int()
      .nonnegative()
      .default(256 * 1024 * 1024)
      .describe('backpressure: producers wait while consumers are this far behind on a partition (0 = off)'),
  })
  .strict();

const kafkaBus = z
  .object({ type: z.literal('kafka') })
  .extend(kafkaBusOptionsSchema.shape)
  .strict()
  .describe('Kafka (or a Kafka-compatible cluster) through kafkajs: roles can run as separate processes');

/** The lake folders retention applies to: each dataset, and `_dlq` for the dead letters of every feed. */
export const retentionFolders: readonly string[] = [...datasetNames, '_dlq'];

/** `400d` or `400`: a number of days. */
const retentionDays = z
  .union([z.number().int().min(1, 'at least 1 day'), z.string().regex(/^[1-9]\d*d$/, 'a number of days: 400 or 400d')])
  .transform((days) => (typeof days === 'number' ? days : Number(days.slice(0, -1))));

const lakeRetention = z
  .record(z.string(), retentionDays)
  .superRefine((retention, ctx) => {
    // Checked here rather than by an enum of keys: the issue then names the key itself (lake.retention.<name>).
    for (const name of Object.keys(retention))
      if (!retentionFolders.includes(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `a dataset folder of the lake (${retentionFolders.join(', ')}; _dlq = the dead letters of every feed)`,
        });
  })
  .default({})
  .describe(
    'days of lake data kept, a map by dataset folder (`sensor_reading: 400d`, or `400`; `_dlq` for the dead letters of every feed): `cityhub compact` removes the day folders (dt, Asia/Shanghai) older than that many days before today, with their manifests; datasets not named are kept forever',
  );

const lakeCompaction = z
  .object({
    schedule: z
      .string()
      .optional()
      .describe(
        'cron expression (node-cron, Asia/Shanghai) for compaction and retention in the process running the models role, e.g. "17 3 * * *"; omitted = only when `cityhub compact` runs',
      ),
    min_files: z
      .number()
      .int()
      .min(2)
      .default(8)
      .describe(
        'a day folder (before today) is compacted into one file once it holds at least this many Parquet files',
      ),
  })
  .strict()
  .prefault({})
  .describe('merging each past day\'s small files into one (`cityhub compact`, docs/lake.md "Compaction")');

/** Keys every kind of lake has: how it is kept tidy (not part of S3LakeConfig, the store's connection settings). */
const lakeUpkeep = { retention: lakeRetention, compaction: lakeCompaction };

const localLake = z
  .object({
    type: z.literal('local'),
    path: z.string().optional().describe('lake root folder (default <data_dir>/lake)'),
  })
  .strict();

const s3Lake = z
  .object({
    type: z.literal('s3'),
    endpoint: z.url().optional().describe('S3-compatible endpoint, e.g. http://minio:9000 (omit for AWS)'),
    region: z.string().default('us-east-1').describe('S3 region (any value for MinIO and most S3-compatible stores)'),
    bucket: z.string().min(3),
    prefix: z.string().default('').describe('key prefix under which the lake layout starts'),
    access_key_id: z.string().optional().describe('use ${ENV_VAR}; omit to use the default AWS credential chain'),
    secret_access_key: z.string().optional().describe('use ${ENV_VAR}'),
    force_path_style: z.boolean().default(true).describe('address buckets as endpoint/bucket (needed by MinIO)'),
    multipart_threshold_bytes: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .default(64 * 1024 * 1024)
      .describe('files at least this large are uploaded in parts (multipart upload); smaller ones in one PUT'),
    cache_dir: z
      .string()
      .optional()
      .describe('local folder for staging uploads and the read cache the models query (default <data_dir>/lake-cache)'),
  })
  .strict();

export type S3LakeConfig = z.infer<typeof s3Lake>;

export const topicDefaults = z
  .object({
    partitions: z.number().int().min(1).max(256).default(4).describe('partitions of each raw.<feed> topic'),
    retention_ms: z
      .number()
      .int()
      .nonnegative()
      .default(7 * 24 * 3600 * 1000)
      .describe('delete consumed log segments older than this (0 = keep)'),
    retention_bytes: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('per partition size limit of consumed data (0 = none)'),
  })
  .strict();

export const landingConfig = z
  .object({
    max_rows: z
      .number()
      .int()
      .min(1)
      .default(100_000)
      .describe(
        'flush the buffered rows (all partitions together) into Parquet once there are this many; reads are sized so a flush passes it by at most about one message’s rows (a departmental chunk: dozens)',
      ),
    max_bytes: z
      .number()
      .int()
      .min(1024)
      .default(32 * 1024 * 1024)
      .describe('… or once the buffered raw payloads (all partitions together) reach this many bytes'),
    max_age_ms: z.number().int().min(10).default(5_000).describe('… or when the oldest buffered row is this old'),
    first_flush_age_ms: z
      .number()
      .int()
      .min(10)
      .optional()
      .describe(
        'the age limit of the first flush after start (default max_age_ms; the built-in demo: 500): the first rows land, and the first marts are built, sooner',
      ),
    bulk: z
      .boolean()
      .default(true)
      .describe(
        'the bulk path: payloads whose mapping compiles to SQL are mapped and checked by DuckDB, one statement per 40,000 messages or 8 MiB of payloads while they arrive; records it is not sure of (and their dead letters) go through the record path, so results are the same. `config check` shows which path each mapping takes (docs/feeds.md, Bulk path)',
      ),
    max_payload_bytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024)
      .describe('a raw payload larger than this is dead-lettered as oversized'),
    max_future_skew_ms: z
      .number()
      .int()
      .nonnegative()
      .default(24 * 3600 * 1000)
      .describe('an event time further in the future than this is implausible'),
    min_event_time: z.iso.date().default('2000-01-01').describe('an event time before this date is implausible'),
    dedupe_window: z
      .number()
      .int()
      .min(0)
      .default(200_000)
      .describe(
        'natural keys remembered per dataset to dead-letter redelivered records as duplicates (about 150 bytes each), recalled from the newest landed files on start; older duplicates are removed by the staging models, so marts count each record once',
      ),
    max_depth: z
      .number()
      .int()
      .min(2)
      .max(1000)
      .default(64)
      .describe('a payload nested deeper than this is dead-lettered as too_deep (checked before parsing)'),
    max_string_bytes: z
      .number()
      .int()
      .min(64)
      .default(256 * 1024)
      .describe('a payload holding a longer string than this is dead-lettered as string_too_long'),
    max_records_per_message: z
      .number()
      .int()
      .min(1)
      .default(100_000)
      .describe(
        'a message carrying more records (a departmental delivery) is dead-lettered whole as too_many_records: bounds the memory one message may cost',
      ),
    drain_timeout_ms: z
      .number()
      .int()
      .min(1000)
      .default(120_000)
      .describe(
        'on shutdown, how long to keep trying to land what is on the bus before stopping anyway (it lands on the next start); the exit code is then 1',
      ),
  })
  .strict();

const providedCatalogPath = (what: string) =>
  z
    .string()
    .min(1)
    .optional()
    .describe(
      `${what}; "none" = explicitly empty; omitted = provided by the configured connector whose kind provides it (the demo does), else a config error`,
    );

const fieldNames = (kind: string, defaults: readonly string[]) =>
  z
    .array(z.string().min(1))
    .default([...defaults])
    .describe(
      `field names (any depth; case, "_", "-" and spaces ignored) holding a ${kind} in personal feeds' payloads; replace the defaults (${defaults.join(', ')})`,
    );

export const privacyConfig = z
  .object({
    hmac_key: z
      .string()
      .min(16)
      .optional()
      .describe(
        'HMAC-SHA256 key for personal identifiers (caller phone, ID numbers); use ${CITYHUB_HMAC_KEY}; a new key (with a new key_id) starts new caller hashes',
      ),
    salt: z
      .string()
      .min(16)
      .optional()
      .describe('former name of hmac_key, still accepted (it is used as the HMAC key); set one of the two'),
    key_id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,32}$/)
      .default('1')
      .describe('id of hmac_key, stored beside every hash (caller_key_id) so the key can rotate'),
    personal_feeds: z
      .array(z.enum(['sensor', 'video', 'hotline', 'event', 'dept']))
      .default(['hotline'])
      .describe(
        'feeds whose payloads are masked before the bus (add dept when bureaus deliver records about people; a masked phone or ID field is then a token, so declare it type text)',
      ),
    personal_fields: z
      .object({
        phone: fieldNames('phone number (replaced by its keyed hash)', defaultPersonalFieldNames.phone),
        name: fieldNames(
          "person's name (replaced by [name], and erased from the payload's free text)",
          defaultPersonalFieldNames.name,
        ),
        id_number: fieldNames('ID number (replaced by its keyed hash)', defaultPersonalFieldNames.id_number),
      })
      .strict()
      .prefault({})
      .describe(
        'personal data is masked before the first durable write (the bus included); phones, landlines and 18-digit ID numbers inside any other text are replaced too',
      ),
  })
  .strict()
  .refine((p) => (p.hmac_key === undefined) !== (p.salt === undefined), {
    message: 'set privacy.hmac_key (or its former name privacy.salt), not both',
  })
  .describe('personal data protection (docs/privacy.md)');

export const catalogPaths = z
  .object({
    regions: z
      .string()
      .min(1)
      .optional()
      .describe('region catalog: CSV (UTF-8 or GB18030), XLSX or JSON (default: the bundled Zhejiang catalog)'),
    data_resources: providedCatalogPath(
      'data-resource catalog (政务信息资源目录): CSV (UTF-8 or GB18030), XLSX or JSON, Chinese or English headers (docs/catalogs.md)',
    ),
    scenarios: providedCatalogPath('scenario catalog: CSV (UTF-8 or GB18030), XLSX or JSON (docs/catalogs.md)'),
    devices: providedCatalogPath('device registry: CSV (UTF-8 or GB18030), XLSX or JSON (docs/catalogs.md)'),
  })
  .strict()
  .describe('reference catalogs; every one has exactly one source, shown by `cityhub config check`');

export const modelsConfig = z
  .object({
    marts_path: z.string().optional().describe('DuckDB marts file (default <data_dir>/marts.duckdb)'),
    schedule: z
      .string()
      .default('*/1 * * * *')
      .describe('cron expression (node-cron, Asia/Shanghai) for rebuilding the marts while the hub runs'),
    sql_dir: z.string().optional().describe('folder of SQL models (default: the bundled sql/)'),
    lookback_days: z
      .number()
      .int()
      .min(0)
      .max(366)
      .default(0)
      .describe(
        'lake days incremental models recompute at every build even when their files did not change (a changed day is always recomputed)',
      ),
    memory_limit: z
      .string()
      .regex(
        /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/,
        'a size such as "4GiB" or "512MB" (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)',
      )
      .optional()
      .describe(
        'DuckDB memory limit for a marts build, e.g. "4GiB": beyond it DuckDB spills to a temp folder beside the marts file (default: DuckDB\'s, 80% of the RAM)',
      ),
    indicators: indicatorSettingsSchema
      .prefault({})
      .describe('indicator settings a locality tunes: hotline composite weights, sensor alarm thresholds'),
  })
  .strict();

export const apiConfig = z
  .object({
    listen: z
      .string()
      .regex(/^[^\s:]*:\d{1,5}$/, 'host:port')
      .default('127.0.0.1:8080')
      .describe(
        'host:port the upstream API listens on (role api, and role all); plain HTTP: terminate TLS in a reverse proxy in front of it',
      ),
    trusted_proxies: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'addresses or CIDRs of the reverse proxies in front of the API: their X-Forwarded-For names the client in the audit log (none: the peer address)',
      ),
    requests_per_minute: z
      .number()
      .int()
      .positive()
      .default(600)
      .describe('rate limit per token, requests a minute (bursts up to as many), in each API process'),
    tokens: z
      .array(
        z
          .object({
            id: z
              .string()
              .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (up to 64)')
              .describe('who holds the token, named in the audit log (the token itself is never logged)'),
            sha256: z
              .string()
              .regex(/^[0-9a-fA-F]{64}$/, 'the hex SHA-256 of the token')
              .describe(
                'SHA-256 of the bearer token, hex: `cityhub api token` makes a token and its hash; the token itself is not stored',
              ),
            regions: z
              .array(z.string().regex(/^\d{2,6}$/, 'a region-code prefix of 2 to 6 digits'))
              .min(1)
              .describe('region-code prefixes this token may read (a province token: its 2 digits)'),
            indicators: z
              .array(z.string().regex(/^(\*|[A-Za-z0-9_.-]{1,64})$/, 'an indicator code or *'))
              .min(1)
              .default(['*'])
              .describe('indicator codes this token may read; * for all'),
            requests_per_minute: z
              .number()
              .int()
              .positive()
              .optional()
              .describe("this token's own rate limit (default: api.requests_per_minute)"),
            token: z
              .never({
                error:
                  'a token is not stored in clear: give its sha256 instead (`cityhub api token` makes a token and its hash)',
              })
              .optional()
              .describe("not accepted: config holds the token's sha256, never the token"),
          })
          .strict(),
      )
      .default([])
      .refine((tokens) => new Set(tokens.map((t) => t.id)).size === tokens.length, 'token ids are unique')
      .describe('the bearer tokens of the upper tiers that pull from this hub'),
  })
  .strict();

export const metricsConfig = z
  .object({
    listen: z
      .string()
      .regex(/^[^\s:]*:\d{1,5}$/, 'host:port')
      .optional()
      .describe(
        "host:port where every `cityhub run` process (any role) serves GET /metrics (Prometheus text) and GET /api/v1/status (JSON), unauthenticated: bind loopback or the operators' network (e.g. 127.0.0.1:9464), never a public address; one port per process on a host. Unset: no listener (docs/operations.md)",
      ),
  })
  .strict()
  .describe('the operations listener: metrics and status (docs/operations.md)');

/** Feeds whose payloads a mapping file describes (dept deliveries have their own structured format, docs/feeds.md). */
const mappedFeedPath = (feed: string) =>
  z
    .string()
    .min(1)
    .optional()
    .describe(
      `mapping file (YAML, docs/mappings.md) turning raw.${feed} payloads into canonical records, relative to this config; default: the built-in mapping of the demo city's vendors (mappings/demo/${feed}.yaml)`,
    );

export const mappingPaths = z
  .object({
    sensor: mappedFeedPath('sensor'),
    video: mappedFeedPath('video'),
    hotline: mappedFeedPath('hotline'),
    event: mappedFeedPath('event'),
  })
  .strict()
  .describe('a source mapping per feed; `cityhub mappings test` shows what a mapping makes of sample payloads');

export const federationConfig = z
  .object({
    schedule: z
      .string()
      .default('*/5 * * * *')
      .describe('cron schedule (Asia/Shanghai) of the pulls from the member hubs; the marts build after each pull'),
    timeout_ms: z.number().int().positive().default(30_000).describe('time limit of one HTTP request to a member'),
    retries: z
      .number()
      .int()
      .min(0)
      .default(3)
      .describe('retries of a failed request (network error, 5xx, 429), after exponential backoff with jitter'),
    breaker_failures: z
      .number()
      .int()
      .positive()
      .default(3)
      .describe('consecutive failed pulls after which a member is skipped for breaker_cooldown_ms (its data stays)'),
    breaker_cooldown_ms: z
      .number()
      .int()
      .positive()
      .default(300_000)
      .describe('how long a member whose pulls keep failing is skipped before it is tried again'),
    stale_after_ms: z
      .number()
      .int()
      .positive()
      .default(3_600_000)
      .describe('a member not reached for longer is stale (as is one whose last pull failed)'),
    recent_days: z
      .number()
      .int()
      .min(0)
      .default(45)
      .describe(
        'a pull asks only for periods ending within this many days before today (open periods always): older ones keep what was pulled before',
      ),
    full_pull_after_ms: z
      .number()
      .int()
      .positive()
      .default(86_400_000)
      .describe('pull every period again when the last full pull is older than this (late corrections of old periods)'),
    members: z
      .array(
        z
          .object({
            id: z
              .string()
              .regex(
                /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
                'a letter or digit, then letters, digits, . _ - (up to 64): it names a folder',
              )
              .describe("the member hub, named in its rows' provenance and in the status"),
            url: z.url({ protocol: /^https?$/ }).describe("base URL of the member hub's API, e.g. https://hz.example/"),
            token: z.string().min(16).describe('the bearer token the member granted this hub; use ${ENV_VAR}'),
            region_code: regionCode.describe("the member hub's own region: its rows there are summed into this hub's"),
          })
          .strict(),
      )
      .default([])
      .refine((members) => new Set(members.map((m) => m.id)).size === members.length, 'member ids are unique')
      .describe('the hubs of the tier below whose aggregates this hub pulls and rolls up (province: its cities)'),
  })
  .strict();

export const hubConfig = z
  .object({
    region_code: regionCode.describe('the hub’s own region (GB/T 2260): its marts cover the regions under it'),
    tier: z
      .enum(['city', 'province', 'national'])
      .default('city')
      .describe('platform tier of this hub: a city hub lands raw data; province and national hubs roll up those below'),
    data_dir: z.string().default(DEFAULT_DATA_DIR).describe('where the bus, lake and marts live unless set one by one'),
    bus: z.discriminatedUnion('type', [embeddedBus, kafkaBus]).prefault({ type: 'embedded' }),
    topics: topicDefaults.prefault({}),
    lake: z
      .discriminatedUnion('type', [localLake.extend(lakeUpkeep), s3Lake.extend(lakeUpkeep)])
      .prefault({ type: 'local' }),
    landing: landingConfig.prefault({}),
    privacy: privacyConfig,
    connectors: z
      .array(connectorConfig)
      .default([])
      .describe('the sources this hub lands (at least one, unless it only rolls up federation.members)'),
    catalogs: catalogPaths.prefault({}),
    mappings: mappingPaths.prefault({}),
    models: modelsConfig.prefault({}),
    api: apiConfig.prefault({}),
    metrics: metricsConfig.prefault({}),
    federation: federationConfig.prefault({}),
    log: z
      .object({
        level: z
          .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
          .default('info')
          .describe('structured log level (JSON lines on stderr)'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.connectors.length === 0 && c.federation.members.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['connectors'],
        message: 'at least one connector (a province or national hub may instead roll up federation.members)',
      });
    if (c.tier === 'city' && c.federation.members.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['federation', 'members'],
        message: 'a city hub has no members: set tier: province or national to roll up other hubs',
      });
    // Each member reports its own region, within this hub's and apart from the others': a region has one source.
    c.federation.members.forEach((member, i) => {
      const path = ['federation', 'members', i, 'region_code'];
      if (member.region_code === c.region_code || !member.region_code.startsWith(regionPrefix(c.region_code)))
        ctx.addIssue({ code: 'custom', path, message: `a region within ${c.region_code} and not it (the roll-up's)` });
      const other = c.federation.members.find(
        (m, j) => j !== i && member.region_code.startsWith(regionPrefix(m.region_code)),
      );
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path,
          message: `a region member ${other.id} (${other.region_code}) does not cover`,
        });
    });
  });

/** The code prefix a region rolls up by, from its code's shape: XX0000 → 2 digits, XXXX00 → 4, else all 6. */
export function regionPrefix(code: string): string {
  if (code.endsWith('0000')) return code.slice(0, 2);
  if (code.endsWith('00')) return code.slice(0, 4);
  return code;
}

export type HubConfig = z.infer<typeof hubConfig>;

/** Keys whose values are secrets (salts, keys, passwords, tokens and their hashes): never shown, in errors or docs. */
export const secretKeyPattern = /salt|hmac_key|secret|token|password|access_key/;
