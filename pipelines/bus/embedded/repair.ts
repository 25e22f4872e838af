/**
 * `cityhub bus repair --partition TOPIC/N`: takes the first damage of one partition out of the log so the bus opens
 * again, without deleting anything and without ever handing an offset out twice.
 *
 * The bytes from the bad frame to the end of its segment, and every later segment, are copied into a quarantine
 * file beside the partition (`<topic>/<N>.quarantine-<first offset>.log`, frames as they were) and fsynced; the gap
 * is recorded in `<partition>/gaps.json`; only then is the segment cut and are the later ones unlinked. A crash in
 * between leaves the damage in place, and running the repair again redoes the same steps. The partition continues
 * at an offset past every offset the moved bytes held or could have held: the highest offset of a record in any
 * sound frame in them + 1, and no less than their first offset + their size / 17 (every record takes at least
 * MIN_BYTES_PER_OFFSET bytes), so a consumer or lake file that saw one of those offsets never meets it again with
 * other content.
 */
import fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EmbeddedBusArgumentError, EmbeddedTopicNotFoundError } from './errors.js';
import { offsetsFitting, soundFramesAfter } from './frame-scan.js';
import { fsyncDir } from './fs-util.js';
import { appendFloor, readGaps, recordGap } from './gaps.js';
import { DirLock } from './lock.js';
import { segmentFileName } from './segment.js';
import { Topic } from './topic.js';
import { type LogFinding, partitionLayout, verifyPartition } from './verify.js';

export interface RepairResult {
  /** What was repaired. */
  finding: LogFinding;
  /** Offsets [from, to) are now a recorded gap; the next append gets `to` or more. */
  from: number;
  to: number;
  /** Quarantine file (absolute), undefined when nothing had to move (a lost segment). */
  quarantine: string | undefined;
  movedBytes: number;
  soundFramesMoved: number;
}

interface Piece {
  file: string;
  from: number;
  size: number;
  /** Lowest offset a sound frame in this piece may carry. */
  minOffset: number;
}

/** Repairs the first damage of `topic`/`partition` under `busDir`; undefined when it has none (torn tails aside). */
export async function repairPartition(
  busDir: string,
  topic: string,
  partition: number,
  now: Date = new Date(),
): Promise<RepairResult | undefined> {
  const meta = await Topic.readMeta(join(busDir, topic));
  if (!meta) throw new EmbeddedTopicNotFoundError(topic);
  if (!Number.isInteger(partition) || partition < 0 || partition >= meta.partitions) {
    throw new EmbeddedBusArgumentError('partition', partition, `0 to ${meta.partitions - 1} for topic ${topic}`);
  }
  const dir = join(busDir, topic, String(partition));
  // The hub must not append while bytes move.
  const lock = DirLock.acquire(busDir);
  try {
    const finding = (await verifyPartition(topic, partition, dir)).find((f) => f.kind !== 'torn-tail');
    if (!finding) return undefined;
    const gaps = await readGaps(dir);
    if (finding.kind === 'missing') {
      // The lost segment's offsets are bounded by the next segment's base: record the hole, move nothing.
      const to = Number(basename(finding.file).slice(0, 20));
      await recordGap(dir, {
        from: finding.firstOffset,
        to,
        quarantine: '',
        soundFrames: 0,
        repairedAt: now.toISOString(),
      });
      return { finding, from: finding.firstOffset, to, quarantine: undefined, movedBytes: 0, soundFramesMoved: 0 };
    }
    const { bases } = await partitionLayout(dir);
    const pieces: Piece[] = [
      {
        file: finding.file,
        from: finding.position,
        size: fs.statSync(finding.file).size - finding.position,
        minOffset: finding.firstOffset,
      },
    ];
    for (const base of bases) {
      const file = join(dir, segmentFileName(base));
      if (base > finding.firstOffset && file > finding.file) {
        pieces.push({ file, from: 0, size: fs.statSync(file).size, minOffset: base });
      }
    }
    let to = Math.max(appendFloor(gaps), finding.firstOffset + 1);
    let soundFrames = 0;
    for (const piece of pieces) {
      to = Math.max(to, piece.minOffset + offsetsFitting(piece.size));
      const handle = await fs.promises.open(piece.file, 'r');
      try {
        const sound = await soundFramesAfter(handle.fd, piece.from, piece.from + piece.size, piece.minOffset);
        soundFrames += sound.count;
        if (sound.maxOffset !== undefined) to = Math.max(to, sound.maxOffset + 1);
      } finally {
        await handle.close();
      }
    }
    const quarantine = join(dirname(dir), `${partition}.quarantine-${finding.firstOffset}.log`);
    const movedBytes = await copyPieces(pieces, quarantine);
    await recordGap(dir, {
      from: finding.firstOffset,
      to,
      quarantine: basename(quarantine),
      soundFrames,
      repairedAt: now.toISOString(),
    });
    const cut = await fs.promises.open(finding.file, 'r+');
    try {
      await cut.truncate(finding.position);
      await cut.datasync();
    } finally {
      await cut.close();
    }
    for (const piece of pieces.slice(1)) await fs.promises.unlink(piece.file);
    await fsyncDir(dir);
    return { finding, from: finding.firstOffset, to, quarantine, movedBytes, soundFramesMoved: soundFrames };
  } finally {
    lock.release();
  }
}

/** Copies the pieces, in order, into `target` and makes it durable. */
async function copyPieces(pieces: Piece[], target: string): Promise<number> {
  const out = await fs.promises.open(target, 'w');
  let written = 0;
  try {
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    for (const piece of pieces) {
      const source = await fs.promises.open(piece.file, 'r');
      try {
        for (let at = piece.from; at < piece.from + piece.size; ) {
          const { bytesRead } = await source.read(chunk, 0, Math.min(chunk.length, piece.from + piece.size - at), at);
          if (bytesRead === 0) break;
          await out.write(chunk, 0, bytesRead);
          at += bytesRead;
          written += bytesRead;
        }
      } finally {
        await source.close();
      }
    }
    await out.sync();
  } finally {
    await out.close();
  }
  await fsyncDir(dirname(target));
  return written;
}
