/**
 * One delivered file → messages on the bus (docs/feeds.md "dept"): record chunks on `raw.dept`, each row that
 * fails as a connector dead letter on `dlq.dept` (file + line), then one delivery message summing the file up. A
 * file with a file-level problem sends no row: one dead letter holding its head, and its delivery with the problem.
 *
 * Every unit of sends but the last (a full chunk with the dead letters of its rows) is followed by a checkpoint commit
 * naming the file, its checksum and how many units are acknowledged, so a restart resumes the file after them. The
 * last unit (the last chunk and the delivery message) is not: it joins those of other files in one bus send
 * (final-batch.ts), the manifest records the files, and the connector commits every few files (connector.ts).
 * Whatever was sent since the last commit is re-sent identically after a crash (deterministic ids and chunk
 * boundaries) and the source checkpoint drops what the bus already holds, so a file that fits in one chunk costs a
 * share of one raw send and one manifest append, and no commit of its own.
 */
import { stat } from 'node:fs/promises';
import { TextDecoder } from 'node:util';
import type { Logger } from 'pino';
import type { ProduceMessage } from '../../pipelines/bus/types.js';
import { CONNECTOR_DEAD_LETTER_RAW_LIMIT } from '../../pipelines/normalize/connector-dead-letter.js';
import { deptRecordProblem } from '../../pipelines/normalize/mappings/dept.js';
import type { CompiledField } from '../../pipelines/normalize/resource-fields.js';
import { scrubPersonalText } from '../../pipelines/privacy/personal-text.js';
import type { DataResource } from '../../schemas/index.js';
import { readHead } from '../files.js';
import type { BusSender, DeadLetterInput } from '../send.js';
import type { SourceCheckpoint } from '../source-checkpoint.js';
import type { DeptFilesConnectorConfig } from './config.js';
import type { FinalBatch, FinalUnit } from './final-batch.js';
import type { DeliveryManifest, FileStamp } from './manifest.js';
import type { DeliveryNaming } from './naming.js';
import { type FileInspection, FileProblemError, type FileValue, inspectFile, readRows } from './read/index.js';

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
  /** Last sends of files waiting to share a bus send. */
  batch: FinalBatch;
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
  /** Reading failed part-way: the rows sent stay, the content does not count as delivered. */
  incomplete?: true;
}

/** Longest resource code kept whole in a delivery id (ids are at most 64 characters, `-r<n>` included). */
const ID_RESOURCE_CHARS = 40;

/** Deterministic: the same bytes of the same resource always get the same id, so a re-sent message is identical. */
export function deliveryIdOf(resourceCode: string, sha256: string): string {
  return resourceCode.length <= ID_RESOURCE_CHARS
    ? `${resourceCode}-${sha256.slice(0, 16)}`
    : `D-${sha256.slice(0, 32)}`;
}

/** Rows read and not sent yet: the records of the next chunk and the dead letters of its failing rows. */
interface PendingRows {
  records: string[];
  lines: number[];
  /** Upper bound of the records' UTF-8 bytes. */
  bytes: number;
  letters: DeadLetterInput[];
}

