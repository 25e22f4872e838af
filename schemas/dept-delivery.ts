import { z } from 'zod';
import { code, regionCode, utcTimestamp } from './common.js';

/** One row per delivery (a file or a request) of a catalogued data resource. */
export const deptDelivery = z
  .object({
    delivery_id: code,
    resource_code: code,
    department_code: z.string().min(1).max(32),
    region_code: regionCode,
    delivered_at: utcTimestamp,
    source_file: z.string().min(1).max(512).describe('file path, object key or request id the delivery came from'),
    record_count: z
      .number()
      .int()
      .nonnegative()
      .describe(
        'records received in the delivery (the data rows of a file; 0 for a file with a problem or a re-delivery)',
      ),
    valid_count: z.number().int().nonnegative().describe('records that passed validation and landed in dept_record'),
    checksum: z.string().min(1).max(128),
    problem: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe(
        'why the file delivered no record: its file-level problem as "<kind>: <detail>" (empty, binary, encoding_mismatch, truncated, corrupt, unclosed_quote, header_only, missing_column, …); the file is dead-lettered whole',
      ),
    redelivery_of: code
      .optional()
      .describe('set on a re-delivery (the same bytes again): the delivery_id of the first delivery; no record lands'),
  })
  .strict()
  .meta({ id: 'dept_delivery', version: 2, natural_key: ['delivery_id'], event_time: 'delivered_at' });

/** A delivered record as JSON, with the delivery it came in and its line there. */
export const deptRecord = z
  .object({
    delivery_id: code,
    resource_code: code,
    region_code: regionCode,
    delivered_at: utcTimestamp,
    line: z
      .number()
      .int()
      .positive()
      .describe(
        'where the record is in its file: the 1-based line (csv, json, ndjson) or sheet row (xlsx); for a delivery sent as one message, the record number within it',
      ),
    record: z.string().describe('the record as a JSON object, keys as delivered'),
  })
  .strict()
  .meta({ id: 'dept_record', version: 1, natural_key: ['delivery_id', 'line'], event_time: 'delivered_at' });

export type DeptDelivery = z.infer<typeof deptDelivery>;
export type DeptRecord = z.infer<typeof deptRecord>;
