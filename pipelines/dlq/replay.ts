/**
 * `cityhub dlq replay`: re-submits dead letters after a mapping or catalog fix, exactly once.
 *
 * The copy appended is the dead letters' own bus message (its exact bytes, key and headers: personal data was masked
 * before the bus, and a dead letter's stored payload is scrubbed and bounded, so it could not be replayed faithfully),
 * read back from the bus at its coordinates, plus two headers naming the replay. A message part of which landed is
 * replayed only where its records can be picked out without the rest (a departmental record chunk: only the dead
 * lines); otherwise the landed part would land twice, so it is skipped with that reason.
 *
 * Exactly once: a pending record (what is about to be appended, and where the raw topics ended) is written before the
 * first append and replaced by the replay's record after the last; an interrupted replay is finished from the bus
 * (the copies carry the replay's id) before anything else, and a replayed message is never selected again.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { Feed } from '../../connectors/types.js';
import { feeds, rawTopic } from '../../connectors/types.js';
import type { Bus, BusMessage, MessageHeaders } from '../bus/types.js';
import { CityhubError } from '../errors.js';
import { generationTag, parseDataFileName } from '../land/layout.js';
import { compactionManifest, isCompactedFileName, manifestPath } from '../land/manifest.js';
import type { LakeStore } from '../land/store.js';
import {
  type PendingReplay,
  pendingPath,
  REPLAY_ID_HEADER,
  REPLAY_OF_HEADER,
  type ReplayedMessage,
  type ReplayRecord,
  readPendingReplays,
  readReplayRecords,
  recordPath,
  replayedKeys,
} from './ledger.js';
import { type DeadLetterFilter, filterClause, filterParams, openDeadLetters, selectRows } from './read.js';

/** A dead letter as replay sees it: where its message is on the bus, and which record of it (when one). */
interface DeadLetterRef {
  feed: string;
  reasonCode: string;
  records: number;
  line: number | undefined;
  /** Rows of its message that landed (undefined in dead letters written before the lake recorded it). */
  messageRows: number | undefined;
  topic: string;
  partition: number;
  offset: number;
  /** The lake file it is in (its name carries the bus generation, or a compaction manifest does). */
  file: string;
  /** Whether the filter chose it (the other dead letters of a chosen message are read too). */
  selected: boolean;
}

export interface ReplayOptions {
  bus: Bus;
  store: LakeStore;
  lakeDir: string;
  filter: DeadLetterFilter;
  /** Only these messages (`<topic>:<partition>:<offset>`, ids from `dlq ls`). */
  ids?: readonly string[];
  /** Plan only: read and decide, append and record nothing. */
  dryRun?: boolean;
  now?: () => Date;
}

export interface ReplayOutcome {
  replayId: string | undefined;
  messages: ReplayedMessage[];
  /** Dead letters the filter chose that earlier replays had re-submitted already. */
  alreadyReplayed: number;
  /** Interrupted replays finished from the bus before this one. */
  recovered: ReplayRecord[];
  /** A dry run's note: interrupted replays the next real one finishes first (what they appended is not chosen then). */
  pending: string[];
}

/** The bus could not take a replayed copy: nothing after it was appended, the record says what was. */
export class ReplayAppendError extends CityhubError {}

/** What a replay appends for one message: its own key and headers, its value (or the chosen records of it). */
interface Copy {
  topic: string;
  key: string | null;
  value: Buffer;
  headers: MessageHeaders;
}

function copyOf(original: BusMessage, value: Buffer): Copy {
  return { topic: original.topic, key: original.key, value, headers: original.headers };
}

