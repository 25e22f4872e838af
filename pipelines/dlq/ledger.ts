/**
 * The record of dead-letter replays, kept in the lake beside the dead letters (docs/lake.md "Dead letters"):
 * `_replays/<replay id>.json` lists every bus message a replay re-submitted (the dead letters' message and the copy it
 * appended) and every one it skipped with why. While a replay appends, `_replays/_pending/<replay id>.json` says what
 * it is about to append and where the raw topics ended before it: a replay interrupted between its appends and its
 * record is finished from the bus itself (the copies carry the replay's id), so no message is ever appended twice.
 */
import { z } from 'zod';
import type { LakeStore } from '../land/store.js';

export { REPLAY_ID_HEADER, REPLAY_OF_HEADER } from '../bus/headers.js';

export const REPLAYS_DIR = '_replays';
const PENDING_DIR = `${REPLAYS_DIR}/_pending`;

const messageId = z.string().regex(/^.+:\d+:\d+$/);

export const replayedMessage = z.object({
  of: messageId.describe('the message the dead letters came from, <topic>:<partition>:<offset>'),
  feed: z.string(),
  reason_codes: z.array(z.string()),
  records: z.number().int().nonnegative().describe('source records of the dead letters replayed'),
  lines: z.array(z.number().int()).optional().describe('the records replayed, when only some of the message'),
  as: messageId.nullable().describe('the copy appended to the bus; null when skipped'),
  skipped: z.string().optional().describe('why it was not replayed'),
});
export type ReplayedMessage = z.infer<typeof replayedMessage>;

export const replayRecord = z.object({
  version: z.literal(1),
  replay_id: z.string(),
  started_at: z.iso.datetime(),
  finished_at: z.iso.datetime(),
  bus_generation: z.string(),
  /** True when this record was completed from the bus after the replay that appended was interrupted. */
  recovered: z.boolean(),
  messages: z.array(replayedMessage),
});
export type ReplayRecord = z.infer<typeof replayRecord>;

export const pendingReplay = z.object({
  version: z.literal(1),
  replay_id: z.string(),
  started_at: z.iso.datetime(),
  bus_generation: z.string(),
  /** High watermark of every raw-topic partition before the first append: the copies are at or after these. */
  watermarks: z.array(z.object({ topic: z.string(), partition: z.number().int(), offset: z.number().int() })),
  messages: z.array(replayedMessage),
});
export type PendingReplay = z.infer<typeof pendingReplay>;

export function recordPath(replayId: string): string {
  return `${REPLAYS_DIR}/${replayId}.json`;
}

export function pendingPath(replayId: string): string {
  return `${PENDING_DIR}/${replayId}.json`;
}

/** Every finished replay's record, oldest first (ids sort by time). */
export async function readReplayRecords(store: LakeStore): Promise<ReplayRecord[]> {
  const paths = (await store.listWork(REPLAYS_DIR))
    .filter((p) => p.endsWith('.json') && !p.startsWith(`${PENDING_DIR}/`))
    .sort();
  const records: ReplayRecord[] = [];
  for (const path of paths) {
    const text = await store.readSmall(path);
    if (text !== undefined) records.push(replayRecord.parse(JSON.parse(text)));
  }
  return records;
}

export async function readPendingReplays(store: LakeStore): Promise<PendingReplay[]> {
  const paths = (await store.listWork(PENDING_DIR)).filter((p) => p.endsWith('.json')).sort();
  const pending: PendingReplay[] = [];
  for (const path of paths) {
    const text = await store.readSmall(path);
    if (text !== undefined) pending.push(pendingReplay.parse(JSON.parse(text)));
  }
  return pending;
}

/**
 * What finished replays of this bus generation re-submitted: keys `<of>` (a whole message) and `<of>#<line>` (one
 * record of it) → the copy appended. Offsets restart in a new bus, so another generation's replays never count.
 */
export function replayedKeys(records: readonly ReplayRecord[], busGeneration: string): Map<string, string> {
  const replayed = new Map<string, string>();
  for (const record of records) {
    if (record.bus_generation !== busGeneration) continue;
    for (const message of record.messages) {
      if (message.as === null) continue;
      if (message.lines === undefined) replayed.set(message.of, message.as);
      else for (const line of message.lines) replayed.set(`${message.of}#${line}`, message.as);
    }
  }
  return replayed;
}
