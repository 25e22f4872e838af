/**
 * Retention per dataset (config `lake.retention`): day folders older than their dataset's number of days before
 * today (Asia/Shanghai; today is not counted) are removed with their manifests. Nothing else is: a dataset without a
 * retention keeps every day, and a file a flush journal names is left to the pipeline's crash recovery (it goes at
 * a later run).
 */
import { type DayFolder, daysBefore } from './compact-plan.js';
import { type DayRef, manifestFolder } from './manifest.js';
import type { LakeStore } from './store.js';

/** The retention (in days) of a day folder: its dataset's, or `_dlq`'s for dead letters. */
function retentionOf(retention: ReadonlyMap<string, number>, folder: string): number | undefined {
  return retention.get(folder.startsWith('_dlq/') ? '_dlq' : folder);
}

/** The day folders past their retention on `today`: `days` kept before today, older ones expired. */
export function expiredDays(
  folders: readonly DayFolder[],
  retention: ReadonlyMap<string, number>,
  today: string,
): DayFolder[] {
  return folders.filter((folder) => {
    const days = retentionOf(retention, folder.folder);
    return days !== undefined && folder.day < daysBefore(today, days);
  });
}

export interface DayRemoved extends DayRef {
  /** Files removed (journal-named files excepted). */
  files: number;
  /** Files left for the pipeline's crash recovery (named by a flush journal). */
  kept: number;
}

/**
 * Removes an expired day folder's manifests, then its files. In that order a crash in between leaves files without
 * manifests, which the next run removes as expired, rather than manifests no listing of day folders would find.
 */
export async function removeExpiredDay(
  store: LakeStore,
  folder: DayFolder,
  journalListed: ReadonlySet<string>,
): Promise<DayRemoved> {
  for (const manifest of await store.listWork(manifestFolder(folder))) await store.remove(manifest);
  let files = 0;
  let kept = 0;
  for (const path of folder.files) {
    if (journalListed.has(path)) {
      kept++;
      continue;
    }
    await store.remove(path);
    files++;
  }
  return { folder: folder.folder, day: folder.day, files, kept };
}
