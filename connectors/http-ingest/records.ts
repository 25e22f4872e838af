import { CityhubError } from '../../pipelines/errors.js';

/** What became of one record of a bulk push that cannot go on the bus as a record. */
export interface RecordReject {
  /** Position in the body: array index, or NDJSON line number counted from 0 (blank lines count). */
  index: number;
  reason: 'not_json' | 'not_an_object';
  detail: string;
  /** The record's bytes, for its connector dead letter. */
  raw: Buffer;
}

export interface SplitRecords {
  records: Buffer[];
  /** `indexes[i]`: the position of `records[i]` in the body, counted as a reject's index is. */
  indexes: number[];
  rejects: RecordReject[];
}

/** The body is not the JSON it claims to be as a whole (an NDJSON line is judged alone instead). */
export class UnparsableBodyError extends CityhubError {
  constructor(readonly detail: string) {
    super(`body is not JSON: ${detail}`);
  }
}

export type BulkFormat = 'json' | 'ndjson';

/** By Content-Type: NDJSON for application/x-ndjson, application/ndjson and application/jsonl; JSON for *json. */
export function bulkFormatOf(contentType: string | undefined): BulkFormat | undefined {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') return 'ndjson';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  return undefined;
}

/**
 * The records of a bulk push, each the bytes of one bus message. A JSON body is an array of objects (or one object);
 * an NDJSON body is one object per line, sent as the line's own bytes. A record that is not an object, or a line
 * that is not JSON, is a reject with its index; a JSON body that does not parse throws UnparsableBodyError.
 */
export function splitRecords(body: Buffer, format: BulkFormat): SplitRecords {
  return format === 'json' ? splitJson(body) : splitNdjson(body);
}

function splitJson(body: Buffer): SplitRecords {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new UnparsableBodyError((error as Error).message);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  const records: Buffer[] = [];
  const indexes: number[] = [];
  const rejects: RecordReject[] = [];
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    const raw = Buffer.from(JSON.stringify(item) ?? 'null');
    if (isObject(item)) {
      records.push(raw);
      indexes.push(i);
    } else rejects.push({ index: i, reason: 'not_an_object', detail: `record is ${kindOf(item)}, not an object`, raw });
  }
  return { records, indexes, rejects };
}

function splitNdjson(body: Buffer): SplitRecords {
  const records: Buffer[] = [];
  const indexes: number[] = [];
  const rejects: RecordReject[] = [];
  let start = 0;
  for (let line = 0; start < body.length; line++) {
    let end = body.indexOf(0x0a, start);
    if (end < 0) end = body.length;
    let last = end;
    if (last > start && body[last - 1] === 0x0d) last--;
    const raw = body.subarray(start, last);
    start = end + 1;
    if (isBlank(raw)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      rejects.push({ index: line, reason: 'not_json', detail: (error as Error).message, raw });
      continue;
    }
    if (isObject(parsed)) {
      records.push(raw);
      indexes.push(line);
    } else
      rejects.push({ index: line, reason: 'not_an_object', detail: `line is ${kindOf(parsed)}, not an object`, raw });
  }
  return { records, indexes, rejects };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}
