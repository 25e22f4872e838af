/**
 * `<partition>/gaps.json`: offset ranges a repair moved aside. Offsets are never handed out twice (the lake names
 * files by them), so after a repair the partition continues past every offset the moved bytes could have held, and
 * the hole between is recorded here: recovery accepts exactly these holes between segments (any other is a lost
 * segment), and the partition never appends below the highest `to`.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import { EmbeddedLogCorruptError } from './errors.js';
import { isErrno, writeFileAtomic } from './fs-util.js';

export const GAPS_FILE = 'gaps.json';

// Checked by hand like topic.json: the log's modules stay free of dependencies (the crash test runs them as plain JS).
export interface OffsetGap {
  /** First offset moved aside (the damaged frame's, or the end of the segment before a lost one). */
  from: number;
  /** Where the partition continues: past every offset the moved bytes held or could have held. */
  to: number;
  /** The quarantine file holding the moved bytes, relative to the topic folder ('' when nothing was moved). */
  quarantine: string;
  /** Sound frames found in the moved bytes. */
  soundFrames: number;
  repairedAt: string;
}

function parseGap(value: unknown): OffsetGap {
  const gap = value as Partial<OffsetGap> | null;
  const offset = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!gap || !offset(gap.from) || !offset(gap.to) || gap.to! < gap.from! || !offset(gap.soundFrames)) {
    throw new Error(`bad gap ${JSON.stringify(value)}`);
  }
  if (typeof gap.quarantine !== 'string' || typeof gap.repairedAt !== 'string') {
    throw new Error(`bad gap ${JSON.stringify(value)}`);
  }
  return gap as OffsetGap;
}

export async function readGaps(partitionDir: string): Promise<OffsetGap[]> {
  const file = join(partitionDir, GAPS_FILE);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as { version?: unknown; gaps?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.gaps)) throw new Error('expected { version: 1, gaps: [...] }');
    return parsed.gaps.map(parseGap);
  } catch (err) {
    throw new EmbeddedLogCorruptError(file, 0, `unreadable gap record: ${String(err)}`);
  }
}

/** Adds `gap` (replacing one with the same `from`: a repair run again after a crash), durably. */
export async function recordGap(partitionDir: string, gap: OffsetGap): Promise<void> {
  const gaps = (await readGaps(partitionDir)).filter((g) => g.from !== gap.from);
  gaps.push(gap);
  gaps.sort((a, b) => a.from - b.from);
  const content = `${JSON.stringify({ version: 1, gaps }, null, 2)}\n`;
  await writeFileAtomic(join(partitionDir, GAPS_FILE), content, true);
}

/** Whether the offsets [from, to) lie inside one recorded gap. */
export function gapCovers(gaps: readonly OffsetGap[], from: number, to: number): boolean {
  return gaps.some((gap) => gap.from <= from && to <= gap.to);
}

/** The lowest offset the partition may append at (0 without gaps). */
export function appendFloor(gaps: readonly OffsetGap[]): number {
  let floor = 0;
  for (const gap of gaps) if (gap.to > floor) floor = gap.to;
  return floor;
}
