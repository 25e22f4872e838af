import type { Rejection } from '../dead-letter.js';
import { illFormedStringPath } from '../guards.js';
import { type CompiledField, recordIssues } from '../resource-fields.js';
import { utc } from './fields.js';
import { type MapOutcome, type MappedRow, type MappingContext, MappingRejection, type SourceMapping } from './types.js';

/**
 * Why a delivered record is invalid, or undefined (also run by the dept-files connector before it sends a row). Against its resource's declared fields when the catalog declares
 * them; otherwise the fallback rule: an object with at least one non-empty value (docs/feeds.md).
 */
export function deptRecordProblem(
  record: unknown,
  at: string,
  fields: readonly CompiledField[] | undefined,
  mayHoldSurrogates: boolean,
): Rejection | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record))
    return { reason_code: 'invalid', issues: [{ path: at, message: 'expected a JSON object' }] };
  if (mayHoldSurrogates) {
    const path = illFormedStringPath(record, at);
    if (path !== undefined)
      return {
        reason_code: 'invalid_unicode',
        issues: [{ path, message: 'string holds a lone UTF-16 surrogate (not valid Unicode)' }],
      };
  }
  const object = record as Record<string, unknown>;
  if (fields) {
    const issues = recordIssues(object, fields, at);
    return issues.length > 0 ? { reason_code: 'invalid', issues } : undefined;
  }
  for (const key in object)
    if (Object.hasOwn(object, key) && object[key] !== null && object[key] !== '' && object[key] !== undefined)
      return undefined;
  return { reason_code: 'invalid', issues: [{ path: at, message: 'expected at least one non-empty value' }] };
}

/**
 * Source records a message holds: a records chunk its records; a delivery message (the file's summary) 1 when it is
 * rejected whole — as an empty delivery with a bad header always counted — and 0 once it maps.
 */
function countRecords(p: Record<string, unknown>): number {
  if (p.kind === 'delivery') return 1;
  return Array.isArray(p.records) ? p.records.length : 1;
}

function deliveredAtOf(p: Record<string, unknown>, units: number): string | undefined {
  try {
    return utc(p.deliveredAt, 'deliveredAt');
  } catch (error) {
    // A delivery that cannot be dated cannot land any of its records: each counts as dead-lettered.
    if (error instanceof MappingRejection) error.units = units;
    throw error;
  }
}

/** A chunk of a file's valid records (dept-files connector): one dept_record each, `line` = the file line. */
function mapRecords(p: Record<string, unknown>, context: MappingContext): MapOutcome {
  const records: unknown[] = Array.isArray(p.records) ? p.records : [];
  const lines: unknown[] = Array.isArray(p.lines) ? p.lines : [];
  const delivered_at = deliveredAtOf(p, Math.max(records.length, 1));
  // A line the chunk does not give is no line: the record fails the dept_record schema and is dead-lettered.
  const { rows, rejections } = recordRows(p, records, (i) => lines[i], delivered_at, context);
  return { rows, rejections, records: records.length };
}

/**
 * Each delivered record as its dept_record row, or its rejection against the resource's declared fields;
 * `lineOf(i)` is record i's line (its file line, or its position in the message).
 */
function recordRows(
  p: Record<string, unknown>,
  records: readonly unknown[],
  lineOf: (i: number) => unknown,
  delivered_at: string | undefined,
  context: MappingContext,
): { rows: MappedRow[]; rejections: Rejection[] } {
  const fields = typeof p.resourceCode === 'string' ? context.resourceFields.get(p.resourceCode) : undefined;
  const rows: MappedRow[] = [];
  const rejections: Rejection[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    const line = lineOf(i);
    const problem = deptRecordProblem(record, `records[${i}]`, fields, context.mayHoldSurrogates);
    if (problem) {
      rejections.push({
        ...problem,
        ...(typeof line === 'number' ? { line } : {}),
        raw: JSON.stringify(record) ?? 'undefined',
      });
      continue;
    }
    rows.push({
      dataset: 'dept_record',
      row: {
        delivery_id: p.deliveryId,
        resource_code: p.resourceCode,
        region_code: p.adcode,
        delivered_at,
        line,
        record: JSON.stringify(record),
      },
    });
  }
  return { rows, rejections };
}

/** The summary of a delivered file, sent after its chunks: its dept_delivery row, counting no record itself. */
function mapDelivery(p: Record<string, unknown>): MapOutcome {
  const delivered_at = deliveredAtOf(p, 1);
  const header: MappedRow = {
    dataset: 'dept_delivery',
    row: {
      delivery_id: p.deliveryId,
      resource_code: p.resourceCode,
      department_code: p.dept,
      region_code: p.adcode,
      delivered_at,
      source_file: p.file,
      record_count: p.records,
      valid_count: p.valid,
      checksum: p.checksum,
      ...(p.problem !== undefined ? { problem: p.problem } : {}),
      ...(p.redelivery_of !== undefined ? { redelivery_of: p.redelivery_of } : {}),
    },
  };
  return { rows: [header], rejections: [], gatedByHeader: true, records: 0 };
}

export const deptMapping: SourceMapping = {
  feed: 'dept',
  personal: false,
  checksRecordStrings: true,
  fieldSources: {
    delivery_id: 'deliveryId',
    resource_code: 'resourceCode',
    department_code: 'dept',
    region_code: 'adcode',
    delivered_at: 'deliveredAt',
    source_file: 'file',
    checksum: 'checksum',
    record_count: 'records',
    valid_count: 'valid',
    redelivery_of: 'redelivery_of',
  },
  countRecords,
  map(p, context): MapOutcome {
    if (p.kind === 'records') return mapRecords(p, context);
    if (p.kind === 'delivery') return mapDelivery(p);
    // One message per delivered file, records inline (the demo's deliveries, and every sender before chunks).
    const records: unknown[] = Array.isArray(p.records) ? p.records : [];
    const units = Math.max(records.length, Array.isArray(p.records) ? 0 : 1);
    const delivered_at = deliveredAtOf(p, units);
    const { rows, rejections } = recordRows(p, records, (i) => i + 1, delivered_at, context);
    const header: MappedRow = {
      dataset: 'dept_delivery',
      row: {
        delivery_id: p.deliveryId,
        resource_code: p.resourceCode,
        department_code: p.dept,
        region_code: p.adcode,
        delivered_at,
        source_file: p.file,
        // Not an array: the header fails validation here and the whole message is dead-lettered.
        record_count: Array.isArray(p.records) ? records.length : p.records,
        valid_count: rows.length,
        checksum: p.checksum,
      },
    };
    return {
      rows: [header, ...rows],
      rejections,
      gatedByHeader: true,
      records: units,
    };
  },
};
