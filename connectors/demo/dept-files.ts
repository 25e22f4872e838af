/**
 * Departmental deliveries as files (`dept: 'files'`), as a city's bureaus send them to a drop folder: each resource
 * delivers in one format, chosen from the seed — realtime resources export NDJSON from their API, the others GBK CSV
 * (half of them with a title row above the header), XLSX or NDJSON. A few files are broken on purpose. The file
 * name carries the resource code and the delivery time, so reading it gives both without the file's mtime.
 */
import type { SimContext } from './context.js';
import { resourcesInCatalog } from './dept.js';
import { makeRecord, recordTemplates } from './dept-records.js';
import { type ResourceLayout, resourceCatalog } from './layout.js';
import { hash32 } from './rng.js';
import { dayOf, shanghaiLocal } from './time.js';
import { type DeptFile, type DeptFileFlaw, type DeptFileFormat, deptFileFormats } from './types.js';

/** The file-name patterns the dept-files connectors read (docs/connectors.md): resource code, then the time. */
export const DEPT_FILE_RESOURCE_PATTERN = '^(?<resource>R\\d{9})_';
export const DEPT_FILE_TIME_PATTERN = '_(?<time>\\d{14})[._]';
export const DEPT_FILE_TIME_FORMAT = 'YYYYMMDDHHmmss';

const extensions: Record<DeptFileFormat, string> = { csv: 'csv', xlsx: 'xlsx', ndjson: 'ndjson' };

/** `YYYYMMDDHHmmss` in Asia/Shanghai wall time. */
function compactTime(ms: number): string {
  return shanghaiLocal(ms).replace(/\D/g, '');
}

export function deptFileName(code: string, ms: number, format: DeptFileFormat, suffix?: string): string {
  return `${code}_${compactTime(ms)}${suffix === undefined ? '' : `_${suffix}`}.${extensions[format]}`;
}

interface ResourceFormat {
  format: DeptFileFormat;
  titleRow: boolean;
}

const formatsBySeed = new Map<number, Map<string, ResourceFormat>>();

/**
 * Each resource's format, from the seed: realtime resources are NDJSON; the others, ordered by a hash of (seed,
 * code), take CSV, XLSX and NDJSON in turn, so every format occurs; every other CSV resource has a title row.
 */
export function resourceFormat(seed: number, resource: Pick<ResourceLayout, 'code'>): ResourceFormat {
  let table = formatsBySeed.get(seed);
  if (!table) {
    table = new Map();
    const ranked = resourceCatalog
      .filter((r) => r.freq !== 'realtime')
      .map((r) => ({ code: r.code, rank: hash32('cityhub-demo-dept-format', seed, r.code) }))
      .sort((a, b) => a.rank - b.rank || (a.code < b.code ? -1 : 1));
    let csv = 0;
    ranked.forEach(({ code }, i) => {
      const format = deptFileFormats[i % deptFileFormats.length]!;
      table!.set(code, { format, titleRow: format === 'csv' && csv++ % 2 === 0 });
    });
    formatsBySeed.set(seed, table);
  }
  return table.get(resource.code) ?? { format: 'ndjson', titleRow: false };
}

function fileOf(
  seed: number,
  r: ResourceLayout,
  ms: number,
  rows: Record<string, string | number>[],
  counts: {
    units: number;
    landed: number;
    flaw?: DeptFileFlaw;
    format?: DeptFileFormat;
    code?: string;
    suffix?: string;
  },
): DeptFile {
  const { format, titleRow } = resourceFormat(seed, r);
  const fileFormat = counts.format ?? format;
  const code = counts.code ?? r.code;
  return {
    format: fileFormat,
    name: deptFileName(code, ms, fileFormat, counts.suffix),
    resourceCode: code,
    title: r.name,
    deliveredMs: ms,
    columns: recordTemplates[r.template].map(([name]) => name),
    rows,
    titleRow: titleRow && fileFormat === 'csv',
    ...(counts.flaw ? { flaw: counts.flaw } : {}),
    units: counts.units,
    landed: counts.landed,
  };
}

/** A planned delivery as its file: `valid` of its rows land, the others are dead-lettered; no row = an empty file. */
export function deliveryFile(
  ctx: SimContext,
  r: ResourceLayout,
  ms: number,
  rows: Record<string, string | number>[],
  valid: number,
): DeptFile {
  const seed = ctx.options.seed;
  if (rows.length === 0) return fileOf(seed, r, ms, rows, { units: 1, landed: 0, flaw: 'empty' });
  return fileOf(seed, r, ms, rows, { units: rows.length, landed: valid });
}

/** A live delivery's file; `slot` (the live slot, base 36) keeps two deliveries of one second apart. */
export function liveDeliveryFile(
  seed: number,
  r: ResourceLayout,
  ms: number,
  rows: Record<string, string | number>[],
  slot: string,
): DeptFile {
  return fileOf(seed, r, ms, rows, { units: rows.length, landed: rows.length, suffix: `L${slot}` });
}

/** Not in the catalog: its file is dead-lettered whole (`unknown_resource`) and makes no dept_delivery. */
export const UNKNOWN_RESOURCE_CODE = 'R339999001';

/**
 * One file of each whole-file flaw, on a resource of the right format: NDJSON in GBK where UTF-8 is declared, an
 * XLSX cut short, a CSV of a resource no catalog has. Each counts 1 record received and dead-lettered; the first two
 * still make a dept_delivery (0 records) of their resource, which counts for hookup.
 */
export function addBrokenDeptFiles(ctx: SimContext): void {
  const rng = ctx.rng('invalid', 'dept-files');
  const delivered = resourcesInCatalog(ctx).filter((r) => !r.never);
  const names = new Set(ctx.deptFiles.map((f) => f.name));
  const add = (flaw: DeptFileFlaw, format: DeptFileFormat) => {
    const own = delivered.filter((r) => resourceFormat(ctx.options.seed, r).format === format);
    const r = flaw === 'unknown_resource' || own.length === 0 ? rng.pick(delivered) : rng.pick(own);
    let ms = ctx.timeOfDay(rng, rng.int(ctx.hist.startDay, ctx.hist.endDay - 1), 9, 17);
    const code = flaw === 'unknown_resource' ? UNKNOWN_RESOURCE_CODE : r.code;
    while (names.has(deptFileName(code, ms, format))) ms += 1000;
    const rows = Array.from({ length: rng.int(1, 5) }, () =>
      makeRecord(rng, r.template, { day: dayOf(ms), region: r.region }),
    );
    const file = fileOf(ctx.options.seed, r, ms, rows, { units: 1, landed: 0, flaw, format, code });
    if (flaw !== 'unknown_resource') {
      ctx.facts.dept_delivery.push({
        delivery_id: `D-${r.code}-E-${flaw}`,
        resource_code: r.code,
        region_code: r.region,
        delivered_at_ms: ms,
        record_count: 0,
        valid_count: 0,
      });
    }
    names.add(file.name);
    ctx.deptFiles.push(file);
  };
  add('encoding_mismatch', 'ndjson');
  add('truncated', 'xlsx');
  add('unknown_resource', 'csv');
}
