/**
 * One delivered file → messages on the bus (docs/feeds.md "dept"): record chunks on `raw.dept`, each row that
 * fails as a connector dead letter on `dlq.dept` (file + line), then one delivery message summing the file up. A
 * file with a file-level problem sends no row: one dead letter holding its head, and its delivery with the problem.
 *
 * Every unit of sends (a chunk with the dead letters of its rows; the delivery message) is followed by a checkpoint
 * commit naming the file, its checksum and how many units are acknowledged, so a restart resumes the file after
 * them; the unit in flight at a crash is re-sent identically (deterministic ids and chunk boundaries) and the
 * source checkpoint drops what the bus already holds.
 */
import { open } from 'node:fs/promises';
import { TextDecoder } from 'node:util';
import type { Logger } from 'pino';
import { CONNECTOR_DEAD_LETTER_RAW_LIMIT } from '../../pipelines/normalize/connector-dead-letter.js';
import { deptRecordProblem } from '../../pipelines/normalize/mappings/dept.js';
import type { CompiledField } from '../../pipelines/normalize/resource-fields.js';
import type { DataResource } from '../../schemas/index.js';
import type { BusSender } from '../send.js';
import type { SourceCheckpoint } from '../source-checkpoint.js';
import type { DeptFilesConnectorConfig } from './config.js';
import type { DeliveryManifest, FileStamp } from './manifest.js';
import type { DeliveryNaming } from './naming.js';
import { type FileInspection, type FileValue, inspectFile, readRows } from './read/index.js';

/** A catalogued resource with its declared fields compiled once. */
export interface KnownResource {
  resource: DataResource;
  fields: readonly CompiledField[] | undefined;
}

/** Where a file stands in the checkpoint: its units (chunks, then the delivery message) acknowledged so far. */
export interface FilePosition {
  file: string;
  sha256: string;
  units: number;
}

export function isFilePosition(value: unknown): value is FilePosition {
  const p = value as FilePosition | null;
  return p !== null && typeof p === 'object' && typeof p.file === 'string' && typeof p.sha256 === 'string';
}

/** Counters of health and progress. */
export interface DeliveryStats {
  files_seen: number;
  files_delivered: number;
  files_redelivered: number;
  files_with_problems: number;
  rows_sent: number;
  rows_dead_lettered: number;
}

export function emptyStats(): DeliveryStats {
  return {
    files_seen: 0,
    files_delivered: 0,
    files_redelivered: 0,
    files_with_problems: 0,
    rows_sent: 0,
    rows_dead_lettered: 0,
  };
}

export interface DeliveryContext {
  config: DeptFilesConnectorConfig;
  sender: BusSender;
  checkpoint: SourceCheckpoint | undefined;
  manifest: DeliveryManifest;
  naming: DeliveryNaming;
  resources: ReadonlyMap<string, KnownResource>;
  stats: DeliveryStats;
  log: Logger;
}

/** What became of a file. */
export interface FileOutcome {
  deliveryId?: string;
  problem?: string;
  redeliveryOf?: string;
}

/** Longest resource code kept whole in a delivery id (ids are at most 64 characters, `-r<n>` included). */
const ID_RESOURCE_CHARS = 40;

/** Deterministic: the same bytes of the same resource always get the same id, so a re-sent message is identical. */
export function deliveryIdOf(resourceCode: string, sha256: string): string {
  return resourceCode.length <= ID_RESOURCE_CHARS
    ? `${resourceCode}-${sha256.slice(0, 16)}`
    : `D-${sha256.slice(0, 32)}`;
}

interface PendingDeadLetter {
  line: number;
  reason: string;
  message: string;
  raw: string;
}

/**
 * Delivers one settled file at `path` (the drop-folder file, or an S3 object's spool copy). Resolves once every
 * message is acknowledged and the manifest records the file; the caller then acknowledges the source (moves it).
 */