/** What reading a file's rows came to: rows sent (as records or dead letters), what is left to send, or a failure. */
interface RowsRead {
  /** Rows in the chunks sent so far, and of them the valid ones. */
  rows: number;
  valid: number;
  /** The last chunk, sent with the delivery message. */
  tail: PendingRows;
  /** Reading failed part-way: the tail is dropped, the rows sent stay. */
  failure?: { kind: string; message: string };
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
  done?: () => Promise<void>,
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
    manifest.stage(stamp, sha);
    await context.batch.add({
      file: stamp.name,
      letters: [await fileLetter(context, path, stamp.name, code ?? stamp.name, 'unknown_resource', why)],
      messages: [],
      acknowledged: () => {
        stats.files_with_problems++;
        context.log.warn(
          { file: scrubPersonalText(stamp.name), resource: code ?? null, problem: 'unknown_resource', why },
          'dept file',
        );
      },
      ...(done ? { done } : {}),
    });
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
  let last: Pick<FinalUnit, 'letters' | 'messages' | 'acknowledged'>;
  if (prior && !prior.incomplete) {
    const deliveryId = `${prior.delivery_id}-r${prior.redeliveries + 1}`;
    const redeliveryOf = prior.complete_id ?? prior.delivery_id;
    const delivery = { deliveryId, ...header, records: 0, valid: 0, redelivery_of: redeliveryOf };
    last = {
      letters: [],
      messages: [deliveryMessage(delivery)],
      acknowledged: () => {
        stats.files_redelivered++;
        logDelivery(context, delivery);
      },
    };
    outcome = { deliveryId, redeliveryOf };
  } else {
    // Bytes whose last delivery failed part-way are delivered whole, under the next id of that content.
    const deliveryId = prior
      ? `${prior.delivery_id}-r${prior.redeliveries + 1}`
      : deliveryIdOf(resource.resource_code, sha);
    const problem = inspection.problem
      ? { kind: inspection.problem.kind, message: describeProblem(inspection) }
      : missingColumn(inspection, known.fields);
    const read: RowsRead = problem
      ? { rows: 0, valid: 0, tail: emptyRows(), failure: problem }
      : await sendRows(context, units, path, stamp, deliveryId, known, header.deliveredAt);
    if (read.failure) {
      const { kind, message } = read.failure;
      // The rows already sent stay; the delivery says what went wrong and counts only what landed.
      const delivery = { deliveryId, ...header, records: read.rows, valid: read.valid, problem: `${kind}: ${message}` };
      last = {
        letters: [await fileLetter(context, path, stamp.name, resource.resource_code, kind, message)],
        messages: [deliveryMessage(delivery)],
        acknowledged: () => {
          stats.files_with_problems++;
          logDelivery(context, delivery);
        },
      };
      outcome = { deliveryId, problem: kind, ...(problem ? {} : { incomplete: true as const }) };
    } else {
      const { tail } = read;
      const delivery = {
        deliveryId,
        ...header,
        records: read.rows + tail.records.length + tail.letters.length,
        valid: read.valid + tail.records.length,
      };
      const chunk = tail.records.length > 0 ? [chunkMessage(known, tail, deliveryId, header)] : [];
      last = {
        letters: tail.letters,
        messages: [...chunk, deliveryMessage(delivery)],
        acknowledged: () => {
          stats.rows_sent += tail.records.length;
          stats.rows_dead_lettered += tail.letters.length;
          stats.files_delivered++;
          logDelivery(context, delivery);
        },
      };
      outcome = { deliveryId };
    }
  }
  manifest.stage(stamp, sha, {
    resourceCode: resource.resource_code,
    deliveryId: outcome.deliveryId!,
    outcome: outcome.redeliveryOf !== undefined ? 'redelivery' : outcome.incomplete ? 'incomplete' : 'complete',
  });
  // The last unit is never skipped on a resume (no commit covers it) and never committed: the manifest records it.
  await context.batch.add({ file: stamp.name, ...last, ...(done ? { done } : {}) });
  return outcome;
}

/**
 * Numbers the units of a file's sends and commits after each but the last; units acknowledged before a restart are
 * skipped.
 */
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
      // Files batched before this one go first: their manifest records must be durable before a commit.
      await this.context.batch.flush();
      await send();
      const position: FilePosition = { file: this.file, sha256: this.sha256, units: this.next + 1 };
      await this.context.checkpoint?.commit(position);
    }
    this.next++;
  }
}

function emptyRows(): PendingRows {
  return { records: [], lines: [], bytes: 0, letters: [] };
}

/** Everything but lines and records is the same in each chunk of a file: serialized once per file. */
function chunkPrefix(known: KnownResource, deliveryId: string, deliveredAt: string, file: string): string {
  return JSON.stringify({
    kind: 'records',
    deliveryId,
    resourceCode: known.resource.resource_code,
    adcode: known.resource.region_code,
    deliveredAt,
    file,
  }).slice(0, -1);
}

function chunkValue(prefix: string, rows: PendingRows): string {
  return `${prefix},"lines":[${rows.lines.join(',')}],"records":[${rows.records.join(',')}]}`;
}

function chunkMessage(
  known: KnownResource,
  rows: PendingRows,
  deliveryId: string,
  header: { deliveredAt: string; file: string },
): ProduceMessage {
  const prefix = chunkPrefix(known, deliveryId, header.deliveredAt, header.file);
  return { key: known.resource.resource_code, value: chunkValue(prefix, rows) };
}

/**
 * Streams the rows: valid ones in chunks on raw.dept, failing ones as dead letters with file and line, every full
 * chunk one unit. The last chunk is left to the caller (it goes with the delivery message). A reader failure
 * part-way (the file changed since it was inspected, or cannot be read any more) ends the reading with `failure`.
 */