const messageIdOf = (topic: string, partition: number, offset: number) => `${topic}:${partition}:${offset}`;

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayOutcome> {
  const { bus, store } = options;
  const now = options.now ?? (() => new Date());
  const generation = bus.generation;
  const recovered = options.dryRun ? [] : await recoverReplays(bus, store, now);
  const replayed = replayedKeys(await readReplayRecords(store), generation);
  const deadLetters = await readCandidates(options.lakeDir, options.filter, options.ids);
  const generations = await generationsOfFiles(
    store,
    options.lakeDir,
    deadLetters.map((d) => d.file),
  );
  const tag = generationTag(generation);
  const byMessage = new Map<string, DeadLetterRef[]>();
  for (const deadLetter of deadLetters) {
    const id = messageIdOf(deadLetter.topic, deadLetter.partition, deadLetter.offset);
    // Offsets restart in a new bus: a dead letter of another generation is not this bus's message at that offset.
    const at = generations(deadLetter);
    const key = at === tag ? id : `${id}@${at ?? 'unknown'}`;
    const group = byMessage.get(key) ?? [];
    group.push(deadLetter);
    byMessage.set(key, group);
  }

  let alreadyReplayed = 0;
  const planned: { message: ReplayedMessage; copy?: Copy }[] = [];
  for (const [key, group] of byMessage) {
    const first = group[0]!;
    const of = messageIdOf(first.topic, first.partition, first.offset);
    const isReplayed = (d: DeadLetterRef) =>
      replayed.has(of) || (d.line !== undefined && replayed.has(`${of}#${d.line}`));
    const chosen = group.filter((d) => d.selected && !isReplayed(d));
    alreadyReplayed += group.filter((d) => d.selected && isReplayed(d)).length;
    if (chosen.length === 0) continue;
    const message: ReplayedMessage = {
      of,
      feed: first.feed,
      reason_codes: [...new Set(chosen.map((d) => d.reasonCode))].sort(),
      records: chosen.reduce((n, d) => n + d.records, 0),
      as: null,
    };
    const skip = (why: string) => planned.push({ message: { ...message, skipped: why } });
    if (key !== of) {
      skip(
        `from another bus than this one (generation ${key.slice(key.lastIndexOf('@') + 1)}): its offsets name other messages`,
      );
      continue;
    }
    if (!first.topic.startsWith('raw.')) {
      skip('a connector dead letter (the source could not be read or sent): there is no raw message to replay');
      continue;
    }
    if (chosen.every((d) => d.reasonCode === 'duplicate')) {
      skip('duplicates are not replayed: a record with the same natural key landed');
      continue;
    }
    if (group.some((d) => d.reasonCode === 'writer_rejected')) {
      skip(
        'the lake writer refused a row of it (a bug to report, not a mapping to fix); other rows of it may have landed',
      );
      continue;
    }
    const original = await readMessage(bus, first.topic, first.partition, first.offset);
    if (original === undefined) {
      skip('the bus no longer holds the message (topics.retention_ms / retention_bytes)');
      continue;
    }
    // Nothing of the message landed: it goes again whole (every dead letter of it says so; dead letters written
    // before the lake recorded it are trusted when they stand for the whole message).
    const untouched = !group.some((d) => d.reasonCode === 'duplicate' || isReplayed(d));
    const noneLanded = group.every((d) => (d.messageRows === undefined ? d.line === undefined : d.messageRows === 0));
    if (untouched && noneLanded) {
      const lines = [...new Set(group.flatMap((d) => (d.line === undefined ? [] : [d.line])))].sort((a, b) => a - b);
      planned.push({
        message: lines.length > 0 ? { ...message, lines } : message,
        copy: copyOf(original, original.value),
      });
      continue;
    }
    // Some of it landed: only a departmental record chunk's records can go without the rest.
    const chunk = recordChunk(original.value);
    const lines = [
      ...new Set(group.filter((d) => !isReplayed(d) && d.reasonCode !== 'duplicate').flatMap((d) => d.line ?? [])),
    ].sort((a, b) => a - b);
    if (chunk !== undefined && lines.length > 0 && group.every((d) => d.line !== undefined)) {
      planned.push({ message: { ...message, lines }, copy: copyOf(original, filteredChunk(chunk, new Set(lines))) });
      continue;
    }
    skip('part of this message landed and its records cannot be replayed apart from it (they would land twice)');
  }
  planned.sort((a, b) => compareIds(a.message.of, b.message.of));

  const messages = planned.map((p) => p.message);
  if (options.dryRun || planned.every((p) => p.copy === undefined)) {
    const replayId = options.dryRun ? undefined : await recordSkipsOnly(store, generation, messages, now);
    const pending = options.dryRun ? (await readPendingReplays(store)).map((p) => p.replay_id) : [];
    return { replayId, messages, alreadyReplayed, recovered, pending };
  }

  const replayId = newReplayId(now());
  const startedAt = now().toISOString();
  const watermarks = await rawWatermarks(bus);
  const pending: PendingReplay = {
    version: 1,
    replay_id: replayId,
    started_at: startedAt,
    bus_generation: generation,
    watermarks,
    messages,
  };
  await store.writeSmall(pendingPath(replayId), JSON.stringify(pending));
  const producer = bus.producer();
  try {
    for (const { message, copy } of planned) {
      if (copy === undefined) continue;
      const headers: Record<string, string> = { ...copy.headers };
      headers[REPLAY_OF_HEADER] = message.of;
      headers[REPLAY_ID_HEADER] = replayId;
      let result: Awaited<ReturnType<typeof producer.send>>;
      try {
        result = await producer.send(copy.topic, [{ key: copy.key, value: copy.value, headers }]);
      } catch (error) {
        throw new ReplayAppendError(
          `appending the copy of ${message.of} failed: ${error instanceof Error ? error.message : String(error)}. What was appended before it is recorded by the next \`cityhub dlq replay\` (pending record ${pendingPath(replayId)})`,
          { cause: error },
        );
      }
      const at = result[0]!;
      message.as = messageIdOf(at.topic, at.partition, at.baseOffset);
    }
  } finally {
    await producer.close();
  }
  const record: ReplayRecord = {
    version: 1,
    replay_id: replayId,
    started_at: startedAt,
    finished_at: now().toISOString(),
    bus_generation: generation,
    recovered: false,
    messages,
  };
  await store.writeSmall(recordPath(replayId), JSON.stringify(record));
  await store.remove(pendingPath(replayId));
  return { replayId, messages, alreadyReplayed, recovered, pending: [] };
}

