/**
 * Which lake day folders a compaction looks at, from one listing of the lake: `<dataset>/dt=<day>/` and
 * `_dlq/<feed>/dt=<day>/`, each with the Parquet files it held when listed.
 */
import { JOURNAL_DIR, readFlushJournal } from './flush-journal.js';
import { type DayRef, dayPath, isCompactedFileName } from './manifest.js';
import type { LakeStore } from './store.js';

export interface DayFolder extends DayRef {
  /** Lake-relative paths of its Parquet files, sorted (in-flight `.tmp` files excluded). */
  files: string[];
}

const dayFolder = /^dt=(\d{4}-\d{2}-\d{2})$/;

/** `sensor_reading` or `_dlq/sensor` and the day of a lake-relative path, when it is a file of a day folder. */
function dayOf(path: string): (DayRef & { name: string }) | undefined {
  const parts = path.split('/');
  let folder: string;
  if (parts.length === 3 && !parts[0]!.startsWith('_') && !parts[0]!.startsWith('.')) folder = parts[0]!;
  else if (parts.length === 4 && parts[0] === '_dlq') folder = `_dlq/${parts[1]}`;
  else return undefined;
  const match = dayFolder.exec(parts.at(-2)!);
  return match ? { folder, day: match[1]!, name: parts.at(-1)! } : undefined;
}

/** The lake's day folders in a listing (store.list()), in path order. */
export function dayFolders(listing: readonly string[]): DayFolder[] {
  const byPath = new Map<string, DayFolder>();
  for (const path of listing) {
    if (!path.endsWith('.parquet')) continue;
    const at = dayOf(path);
    if (!at) continue;
    const key = dayPath(at);
    let folder = byPath.get(key);
    if (!folder) {
      folder = { folder: at.folder, day: at.day, files: [] };
      byPath.set(key, folder);
    }
    folder.files.push(path);
  }
  const folders = [...byPath.values()].sort((a, b) => compare(dayPath(a), dayPath(b)));
  for (const folder of folders) folder.files.sort(compare);
  return folders;
}

/** Staged output of a compaction that never committed (a crash while DuckDB wrote it): the next run removes it. */
export function abandonedCompactionOutput(listing: readonly string[]): string[] {
  return listing.filter((path) => {
    if (!path.endsWith('.parquet.tmp')) return false;
    const at = dayOf(path.slice(0, -'.tmp'.length));
    return at !== undefined && isCompactedFileName(at.name);
  });
}

/**
 * Every file any flush journal names (docs/lake.md): its offsets may not be committed, and the pipeline's crash
 * recovery may remove it and land it again, so compaction and retention leave it alone. Read before and after the
 * listing a compaction works from (compact.ts).
 */
export async function journalListedFiles(store: LakeStore): Promise<Set<string>> {
  const listed = new Set<string>();
  for (const path of await store.listWork(JOURNAL_DIR)) {
    if (!path.endsWith('.json')) continue;
    const journal = await readFlushJournal(store, path);
    if (journal === undefined) continue; // committed and cleared since the listing
    if (Array.isArray(journal.files)) for (const file of journal.files) listed.add(String(file));
  }
  return listed;
}

/** The day `days` days before `day` (YYYY-MM-DD). */
export function daysBefore(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - days)).toISOString().slice(0, 10);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
