import type { Rejection } from '../dead-letter.js';
import { illFormedStringPath } from '../guards.js';
import { type CompiledField, recordIssues } from '../resource-fields.js';
import { utc } from './fields.js';
import { type MapOutcome, type MappedRow, type MappingContext, MappingRejection, type SourceMapping } from './types.js';

/**
 * Why a delivered record is invalid, or undefined. Against its resource's declared fields when the catalog declares
 * them; otherwise the fallback rule: an object with at least one non-empty value (docs/feeds.md).
 */
function recordProblem(
  record: unknown,
  at: string,
  fields: readonly CompiledField[] | undefined,
  context: MappingContext,
): Rejection | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record))
    return { reason_code: 'invalid', issues: [{ path: at, message: 'expected a JSON object' }] };
  if (context.mayHoldSurrogates) {
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

function countRecords(p: Record<string, unknown>): number {
  return Array.isArray(p.records) ? p.records.length : 1;
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
  },
  countRecords,
  map(p, context): MapOutcome {
    const records: unknown[] = Array.isArray(p.records) ? p.records : [];
    const units = Math.max(records.length, Array.isArray(p.records) ? 0 : 1);
    let delivered_at: string | undefined;
    try {
      delivered_at = utc(p.deliveredAt, 'deliveredAt');
    } catch (error) {
      // A delivery that cannot be dated cannot land any of its records: each counts as dead-lettered.
      if (error instanceof MappingRejection) error.units = units;
      throw error;
    }
    const fields = typeof p.resourceCode === 'string' ? context.resourceFields.get(p.resourceCode) : undefined;
    const rows: MappedRow[] = [];
    const rejections: Rejection[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const problem = recordProblem(record, `records[${i}]`, fields, context);
      if (problem) {
        rejections.push({ ...problem, line: i + 1, raw: JSON.stringify(record) ?? 'undefined' });
        continue;
      }
      rows.push({
        dataset: 'dept_record',
        row: {
          delivery_id: p.deliveryId,
          resource_code: p.resourceCode,
          region_code: p.adcode,
          delivered_at,
          line: i + 1,
          record: JSON.stringify(record),
        },
      });
    }
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