export async function deliverFile(
  context: DeliveryContext,
  stamp: FileStamp,
  relative: string,
  path: string,
  resume: FilePosition | undefined,
): Promise<FileOutcome> {
  const { config, naming, manifest, resources, stats } = context;
  stats.files_seen++;
  const inspection = await inspectFile(path, config.read, stamp.name);
  const sha = inspection.sha256;
  const skipUnits = resume && resume.file === stamp.name && resume.sha256 === sha ? resume.units : 0;
  const code =
    config.resource.from === 'column'
      ? inspection.problem
        ? undefined
        : await resourceInColumn(path, stamp.name, config, config.resource.column)
      : naming.resourceOf(relative);
  const known = code === undefined ? undefined : resources.get(code);
  if (!known) {
    const why =
      code === undefined
        ? `no resource code in ${describeRule(config)}`
        : `resource ${code} is not in the data_resources catalog`;
    await new FileUnits(context, stamp.name, sha, skipUnits).run(async () => {
      await deadLetterFile(context, path, stamp.name, code ?? stamp.name, 'unknown_resource', why);
    });
    await manifest.record(stamp, sha);
    await context.checkpoint?.commit(null);
    stats.files_with_problems++;
    context.log.warn({ file: stamp.name, resource: code ?? null, problem: 'unknown_resource', why }, 'dept file');
    return { problem: 'unknown_resource' };
  }

  const resource = known.resource;
  const { at: deliveredAt } = naming.deliveredAt(stamp.name, stamp.mtimeMs);
  const header = {
    resourceCode: resource.resource_code,
    dept: resource.department_code,
    adcode: resource.region_code,
    deliveredAt,
    file: stamp.name,
    checksum: `sha256:${sha}`,
  };
  const units = new FileUnits(context, stamp.name, sha, skipUnits);
  const prior = manifest.deliveryOf(resource.resource_code, sha);
  let outcome: FileOutcome;
  if (prior) {
    const deliveryId = `${prior.delivery_id}-r${prior.redeliveries + 1}`;
    await units.run(() =>
      sendDelivery(context, { deliveryId, ...header, records: 0, valid: 0, redelivery_of: prior.delivery_id }),
    );
    stats.files_redelivered++;
    outcome = { deliveryId, redeliveryOf: prior.delivery_id };
  } else {
    const deliveryId = deliveryIdOf(resource.resource_code, sha);
    const problem = inspection.problem
      ? { kind: inspection.problem.kind, message: describeProblem(inspection) }
      : missingColumn(inspection, known.fields);
    if (problem) {
      await units.run(() =>
        deadLetterFile(context, path, stamp.name, resource.resource_code, problem.kind, problem.message),
      );
      await units.run(() =>
        sendDelivery(context, {
          deliveryId,
          ...header,
          records: 0,
          valid: 0,
          problem: `${problem.kind}: ${problem.message}`,
        }),
      );
      stats.files_with_problems++;
      outcome = { deliveryId, problem: problem.kind };
    } else {
      const { rows, valid } = await sendRows(context, units, path, stamp.name, deliveryId, known, header.deliveredAt);
      await units.run(() => sendDelivery(context, { deliveryId, ...header, records: rows, valid }));
      stats.files_delivered++;
      outcome = { deliveryId };
    }
  }
  // Durable before the position is cleared: from here on the file is taken, whatever happens to it next.
  await manifest.record(stamp, sha, {
    resourceCode: resource.resource_code,
    deliveryId: outcome.deliveryId!,
    redelivery: outcome.redeliveryOf !== undefined,
  });
  await context.checkpoint?.commit(null);
  return outcome;
}

/** Numbers the units of a file's sends and commits after each; units acknowledged before a restart are skipped. */
class FileUnits {
  private next = 0;
  constructor(
    private readonly context: DeliveryContext,
    private readonly file: string,
    private readonly sha256: string,
    private readonly skip: number,
  ) {}

  /** False when this unit was acknowledged before the restart (its sends are skipped). */
  get pending(): boolean {
    return this.next >= this.skip;
  }

  async run(send: () => Promise<void>): Promise<void> {
    if (this.pending) {
      await send();
      const position: FilePosition = { file: this.file, sha256: this.sha256, units: this.next + 1 };
      await this.context.checkpoint?.commit(position);
    }
    this.next++;
  }
}

/** Streams the rows: valid ones in chunks on raw.dept, failing ones as dead letters with file and line. */
async function sendRows(
  context: DeliveryContext,
  units: FileUnits,
  path: string,
  file: string,
  deliveryId: string,
  known: KnownResource,
  deliveredAt: string,
): Promise<{ rows: number; valid: number }> {
  const { config, stats } = context;
  const code = known.resource.resource_code;
  const column = config.resource.from === 'column' ? config.resource.column : undefined;
  // Everything but lines and records is the same in each chunk of the file: serialized once.
  const prefix = JSON.stringify({
    kind: 'records',
    deliveryId,
    resourceCode: code,
    adcode: known.resource.region_code,
    deliveredAt,
    file,
  }).slice(0, -1);
  let records: string[] = [];
  let lines: number[] = [];
  let bytes = 0;
  let deadLetters: PendingDeadLetter[] = [];
  let rows = 0;
  let valid = 0;
  const flush = async () => {
    const chunk = records;
    const chunkLines = lines;
    const letters = deadLetters;
    records = [];
    lines = [];
    deadLetters = [];
    bytes = 0;
    await units.run(async () => {
      for (const letter of letters)
        await context.sender.deadLetter(
          'dept',
          { key: code, value: letter.raw },
          letter.reason,
          letter.message,
          `${file}:${letter.line}`,
        );
      if (chunk.length > 0) {
        const value = `${prefix},"lines":[${chunkLines.join(',')}],"records":[${chunk.join(',')}]}`;
        await context.sender.send('dept', [{ key: code, value }], [file]);
      }
    });
    valid += chunk.length;
    stats.rows_sent += chunk.length;
    stats.rows_dead_lettered += letters.length;
  };
  for await (const row of readRows(path, config.read, file)) {
    rows++;
    if (row.problem) {
      deadLetters.push({
        line: row.line,
        reason: row.problem.kind,
        message: row.problem.message,
        raw: row.problem.raw ?? '',
      });
    } else {
      const problem = rowProblem(row.values, known, column, code);
      if (problem) deadLetters.push({ line: row.line, raw: JSON.stringify(row.values), ...problem });
      else {
        const json = JSON.stringify(row.values);
        records.push(json);
        lines.push(row.line);
        // UTF-16 length × 3 bounds the UTF-8 bytes without encoding (Chinese text is 3 bytes a character).
        bytes += json.length * 3;
      }
    }
    if (
      records.length >= config.chunk_records ||
      bytes >= config.chunk_bytes ||
      deadLetters.length >= config.chunk_records
    )
      await flush();
  }
  if (records.length > 0 || deadLetters.length > 0) await flush();
  return { rows, valid };
}