async function sendRows(
  context: DeliveryContext,
  units: FileUnits,
  path: string,
  stamp: FileStamp,
  deliveryId: string,
  known: KnownResource,
  deliveredAt: string,
): Promise<RowsRead> {
  const { config, stats } = context;
  const file = stamp.name;
  const code = known.resource.resource_code;
  const column = config.resource.from === 'column' ? config.resource.column : undefined;
  const prefix = chunkPrefix(known, deliveryId, deliveredAt, file);
  let pending = emptyRows();
  let rows = 0;
  let valid = 0;
  const flush = async () => {
    const chunk = pending;
    pending = emptyRows();
    await units.run(async () => {
      await context.sender.deadLetters('dept', chunk.letters);
      if (chunk.records.length > 0)
        await context.sender.send('dept', [{ key: code, value: chunkValue(prefix, chunk) }], [file]);
    });
    rows += chunk.records.length + chunk.letters.length;
    valid += chunk.records.length;
    stats.rows_sent += chunk.records.length;
    stats.rows_dead_lettered += chunk.letters.length;
  };
  const reading = readRows(path, config.read, file)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Awaited<ReturnType<typeof reading.next>>['value']>;
    try {
      next = await reading.next();
    } catch (error) {
      return { rows, valid, tail: emptyRows(), failure: await readFailure(error, path, stamp) };
    }
    if (next.done) break;
    const row = next.value;
    if (row.problem) {
      pending.letters.push(
        rowLetter(code, file, row.line, row.problem.kind, row.problem.message, row.problem.raw ?? ''),
      );
    } else {
      const problem = rowProblem(row.values, known, column, code);
      if (problem)
        pending.letters.push(
          rowLetter(code, file, row.line, problem.reason, problem.message, JSON.stringify(row.values)),
        );
      else {
        const json = JSON.stringify(row.values);
        pending.records.push(json);
        pending.lines.push(row.line);
        // UTF-16 length × 3 bounds the UTF-8 bytes without encoding (Chinese text is 3 bytes a character).
        pending.bytes += json.length * 3;
      }
    }
    if (
      pending.records.length >= config.chunk_records ||
      pending.bytes >= config.chunk_bytes ||
      pending.letters.length >= config.chunk_records
    )
      await flush();
  }
  // A file cut short or rewritten while it was read can still parse to its end: only its stamp tells.
  if (await changedSince(path, stamp))
    return {
      rows,
      valid,
      tail: emptyRows(),
      failure: { kind: 'changed_during_read', message: 'the file changed while it was read (its size or mtime)' },
    };
  return { rows, valid, tail: pending };
}

function rowLetter(
  code: string,
  file: string,
  line: number,
  reason: string,
  explanation: string,
  raw: string,
): DeadLetterInput {
  return { message: { key: code, value: raw }, reason, explanation, sourceRef: `${file}:${line}` };
}

/**
 * Why reading stopped part-way. The file passed its inspection, so a file-level problem now means it changed since
 * (or vanished); one that did not change keeps the reader's own verdict.
 */
async function readFailure(error: unknown, path: string, stamp: FileStamp): Promise<{ kind: string; message: string }> {
  const what = error instanceof FileProblemError ? `${error.problem.kind}: ${error.problem.message}` : String(error);
  if (await changedSince(path, stamp))
    return { kind: 'changed_during_read', message: `the file changed while it was read (${what})` };
  if (error instanceof FileProblemError) return { kind: error.problem.kind, message: error.problem.message };
  return { kind: 'unreadable', message: `reading stopped part-way: ${error instanceof Error ? error.message : what}` };
}

async function changedSince(path: string, stamp: FileStamp): Promise<boolean> {
  try {
    const now = await stat(path);
    // An S3 spool copy has its own mtime; the object's size still tells.
    return now.size !== stamp.size || (stamp.etag === undefined && Math.trunc(now.mtimeMs) !== stamp.mtimeMs);
  } catch {
    return true;
  }
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

function deliveryMessage(message: Record<string, unknown> & { resourceCode: string }): ProduceMessage {
  return { key: message.resourceCode, value: JSON.stringify({ kind: 'delivery', ...message }) };
}

function logDelivery(context: DeliveryContext, message: Record<string, unknown>): void {
  context.log.info(
    {
      // A file name may hold a phone number; logs keep no clear personal data (as the send path's dead letters).
      file: typeof message.file === 'string' ? scrubPersonalText(message.file) : message.file,
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
async function fileLetter(
  context: DeliveryContext,
  path: string,
  file: string,
  key: string,
  reason: string,
  why: string,
): Promise<DeadLetterInput> {
  // A file that vanished while it was read has no head left to keep.
  const head = await readHead(path, CONNECTOR_DEAD_LETTER_RAW_LIMIT + 1).catch(() => Buffer.alloc(0));
  const encoding = context.config.read.encoding;
  // GBK text shown as UTF-8 would be mojibake in the dead letter: decode it as declared, replacing what does not fit.
  const value =
    encoding === 'utf8' || context.config.read.format === 'xlsx' ? head : new TextDecoder('gb18030').decode(head);
  return { message: { key, value }, reason, explanation: why, sourceRef: file };
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
