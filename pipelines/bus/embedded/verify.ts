/**
 * Read-only check of a log folder for `cityhub bus verify`: every segment of every partition, frame by frame,
 * and the offsets between segments. It does not take the folder's lock, so a running hub can be checked (a write in
 * progress shows as a torn tail, which is a note, not a problem).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { scanSegment, soundFramesAfter } from './frame-scan.js';
import { gapCovers, readGaps } from './gaps.js';
import { GROUPS_DIR } from './group-store.js';
import { parseSegmentFileName, segmentFileName } from './segment.js';
import { Topic } from './topic.js';

export interface LogFinding {
  topic: string;
  partition: number;
  file: string;
  /** Byte position in `file` where the damage starts. */
  position: number;
  reason: string;
  /** First offset the damage may hold. */
  firstOffset: number;
  /** Highest offset of a sound frame past the damage in the same file (undefined: none). */
  lastSoundOffset: number | undefined;
  soundFramesAfter: number;
  /**
   * 'damage': acknowledged records may be on both sides, open refuses the partition; 'missing': offsets between
   * segments are absent (a lost file); 'torn-tail': nothing sound follows in the last segment, open truncates it.
   */
  kind: 'damage' | 'missing' | 'torn-tail';
}

export interface PartitionLayout {
  dir: string;
  /** Segment base offsets, ascending; trailing empty segments a crashed roll left are not counted (open drops them). */
  bases: number[];
}

export async function partitionLayout(dir: string): Promise<PartitionLayout> {
  const bases = (await fs.promises.readdir(dir))
    .map(parseSegmentFileName)
    .filter((base): base is number => base !== undefined)
    .sort((a, b) => a - b);
  while (bases.length > 1 && fs.statSync(join(dir, segmentFileName(bases.at(-1)!))).size === 0) bases.pop();
  return { dir, bases };
}

/** Findings of one partition, in log order. */
export async function verifyPartition(topic: string, partition: number, dir: string): Promise<LogFinding[]> {
  const { bases } = await partitionLayout(dir);
  const gaps = await readGaps(dir);
  const findings: LogFinding[] = [];
  let previousEnd: number | undefined;
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const file = join(dir, segmentFileName(base));
    if (previousEnd !== undefined && previousEnd !== base && !gapCovers(gaps, previousEnd, base)) {
      findings.push({
        topic,
        partition,
        file,
        position: 0,
        reason: `segment starts at offset ${base} but the previous one ends at ${previousEnd}`,
        firstOffset: previousEnd,
        lastSoundOffset: undefined,
        soundFramesAfter: 0,
        kind: 'missing',
      });
    }
    const handle = await fs.promises.open(file, 'r');
    try {
      const size = (await handle.stat()).size;
      const scan = await scanSegment(handle.fd, size, base);
      previousEnd = scan.nextOffset;
      if (scan.bad === undefined) continue;
      const after = await soundFramesAfter(handle.fd, scan.end + 1, size, scan.nextOffset);
      const torn = i === bases.length - 1 && after.count === 0;
      findings.push({
        topic,
        partition,
        file,
        position: scan.end,
        reason: scan.bad,
        firstOffset: scan.nextOffset,
        lastSoundOffset: after.maxOffset,
        soundFramesAfter: after.count,
        kind: torn ? 'torn-tail' : 'damage',
      });
      // Past damage the segment's own offsets are unknown: the next segment's base is the only anchor.
      if (!torn) previousEnd = undefined;
    } finally {
      await handle.close();
    }
  }
  return findings;
}

export interface LogVerification {
  partitions: number;
  segments: number;
  findings: LogFinding[];
}

/** Checks every partition of every topic under `busDir`. */
export async function verifyLog(busDir: string): Promise<LogVerification> {
  const result: LogVerification = { partitions: 0, segments: 0, findings: [] };
  const entries = await fs.promises.readdir(busDir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === GROUPS_DIR) continue;
    const meta = await Topic.readMeta(join(busDir, entry.name));
    if (!meta) continue;
    for (let partition = 0; partition < meta.partitions; partition++) {
      const dir = join(busDir, entry.name, String(partition));
      if (!fs.existsSync(dir)) continue;
      result.partitions++;
      result.segments += (await partitionLayout(dir)).bases.length;
      result.findings.push(...(await verifyPartition(entry.name, partition, dir)));
    }
  }
  return result;
}
