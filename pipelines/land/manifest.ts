/**
 * Compaction manifests (docs/lake.md "Compaction"): the record of which landed files a compacted file holds, so the
 * file-to-offset traceability of the landed names survives their merge.
 *
 * `_manifests/<folder>/dt=<day>/<compacted name>.json` lists every original landed file of the compacted file with its
 * bus coordinates, rows and bytes, flattened through earlier compactions of the same day. A compaction in progress
 * also has a pending record, `_manifests/_pending/<folder>/dt=<day>/<compacted name>.json`, naming what it replaces:
 * it is the only thing recovery must look at, so a build pays one listing of an (almost always) empty folder.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CompactionManifestError } from './compact-errors.js';
import type { LakeStore } from './store.js';

export const MANIFESTS_DIR = '_manifests';
export const PENDING_DIR = `${MANIFESTS_DIR}/_pending`;
const COMPACTED_PREFIX = 'compacted~';

/** A lake day folder: `<folder>/dt=<day>/`, folder being a dataset (`sensor_reading`) or `_dlq/<feed>`. */
export interface DayRef {
  folder: string;
  day: string;
}

export function dayPath({ folder, day }: DayRef): string {
  return `${folder}/dt=${day}`;
}

/**
 * The name of the file a compaction of `sources` (lake-relative paths) writes: a pure function of what it merges,
 * which never parses as a landed name (layout.ts) and sorts apart from them (before `dlq.…` and `raw.…`).
 */
export function compactedFileName(sources: readonly string[]): string {
  const digest = createHash('sha256')
    .update([...sources].sort().join('\n'))
    .digest('hex');
  return `${COMPACTED_PREFIX}${digest.slice(0, 16)}.parquet`;
}

export function isCompactedFileName(name: string): boolean {
  return name.startsWith(COMPACTED_PREFIX) && name.endsWith('.parquet');
}

export function manifestPath(day: DayRef, compactedName: string): string {
  return `${MANIFESTS_DIR}/${dayPath(day)}/${compactedName}.json`;
}

export function pendingPath(day: DayRef, compactedName: string): string {
  return `${PENDING_DIR}/${dayPath(day)}/${compactedName}.json`;
}

/** The manifest folder of a day (retention removes it with the day). */
export function manifestFolder(day: DayRef): string {
  return `${MANIFESTS_DIR}/${dayPath(day)}`;
}

const originalFile = z.object({
  name: z.string().describe('the landed file name (docs/lake.md)'),
  topic: z.string().optional(),
  partition: z.number().int().optional(),
  first_offset: z.number().int().optional(),
  last_offset: z.number().int().optional(),
  generation: z.string().optional().describe('bus generation tag; absent in lakes written before generations'),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});
export type OriginalFile = z.infer<typeof originalFile>;

export const compactionManifest = z.object({
  version: z.literal(1),
  folder: z.string().describe('dataset folder, or _dlq/<feed>'),
  dt: z.string(),
  compacted: z.string().describe('file name of the compacted file in the day folder'),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  compacted_at: z.iso.datetime(),
  sources: z.array(z.string()).describe('the files this compaction replaced (landed files, an earlier compacted file)'),
  files: z.array(originalFile).describe('every original landed file whose rows the compacted file holds'),
});
export type CompactionManifest = z.infer<typeof compactionManifest>;

export const pendingCompaction = z.object({
  compacted: z.string().describe('lake-relative path of the compacted file'),
  manifest: z.string(),
  sources: z.array(z.string()).describe('lake-relative paths of the files it replaces'),
  replaced_manifests: z.array(z.string()).describe('manifests of compacted sources, removed with them'),
  started_at: z.iso.datetime(),
});
export type PendingCompaction = z.infer<typeof pendingCompaction>;

async function readJson<T>(store: LakeStore, path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const text = await store.readSmall(path);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CompactionManifestError(path, `not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new CompactionManifestError(path, z.prettifyError(parsed.error));
  return parsed.data;
}

export function readManifest(store: LakeStore, path: string): Promise<CompactionManifest | undefined> {
  return readJson(store, path, compactionManifest);
}

export function readPending(store: LakeStore, path: string): Promise<PendingCompaction | undefined> {
  return readJson(store, path, pendingCompaction);
}

/** Written durably (store.writeSmall): a reader finds the whole manifest or none. */
export async function writeJson(store: LakeStore, path: string, value: CompactionManifest | PendingCompaction) {
  await store.writeSmall(path, `${JSON.stringify(value, null, 1)}\n`);
}