function rowProblem(
  values: Record<string, FileValue>,
  known: KnownResource,
  column: string | undefined,
  code: string,
): { reason: string; message: string } | undefined {
  if (column !== undefined && values[column] !== code)
    return {
      reason: 'invalid',
      message: `${column}: names resource ${JSON.stringify(values[column])}, the file's is ${code}`,
    };
  const problem = deptRecordProblem(values, 'record', known.fields, false);
  if (!problem) return undefined;
  return { reason: problem.reason_code, message: problem.issues.map((i) => `${i.path}: ${i.message}`).join('; ') };
}

async function sendDelivery(context: DeliveryContext, message: Record<string, unknown>): Promise<void> {
  const value = JSON.stringify({ kind: 'delivery', ...message });
  await context.sender.send('dept', [{ key: message.resourceCode as string, value }], [message.file as string]);
  context.log.info(
    {
      file: message.file,
      resource: message.resourceCode,
      delivery_id: message.deliveryId,
      rows: message.records,
      valid: message.valid,
      problem: message.problem ?? null,
      ...(message.redelivery_of ? { redelivery_of: message.redelivery_of } : {}),
    },
    'dept file',
  );
}

/** The whole file as one connector dead letter: its reason and its head (decoded in the declared encoding). */
async function deadLetterFile(
  context: DeliveryContext,
  path: string,
  file: string,
  key: string,
  reason: string,
  why: string,
): Promise<void> {
  const head = await readHead(path, CONNECTOR_DEAD_LETTER_RAW_LIMIT + 1);
  const encoding = context.config.read.encoding;
  // GBK text shown as UTF-8 would be mojibake in the dead letter: decode it as declared, replacing what does not fit.
  const value =
    encoding === 'utf8' || context.config.read.format === 'xlsx' ? head : new TextDecoder('gb18030').decode(head);
  await context.sender.deadLetter('dept', { key, value }, reason, why, file);
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The resource code in `column` of the first row (the file's resource, when the rule is `column`). */
async function resourceInColumn(
  path: string,
  file: string,
  config: DeptFilesConnectorConfig,
  column: string,
): Promise<string | undefined> {
  for await (const row of readRows(path, config.read, file)) {
    if (!row.values) continue;
    const value = row.values[column];
    return typeof value === 'string' && value !== '' ? value : undefined;
  }
  return undefined;
}

/** A required declared field without its column (csv/xlsx): every row would fail, so the file is a problem. */
function missingColumn(
  inspection: FileInspection,
  fields: readonly CompiledField[] | undefined,
): { kind: string; message: string } | undefined {
  if (!inspection.columns || !fields) return undefined;
  const present = new Set(inspection.columns);
  const missing = fields.filter((f) => f.field.required && !present.has(f.field.name)).map((f) => f.field.name);
  if (missing.length === 0) return undefined;
  return {
    kind: 'missing_column',
    message: `required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not in the header (${inspection.columns.join(', ')})`,
  };
}

function describeProblem(inspection: FileInspection): string {
  const p = inspection.problem!;
  const where = p.line !== undefined ? ` (line ${p.line})` : p.byte !== undefined ? ` (byte ${p.byte})` : '';
  return `${p.message}${where}`;
}

function describeRule(config: DeptFilesConnectorConfig): string {
  const rule = config.resource;
  switch (rule.from) {
    case 'file_name':
      return `the file name (pattern ${rule.pattern})`;
    case 'folder':
      return 'the folder name (the file must lie in a sub-folder named after its resource)';
    case 'column':
      return `column ${rule.column} of the first row`;
    case 'fixed':
      return 'the configuration';
  }
}