/**
 * Finishes replays interrupted between their first append and their record: every copy on the bus carrying the
 * replay's id is recorded as replayed; what it had not appended yet is selected again by the next replay.
 */
export async function recoverReplays(
  bus: Bus,
  store: LakeStore,
  now: () => Date = () => new Date(),
): Promise<ReplayRecord[]> {
  const recovered: ReplayRecord[] = [];
  for (const pending of await readPendingReplays(store)) {
    const appended = new Map<string, string>();
    if (pending.bus_generation === bus.generation) {
      for (const { topic, partition, offset } of pending.watermarks) {
        let next = offset;
        for (;;) {
          const { messages, nextOffset } = await bus.read({ topic, partition }, next, 1_000);
          for (const m of messages) {
            if (m.headers[REPLAY_ID_HEADER] === pending.replay_id && m.headers[REPLAY_OF_HEADER] !== undefined)
              appended.set(m.headers[REPLAY_OF_HEADER]!, messageIdOf(m.topic, m.partition, m.offset));
          }
          if (messages.length === 0 || nextOffset <= next) break;
          next = nextOffset;
        }
      }
    }
    const record: ReplayRecord = {
      version: 1,
      replay_id: pending.replay_id,
      started_at: pending.started_at,
      finished_at: now().toISOString(),
      bus_generation: pending.bus_generation,
      recovered: true,
      messages: pending.messages
        .filter((m) => appended.has(m.of) || m.skipped !== undefined)
        .map((m) => ({ ...m, as: appended.get(m.of) ?? null })),
    };
    await store.writeSmall(recordPath(pending.replay_id), JSON.stringify(record));
    await store.remove(pendingPath(pending.replay_id));
    recovered.push(record);
  }
  return recovered;
}

/** A replay that appended nothing still records what it skipped and why. */
async function recordSkipsOnly(
  store: LakeStore,
  generation: string,
  messages: ReplayedMessage[],
  now: () => Date,
): Promise<string | undefined> {
  if (messages.length === 0) return undefined;
  const replayId = newReplayId(now());
  const at = now().toISOString();
  const record: ReplayRecord = {
    version: 1,
    replay_id: replayId,
    started_at: at,
    finished_at: at,
    bus_generation: generation,
    recovered: false,
    messages,
  };
  await store.writeSmall(recordPath(replayId), JSON.stringify(record));
  return replayId;
}

/** Sortable by time, unique across processes: `replay-20261203T171500Z-1a2b3c4d`. */
function newReplayId(at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `replay-${stamp}-${randomBytes(4).toString('hex')}`;
}

function parseId(id: string): [string, number, number] {
  const m = /^(.+):(\d+):(\d+)$/.exec(id)!;
  return [m[1]!, Number(m[2]), Number(m[3])];
}

function compareIds(a: string, b: string): number {
  const [ta, pa, oa] = parseId(a);
  const [tb, pb, ob] = parseId(b);
  return ta < tb ? -1 : ta > tb ? 1 : pa - pb || oa - ob;
}

async function readMessage(
  bus: Bus,
  topic: string,
  partition: number,
  offset: number,
): Promise<BusMessage | undefined> {
  const { messages } = await bus.read({ topic, partition }, offset, 1);
  const message = messages[0];
  return message?.offset === offset ? message : undefined;
}

async function rawWatermarks(bus: Bus): Promise<PendingReplay['watermarks']> {
  const watermarks: PendingReplay['watermarks'] = [];
  for (const feed of feeds) {
    const topic = rawTopic(feed as Feed);
    for (const { partition, highWatermark } of await bus.describe(topic))
      watermarks.push({ topic, partition, offset: highWatermark });
  }
  return watermarks;
}

