import type { Rejection } from '../dead-letter.js';
import { utc } from './fields.js';
import { type MapOutcome, type MappedRow, MappingRejection, type SourceMapping } from './types.js';

/** A delivered record lands when it is an object with at least one non-empty value (docs/feeds.md). */
function recordProblem(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'expected a JSON object';
  for (const value of Object.values(record))
    if (value !== null && value !== '' && value !== undefined) return undefined;
  return 'expected at least one non-empty value';
}

export const deptMapping: SourceMapping = {
  feed: 'dept',
  personal: false,
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
  map(p): MapOutcome {
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
    const rows: MappedRow[] = [];
    const rejections: Rejection[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const problem = recordProblem(record);
      if (problem) {
        rejections.push({
          reason_code: 'invalid',
          issues: [{ path: `records[${i}]`, message: problem }],
          line: i + 1,
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
