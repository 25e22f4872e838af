import { z } from 'zod';
import { calendarDate, code, eventClass, gridCode, latitude, longitude, regionCode } from './common.js';

export const regionLevel = z.enum(['province', 'city', 'district']);

export const region = z
  .object({
    code: regionCode,
    name: z.string().min(1),
    level: regionLevel,
    parent_code: regionCode.optional(),
  })
  .strict()
  .meta({ id: 'regions', version: 1 });

export const shareType = z.enum(['unconditional', 'conditional', 'not_shared']);
export const updateFrequency = z.enum(['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly']);

/** Types a data resource may declare for the fields of its records (docs/feeds.md "Record validation"). */
export const resourceFieldType = z.enum(['text', 'integer', 'decimal', 'date', 'datetime', 'code', 'boolean']);

/** One field a data resource's records carry (信息项), as its catalog entry declares it. */
export const resourceField = z
  .object({
    name: z
      .string()
      .min(1)
      .describe('field name as delivered (the CSV/Excel header or JSON key), e.g. 统一社会信用代码'),
    type: resourceFieldType
      .default('text')
      .describe(
        'text: any value; integer / decimal: a number or numeric text; date: YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY年M月D日 naming a real day; datetime: a time cityhub parses (docs/feeds.md); code: text matching `pattern`; boolean: true/false, 是/否, 1/0',
      ),
    required: z.boolean().default(false).describe('a record without a non-empty value here is invalid'),
    pattern: z
      .string()
      .optional()
      .describe('regular expression the whole value must match (required for type code, allowed for text)'),
    max_length: z.number().int().positive().optional().describe('longest accepted text, in characters'),
  })
  .strict()
  .refine((f) => f.type !== 'code' || f.pattern !== undefined, {
    message: 'a code field needs a pattern',
    path: ['pattern'],
  })
  .refine(
    (f) => {
      if (f.pattern === undefined) return true;
      try {
        new RegExp(f.pattern, 'u');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'pattern is not a valid regular expression', path: ['pattern'] },
  );

/** 政务信息资源目录 entry. */
export const dataResource = z
  .object({
    resource_code: code,
    name: z.string().min(1),
    department_code: z.string().min(1).max(32),
    region_code: regionCode,
    share_type: shareType,
    update_frequency: updateFrequency,
    valid_from: calendarDate.optional().describe('first day in force (inclusive); absent = always'),
    valid_to: calendarDate.optional().describe('last day in force (inclusive); absent = still in force'),
    fields: z
      .array(resourceField)
      .optional()
      .describe(
        'the fields its records carry; each delivered record is validated against them. Absent: the fallback rule (a record is valid when it is an object with a non-empty value), and config check warns',
      ),
  })
  .strict()
  .meta({ id: 'data_resources', version: 2 });

export const dimension = z.enum(['operation', 'management', 'service', 'effectiveness']);

/** A region code or the leading digits of one: `330106` one district, `3302` every region of 宁波市, `33` Zhejiang. */
export const scenarioRegion = z
  .string()
  .regex(/^\d{1,6}$/, 'expected a region code or its leading digits (1 to 6 digits)');

/** A key scenario (重点场景) and what must be true for a region to count as covered. */
export const scenario = z
  .object({
    scenario_code: code,
    name: z.string().min(1),
    dimension,
    level: z.enum(['city', 'district']).describe('counted once per district, or once per city'),
    regions: z
      .array(scenarioRegion)
      .default([])
      .describe(
        'applies to the regions of its level whose code starts with any of these codes or prefixes (e.g. ["330106", "3302"]: one district of 杭州 and every district of 宁波); empty = everywhere',
      ),
    region_prefix: z
      .string()
      .regex(/^\d{0,6}$/)
      .optional()
      .describe('former single-prefix form, read as `regions: [region_prefix]` ("" = everywhere); not with regions'),
    required_device_types: z.array(code).default([]),
    required_video_event_types: z.array(eventClass).default([]),
    required_hotline_categories: z.array(z.string().min(1)).default([]).describe('category prefixes'),
    required_resources: z.array(code).default([]),
    min_online_rate: z.number().min(0).max(1).optional(),
    closed_loop: z.boolean().default(false),
    event_classes: z.array(eventClass).default([]).describe('event classes whose automated events close the loop'),
  })
  .strict()
  .refine((s) => !s.region_prefix || s.regions.length === 0, {
    message: 'set regions (a list) or the former region_prefix, not both',
    path: ['regions'],
  })
  // A check that rewrites keeps the schema a ZodObject (seeds and JSON Schema read its shape): parsed scenarios carry
  // `regions` only, so nothing downstream has to know the former field.
  .overwrite(({ region_prefix, ...rest }) =>
    region_prefix === undefined ? rest : { ...rest, regions: region_prefix === '' ? rest.regions : [region_prefix] },
  )
  .meta({ id: 'scenarios', version: 2 });

/** Whether a parsed scenario applies to a region (by code), whatever its level. */
export function scenarioCoversRegion(s: Pick<Scenario, 'regions'>, regionCode: string): boolean {
  return s.regions.length === 0 || s.regions.some((prefix) => regionCode.startsWith(prefix));
}

export const device = z
  .object({
    device_id: code,
    device_type: code,
    region_code: regionCode,
    grid_code: gridCode.optional(),
    reporting_interval_s: z.number().int().positive(),
    installed_on: calendarDate.optional().describe('first day registered (inclusive); absent = always'),
    removed_on: calendarDate.optional().describe('last day registered (inclusive); absent = still registered'),
    lon: longitude.optional(),
    lat: latitude.optional(),
  })
  .strict()
  .meta({ id: 'devices', version: 1 });

export type Region = z.infer<typeof region>;
export type DataResource = z.infer<typeof dataResource>;
export type ResourceField = z.infer<typeof resourceField>;
export type Scenario = z.infer<typeof scenario>;
export type Device = z.infer<typeof device>;