/** The dead letters the filter chooses, and every other dead letter of their messages. */
async function readCandidates(
  lakeDir: string,
  filter: DeadLetterFilter,
  ids: readonly string[] | undefined,
): Promise<DeadLetterRef[]> {
  const reader = await openDeadLetters(lakeDir);
  try {
    const idList = ids === undefined || ids.length === 0 ? null : JSON.stringify(ids);
    const chosen = `(${filterClause}) and ($ids is null or list_contains(cast(json($ids) as varchar[]), _topic || ':' || _partition || ':' || _offset))`;
    const { rows } = await selectRows(
      reader.connection,
      `with all_letters as (select *, ${chosen} as selected from ${reader.source})
       select feed, reason_code, records, coordinates, _topic, _partition, _offset, filename, selected
       from all_letters
       where _topic || ':' || _partition || ':' || _offset in
         (select _topic || ':' || _partition || ':' || _offset from all_letters where selected)`,
      { ...filterParams(filter), ids: idList },
    );
    return rows.map((r) => ({
      feed: String(r[0]),
      reasonCode: String(r[1]),
      records: Number(r[2] ?? 1),
      line: coordinate(r[3], 'line'),
      messageRows: coordinate(r[3], 'message_rows'),
      topic: String(r[4]),
      partition: Number(r[5]),
      offset: Number(r[6]),
      file: String(r[7]),
      selected: r[8] === true,
    }));
  } finally {
    reader.close();
  }
}

function coordinate(coordinates: unknown, key: 'line' | 'message_rows'): number | undefined {
  if (typeof coordinates !== 'string') return undefined;
  try {
    const value = (JSON.parse(coordinates) as Record<string, unknown>)[key];
    return typeof value === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The bus generation tag of each dead letter's file: in a landed file's name, or for a compacted file in its
 * manifest's entry for the original file holding that offset. Undefined when the lake does not say.
 */
async function generationsOfFiles(
  store: LakeStore,
  lakeDir: string,
  files: readonly string[],
): Promise<(d: DeadLetterRef) => string | undefined> {
  const manifests = new Map<string, ReturnType<typeof compactionManifest.parse> | undefined>();
  for (const file of new Set(files)) {
    const name = basename(file);
    if (!isCompactedFileName(name)) continue;
    const folder = file.slice(lakeDir.length + 1).split(/[\\/]/);
    // _dlq/<feed>/dt=<day>/<name>
    const day = folder[2]?.startsWith('dt=') ? folder[2].slice(3) : undefined;
    if (day === undefined) continue;
    const text = await store.readSmall(manifestPath({ folder: `_dlq/${folder[1]}`, day }, name));
    manifests.set(file, text === undefined ? undefined : compactionManifest.parse(JSON.parse(text)));
  }
  return (d) => {
    const name = basename(d.file);
    if (!isCompactedFileName(name)) return parseDataFileName(name)?.generation;
    const entry = manifests
      .get(d.file)
      ?.files.find(
        (f) =>
          f.topic === d.topic &&
          f.partition === d.partition &&
          (f.first_offset ?? Number.POSITIVE_INFINITY) <= d.offset &&
          d.offset <= (f.last_offset ?? -1),
      );
    return entry?.generation;
  };
}

interface RecordChunk {
  payload: Record<string, unknown>;
  records: unknown[];
  lines: unknown[];
}

/** A departmental record chunk (`kind: records`, each record with its file line): its records can go apart. */
function recordChunk(value: Buffer): RecordChunk | undefined {
  const payload = parseObject(value);
  if (payload === undefined || payload.kind !== 'records') return undefined;
  if (!Array.isArray(payload.records) || !Array.isArray(payload.lines)) return undefined;
  if (payload.records.length !== payload.lines.length) return undefined;
  return { payload, records: payload.records, lines: payload.lines };
}

/** The chunk with only the records of the given lines (each keeps its file line). */
function filteredChunk(chunk: RecordChunk, lines: ReadonlySet<number>): Buffer {
  const records: unknown[] = [];
  const kept: unknown[] = [];
  for (let i = 0; i < chunk.records.length; i++) {
    if (typeof chunk.lines[i] === 'number' && lines.has(chunk.lines[i] as number)) {
      records.push(chunk.records[i]);
      kept.push(chunk.lines[i]);
    }
  }
  return Buffer.from(JSON.stringify({ ...chunk.payload, records, lines: kept }));
}

function parseObject(value: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
