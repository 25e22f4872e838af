/**
 * Finishing or undoing compactions a crash interrupted. A compaction writes its pending record and manifest, commits
 * the compacted file, removes its sources and only then its pending record (compact-day.ts), so a pending record
 * left behind says exactly where it stopped:
 * - its compacted file exists: it was committed and holds every row of its sources (checked before the commit), so
 *   the sources still present (and the manifests of compacted sources) are removed — rolled forward;
 * - its compacted file does not exist: nothing was replaced, the sources are intact; its manifest goes — rolled back.
 * Run holding the models build lock (build-lock.ts), before anything reads the lake's day folders: at the start of
 * every compaction and of every models build.
 */
import { PENDING_DIR, readPending } from './manifest.js';
import type { LakeStore } from './store.js';

export interface RecoveryResult {
  /** Interrupted after their commit: sources removed now. */
  rolledForward: number;
  /** Interrupted before their commit: manifest removed, sources kept. */
  rolledBack: number;
}

export async function recoverCompactions(store: LakeStore): Promise<RecoveryResult> {
  const result: RecoveryResult = { rolledForward: 0, rolledBack: 0 };
  const pending = (await store.listWork(PENDING_DIR)).filter((path) => path.endsWith('.json'));
  if (pending.length === 0) return result;
  // Only after a crash: one listing of the lake tells which compacted files were committed.
  const present = new Set(await store.list());
  for (const path of pending) {
    const record = await readPending(store, path);
    if (record) {
      if (present.has(record.compacted)) {
        for (const source of record.sources) if (present.has(source)) await store.remove(source);
        for (const manifest of record.replaced_manifests) await store.remove(manifest);
        result.rolledForward++;
      } else {
        await store.remove(record.manifest);
        await store.remove(`${record.compacted}.tmp`);
        result.rolledBack++;
      }
    }
    await store.remove(path);
  }
  return result;
}
