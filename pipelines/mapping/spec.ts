/**
 * The mapping file (YAML): how one source's payloads become canonical records, as data. Declarative on purpose: every
 * step is a path, a constant, a cast, a code table, a unit conversion, a time format or a catalog lookup, so the same
 * file runs per record here and compiles to DuckDB SQL for the bulk path. Documented key by key in docs/mappings.md;
 * the `.describe()` texts are that reference.
 */
import { z } from 'zod';
import { datasetNames } from '../../schemas/index.js';
import { keyReference, schemaKeys } from '../config/explain.js';
import { codeTableSpec, codeValue } from './code-table.js';

/** Catalog lookups a field can resolve through (docs/mappings.md "Region resolution"). */
export const catalogLookup = z.enum(['region_by_name', 'device_region', 'resource_region', 'resource_department']);

export const fieldRule = z
  .object({
    path: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(2)])
      .optional()
      .describe(
        'where the value is in the record: a dotted path (`visit.satisfaction`, `items[0].v`, `data["a.b"]`); a list of paths joins their values with `join` (a composite code such as vendor and event code)',
      ),
    column: z
      .string()
      .min(1)
      .optional()
      .describe('a CSV/XLSX column by its header, verbatim (Chinese headers, dots and brackets included)'),
    const: codeValue.optional().describe('a constant value instead of a path'),
    header: z
      .string()
      .min(1)
      .optional()
      .describe(
        'a message header the connector set instead of a path: cityhub-source (the connector id), file (raw-files: the file name), mqtt-topic (MQTT)',
      ),
    segment: z
      .number()
      .int()
      .optional()
      .describe(
        'take one `separator`-separated segment of the value read (0 = the first, -1 = the last): a region code or device id inside an MQTT topic or a file name',
      ),
    separator: z.string().min(1).default('/').describe('what separates the segments for `segment`'),
    join: z.string().default(':').describe('separator when `path` lists several paths'),
    codes: codeTableSpec
      .optional()
      .describe(
        'code table the value is looked up in: `builtin:<name>`, a file (CSV code,value / JSON / YAML, relative to the mapping file), or `{entries: {...}}`; options trim, case_insensitive, default, on_missing (reject → dead letter unmapped_code, or pass_through)',
      ),
    lookup: catalogLookup
      .optional()
      .describe(
        'resolve the value through a catalog: region_by_name (a district or city name → its code, within the hub), device_region (device id → its region in the device registry), resource_region / resource_department (resource code → the data-resource catalog entry)',
      ),
    type: z
      .enum(['text', 'number', 'integer', 'boolean', 'time'])
      .optional()
      .describe(
        'cast: text (numbers become their text), number / integer (numeric text is read as a number), boolean (true/false, 1/0, 是/否), time (see `time`); a value that does not cast is dead-lettered naming the source path',
      ),
    time: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        'time format(s), tried in order: tokens YYYY MM M DD D HH H mm ss SSS with literal characters (`YYYY-MM-DD HH:mm:ss`, `YYYY/MM/DD HH:mm`, `YYYYMMDD`, `YYYY年M月D日`), or epoch_s, epoch_ms (told apart by range), iso8601 (offset required), auto (local `YYYY-MM-DD HH:mm[:ss[.SSS]]`, ISO 8601 with offset, or epoch milliseconds). Implies type time; default auto',
      ),
    time_zone: z.string().min(1).optional().describe('zone of local times for this field (default: the mapping’s)'),
    multiply_by: z.number().finite().optional().describe('multiply a number (after the cast) by this'),
    divide_by: z
      .number()
      .finite()
      .refine((x) => x !== 0, 'must not be 0')
      .optional()
      .describe('divide a number (after the cast) by this, e.g. 100 for a 0–100 score'),
    default: codeValue.optional().describe('value when the source has none (absent, null or empty text)'),
    personal: z
      .enum(['hash', 'hash_key_id', 'redact'])
      .optional()
      .describe(
        'personal data: hash (the keyed HMAC-SHA256 hex of the value; a token the masker left is decoded), hash_key_id (the id of the key that hash used), redact (phones, landlines and ID numbers in free text replaced). To drop a field, do not map it',
      ),
  })
  .strict()
  .refine((r) => [r.path, r.column, r.const, r.header].filter((x) => x !== undefined).length <= 1, {
    message: 'give at most one of path, column, const, header',
  })
  .refine(
    (r) =>
      r.path !== undefined ||
      r.column !== undefined ||
      r.const !== undefined ||
      r.header !== undefined ||
      r.default !== undefined,
    { message: 'give one of path, column, const, header (or at least a default)' },
  );
export type FieldRule = z.output<typeof fieldRule>;

/** A bare string is the path. */
export const fieldRuleOrPath = z.preprocess((rule) => (typeof rule === 'string' ? { path: rule } : rule), fieldRule);

export const measurement = z
  .object({
    value: z.string().min(1).describe('canonical field holding the number to convert (sensor_reading: value)'),
    unit: z.string().min(1).describe('canonical field holding the source unit; it receives the canonical unit'),
    metric: z
      .string()
      .min(1)
      .describe('canonical field whose value selects the canonical unit (sensor_reading: metric)'),
    canonical_units: codeTableSpec
      .default('builtin:metric_units')
      .describe('metric → canonical unit; default the built-in table of docs/feeds.md'),
  })
  .strict()
  .describe(
    'unit conversion of a measurement: the value is converted from its source unit to the canonical unit of its metric; an unknown unit, or one of another dimension, is dead-lettered as unmapped_code',
  );

export const mappingSpec = z
  .object({
    dataset: z.enum(datasetNames as [string, ...string[]]).describe('the canonical dataset the records land in'),
    description: z.string().optional(),
    time_zone: z
      .string()
      .min(1)
      .default('Asia/Shanghai')
      .describe('IANA zone of local times without an offset (default Asia/Shanghai)'),
    personal: z
      .boolean()
      .default(false)
      .describe('payloads carry personal data: masked before the bus, dead letters keep only a redacted copy'),
    records: z
      .string()
      .min(1)
      .optional()
      .describe(
        'path of an array in the payload whose elements are the records (a bulk message); default: the payload is one record',
      ),
    fields: z
      .record(z.string(), fieldRuleOrPath)
      .describe('canonical field → where its value comes from; canonical fields not listed stay absent'),
    measurement: measurement.optional(),
    samples: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'files of sample payloads (NDJSON, or JSON: one payload or an array of them), relative to the mapping: `config check` maps each and fails when one is dead-lettered',
      ),
  })
  .strict();
export type MappingSpec = z.output<typeof mappingSpec>;

/** docs/mapping-keys.md, generated (`npm run docs:config`; a test keeps the file identical to this). */
export function mappingReference(): string {
  return keyReference(
    [
      '# Mapping file reference',
      '',
      'Generated from `pipelines/mapping/spec.ts` (`npm run docs:config`); a test keeps it in step. How to write one:',
      '[mappings.md](mappings.md). A bare string as a field rule is its `path`. Unknown keys are rejected.',
    ],
    schemaKeys(mappingSpec),
  );
}
