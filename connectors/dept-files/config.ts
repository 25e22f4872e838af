import { z } from 'zod';
import { compileTimeFormat, DEFAULT_SOURCE_ZONE } from '../../pipelines/mapping/time-format.js';
import { fileReadOptions } from './read/options.js';

const isRegex = (pattern: string): boolean => {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
};

const regex = (what: string) =>
  z.string().min(1).refine(isRegex, 'not a valid regular expression (JavaScript syntax, u flag)').describe(what);

const pollIntervalMs = (fallback: number) =>
  z.number().int().min(10).max(3_600_000).default(fallback).describe('how often the source is looked at again');

/** A local drop folder, watched. */
export const folderSource = z
  .object({
    type: z.literal('folder'),
    path: z
      .string()
      .min(1)
      .describe(
        'the drop folder (relative to the config file); files directly in it and in its sub-folders one level down are deliveries (names starting with "." and the done/ folder are ignored)',
      ),
    settle_ms: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(2_000)
      .describe('a file is taken once its size and mtime have not changed for this long (still being written before)'),
    move_done: z
      .boolean()
      .default(true)
      .describe(
        'move a delivered file to <path>/done/ once its delivery is durably on the bus; false leaves it in place (the manifest then keeps it from being delivered again)',
      ),
    poll_interval_ms: pollIntervalMs(1_000),
  })
  .strict();

/** An S3 (or S3-compatible: MinIO, s3rver, OSS) prefix, polled. */
export const s3Source = z
  .object({
    type: z.literal('s3'),
    bucket: z.string().min(1).describe('bucket to poll'),
    prefix: z.string().default('').describe('key prefix of the deliveries (e.g. "dept/"); "" = the whole bucket'),
    endpoint: z.url().optional().describe('endpoint URL of an S3-compatible store; default AWS for the region'),
    region: z.string().min(1).default('us-east-1').describe('the bucket region (any value for most compatible stores)'),
    force_path_style: z
      .boolean()
      .default(false)
      .describe('address the bucket as <endpoint>/<bucket> (MinIO, s3rver) instead of <bucket>.<endpoint>'),
    access_key_id: z
      .string()
      .min(1)
      .optional()
      .describe('access key; use ${ENV} interpolation. Absent: the AWS SDK default chain (environment, profile, role)'),
    secret_access_key: z.string().min(1).optional().describe('secret key; use ${ENV} interpolation'),
    max_keys: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1000)
      .describe('objects per ListObjectsV2 page (the listing follows continuation tokens to the end)'),
    poll_interval_ms: pollIntervalMs(30_000),
  })
  .strict()
  .refine((s) => (s.access_key_id === undefined) === (s.secret_access_key === undefined), {
    path: ['secret_access_key'],
    message: 'access_key_id and secret_access_key go together',
  });

/** Which catalogued data resource a file delivers. */
export const resourceRule = z.discriminatedUnion('from', [
  z
    .object({
      from: z.literal('file_name'),
      pattern: regex(
        'regular expression over the file name (without folders) with a named group "resource", e.g. "^(?<resource>R\\d+)_\\d{8}\\.csv$"',
      ).refine((p) => p.includes('(?<resource>'), 'the pattern needs a named group (?<resource>…)'),
    })
    .strict(),
  z
    .object({
      from: z.literal('folder'),
    })
    .strict()
    .describe('the sub-folder the file lies in (folder source) or the first key segment after the prefix (S3)'),
  z
    .object({
      from: z.literal('column'),
      column: z.string().min(1).describe('column (csv/xlsx header, json key) holding the resource code'),
    })
    .strict(),
  z
    .object({
      from: z.literal('fixed'),
      resource_code: z.string().min(1).describe('every file of this source delivers this resource'),
    })
    .strict(),
]);

/** When a file was delivered, when its name says so. */
export const deliveredAtRule = z
  .object({
    pattern: regex(
      'regular expression over the file name with a named group "time", e.g. "_(?<time>\\d{8})\\.csv$"',
    ).refine((p) => p.includes('(?<time>'), 'the pattern needs a named group (?<time>…)'),
    format: z
      .string()
      .min(1)
      .describe('time format of the "time" group (pipelines/mapping/time-format.ts), e.g. YYYYMMDD or YYYYMMDDHHmmss'),
    time_zone: z.string().min(1).default(DEFAULT_SOURCE_ZONE).describe("zone the name's wall time is read in"),
  })
  .strict()
  .superRefine((rule, ctx) => {
    try {
      compileTimeFormat(rule.format, rule.time_zone);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['format'], message: (error as Error).message });
    }
  });

/**
 * Departmental deliveries of catalogued data resources, from a drop folder or an S3 prefix: each file is one
 * `dept_delivery`, its rows `dept_record`s validated against the resource's declared fields; a checksum manifest
 * makes each file land once. See docs/connectors.md.
 */
export const deptFilesConnectorConfig = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'expected a lowercase id (letters, digits, _ and -)')
      .describe('connector id, named in logs, health, dead letters and the manifest folder'),
    kind: z.literal('dept-files'),
    source: z
      .discriminatedUnion('type', [folderSource, s3Source])
      .describe('where the files come from: type folder (a watched drop folder) or s3 (a polled prefix)'),
    read: fileReadOptions.describe('how to read each file (format, encoding, header row, sheet …)'),
    include: regex('only file names (without folders) matching this regular expression are deliveries').optional(),
    resource: resourceRule.describe(
      'which data resource a file delivers: from a file-name pattern, its folder, a column, or fixed; the resource must be in the data_resources catalog',
    ),
    delivered_at: deliveredAtRule
      .optional()
      .describe(
        'the delivery time from the file name; when absent, or when the name does not match, the file mtime (folder) or S3 LastModified',
      ),
    chunk_records: z.number().int().min(1).max(100_000).default(2_000).describe('records per raw.dept message'),
    chunk_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(768 * 1024)
      .describe(
        '… or fewer, once their JSON reaches this many bytes; keep it under landing.max_payload_bytes (1 MiB by default)',
      ),
    once: z
      .boolean()
      .default(false)
      .describe('stop once every file present has been delivered (a bounded import) instead of watching'),
    drain_on_stop: z
      .boolean()
      .default(false)
      .describe(
        'a watching connector, when stopped, first delivers the files present and settled (a bounded run then holds them all); false stops between files. A failing bus still ends the wait at once',
      ),
  })
  .strict();

export type DeptFilesConnectorConfig = z.infer<typeof deptFilesConnectorConfig>;
export type FolderSourceConfig = z.infer<typeof folderSource>;
export type S3SourceConfig = z.infer<typeof s3Source>;
export type ResourceRule = z.infer<typeof resourceRule>;
