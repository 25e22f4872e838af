/**
 * Departmental deliveries as the dept-files connector puts them on raw.dept (docs/feeds.md "dept"): per delivered
 * file, record chunks of at most 2,000 records (csv rows as text values, with their file lines), then one delivery
 * message summing the file up; files of 1 to 4,000 rows, 10,000 rows an hour of delivery time up to the run, over 12
 * catalogued resources that declare their fields. Counted in records, not messages.
 *
 * Invalid (~1% of records): a record whose declared integer is not one, inside an otherwise valid chunk; small files
 * (1–20 rows) whose header names an unknown region or an implausible delivery time (every record and the delivery
 * message dead-lettered), or whose chunk is cut short (counts one record). Duplicates (~1%): a recent small file's
 * messages sent again, byte for byte (its records and its delivery message dead-lettered as duplicate).
 */
import type { DataResource } from '../../schemas/index.js';
import {
  DUPLICATE_RATE,
  type GenerateOptions,
  INVALID_RATE,
  implausibleTime,
  invalidReasons,
  PayloadBuilder,
  type PayloadSet,
  seededRandom,
  timeline,
  truncated,
} from './payload-set.js';
import { districts, UNKNOWN_REGION } from './regions.js';

const CHUNK_RECORDS = 2_000;
const MAX_FILE_ROWS = 4_000;
/** A file this small (one chunk) may be re-sent as the duplicates. */
const SMALL_FILE_ROWS = 100;

/** The catalogued resources the files deliver: a required name, an integer count and a date. */
export const deptResources: DataResource[] = Array.from({ length: 12 }, (_, k) => {
  const region = districts[k % districts.length]!;
  return {
    resource_code: `R${region}${String(k).padStart(3, '0')}`,
    name: `市容巡查记录${k}`,
    department_code: `${region}-CG`,
    region_code: region,
    share_type: 'unconditional',
    update_frequency: 'daily',
    fields: [
      { name: '名称', type: 'text', required: true },
      { name: '数量', type: 'integer', required: false },
      { name: '日期', type: 'date', required: false },
    ],
  };
});

type FileKind = 'valid' | 'region' | 'time' | 'json';

/** Messages [first, last] of a file written, and how many of its records were invalid. */
interface WrittenFile {
  first: number;
  last: number;
  rows: number;
  invalid: number;
}

export function deptPayloads(count: number, { seed, now }: GenerateOptions): PayloadSet {
  const random = seededRandom(seed);
  const builder = new PayloadBuilder(count * 90);
  const deliveredAt = timeline(count, 10_000, now);
  let files = 0;

  const writeFile = (rows: number, kind: FileKind): WrittenFile => {
    const f = files++;
    const resource = deptResources[f % deptResources.length]!;
    const code = resource.resource_code;
    const at = kind === 'time' ? implausibleTime(random, now) : deliveredAt(Math.min(count - 1, builder.expected.sent));
    const day = new Date(at + 8 * 3_600_000).toISOString().slice(0, 10);
    const header = {
      deliveryId: `${code}-${f.toString(16).padStart(16, '0')}`,
      resourceCode: code,
      adcode: kind === 'region' ? UNKNOWN_REGION : resource.region_code,
      deliveredAt: new Date(at).toISOString(),
      file: `${code}_${day.replaceAll('-', '')}_${f}.csv`,
    };
    const prefix = JSON.stringify({ kind: 'records', ...header }).slice(0, -1);
    let first = -1;
    let invalid = 0;
    for (let from = 0; from < rows; from += CHUNK_RECORDS) {
      const size = Math.min(CHUNK_RECORDS, rows - from);
      const lines: number[] = [];
      const records: string[] = [];
      for (let r = from; r < from + size; r++) {
        // Line 1 is the csv header.
        lines.push(r + 2);
        const bad = kind === 'valid' && random() < INVALID_RATE / 4;
        if (bad) invalid++;
        records.push(
          JSON.stringify({ 名称: `文三路保洁巡查${f}-${r}`, 数量: bad ? '十二' : String(r % 97), 日期: day }),
        );
      }
      const chunk = `${prefix},"lines":[${lines.join(',')}],"records":[${records.join(',')}]}`;
      const index = builder.add(kind === 'json' ? truncated(chunk) : chunk, code);
      if (first < 0) first = index;
    }
    const delivery = JSON.stringify({
      kind: 'delivery',
      ...header,
      dept: resource.department_code,
      checksum: `sha256:${f.toString(16).padStart(64, '0')}`,
      records: rows,
      valid: rows,
    });
    const last = builder.add(delivery, code);
    if (kind === 'valid') {
      builder.land(rows - invalid);
      builder.deadLetter(invalidReasons.schema, invalid);
    } else if (kind === 'json') {
      // A chunk that is not JSON counts one record, whatever it held; the delivery message lands its row.
      builder.deadLetter(invalidReasons.json, 1);
    } else {
      // The header's region or time refuses every record and the delivery message (which then counts one).
      builder.deadLetter(invalidReasons[kind], rows + 1);
    }
    return { first, last, rows, invalid };
  };

  const owed = { region: 0, time: 0, json: 0, duplicate: 0 };
  let small: WrittenFile | undefined;
  while (builder.expected.sent < count) {
    // Log-uniform sizes, the last file cut to what is left to send.
    const drawn = Math.floor(Math.exp(random() * Math.log(MAX_FILE_ROWS)));
    const rows = Math.max(1, Math.min(drawn, count - builder.expected.sent));
    const file = writeFile(rows, 'valid');
    if (rows <= SMALL_FILE_ROWS) small = file;
    for (const kind of ['region', 'time', 'json'] as const) {
      owed[kind] += (rows * INVALID_RATE) / 4;
      while (owed[kind] >= 1) {
        const written = writeFile(1 + Math.floor(random() * 20), kind);
        owed[kind] -= kind === 'json' ? 1 : written.rows + 1;
      }
    }
    owed.duplicate += rows * DUPLICATE_RATE;
    while (small && owed.duplicate >= 1) {
      for (let m = small.first; m <= small.last; m++) builder.repeat(m);
      // Its invalid records are invalid again (validation comes before the dedupe); the others and the delivery
      // message are duplicates.
      builder.deadLetter(invalidReasons.schema, small.invalid);
      builder.deadLetter('duplicate', small.rows - small.invalid + 1);
      owed.duplicate -= small.rows + 1;
    }
  }
  return builder.finish();
}
