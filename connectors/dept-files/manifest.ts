import { type FileHandle, mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CheckpointFile } from '../checkpoint.js';

/** What identifies a file at its source without reading it: its name, size and modification time (or ETag). */
export interface FileStamp {
  /** Path relative to the drop folder, or the S3 key. */
  name: string;
  size: number;
  mtimeMs: number;
  /** S3 ETag; absent for folder files. */
  etag?: string;
}

interface TakenFile {
  size: number;
  mtime_ms: number;
  etag?: string;
  sha256: string;
  /** Absent when the file delivered no resource (unknown_resource). */
  delivery_id?: string;
}

export interface DeliveredBytes {
  /** The first delivery of these bytes; later ones are `<delivery_id>-r<n>`. */
  delivery_id: string;
  /** How many later deliveries of these bytes there were. */
  redeliveries: number;
  /** The last delivery failed part-way (changed_during_read): the bytes were never delivered whole. */
  incomplete?: true;
  /** The delivery that delivered them whole, when it is not the first one (the first failed part-way). */
  complete_id?: string;
}

/** What a file's delivery came to, for its content's record. */
export type DeliveryOutcome = 'complete' | 'incomplete' | 'redelivery';

interface StoredManifest {
  version: 1;
  /** name → the file last taken under that name. */
  files: Record<string, TakenFile>;
  /** `<resource>:<sha256>` → the delivery those bytes made. */
  deliveries: Record<string, DeliveredBytes>;
}

/** One line of the journal: the new state of one file and of the content it delivered (absolute, so replays are idempotent). */
interface JournalEntry {
  name: string;
  file: TakenFile;
  delivery?: { key: string; bytes: DeliveredBytes };
}

/**
 * The once-only record of a dept-files connector: every file taken (name, size, mtime, sha256, delivery id) and
 * every delivered content. A file with the same stamp as one taken is the same file seen again (a crash before the
 * move to done/, or `move_done: false`) and is passed over without being read; the same bytes under another stamp
 * are a re-delivery.
 *
 * Kept as a snapshot (`manifest.json`, tmp + fsync + rename) and a journal beside it (`manifest.json.journal`): each
 * taken file is one JSON line appended and fsynced, so recording a file costs one small write whatever the number of
 * files before it. Opening replays the journal over the snapshot (a torn last line, from a crash mid-append, was never
 * acknowledged and is dropped), writes the result as the new snapshot, then removes the journal.
 */
export class DeliveryManifest {
  private journal: FileHandle | undefined;
  /** Journal lines of files staged, not yet written. */
  private readonly staged: string[] = [];

  private constructor(
    private readonly journalPath: string,
    private readonly stored: StoredManifest,
  ) {}

  static async open(path: string): Promise<DeliveryManifest> {
    const snapshot = new CheckpointFile<StoredManifest>(path);
    const stored = (await snapshot.read()) ?? {
      version: 1,
      files: Object.create(null),
      deliveries: Object.create(null),
    };
    // Plain JSON objects: a file named __proto__ must be a key like any other.
    stored.files = Object.assign(Object.create(null), stored.files);
    stored.deliveries = Object.assign(Object.create(null), stored.deliveries);
    const manifest = new DeliveryManifest(`${path}.journal`, stored);
    if (await manifest.replayJournal()) {
      await snapshot.write(stored);
      await rm(manifest.journalPath, { force: true });
    }
    return manifest;
  }

  /** True when exactly this file (same name, size, mtime and ETag) was taken before. */
  isTaken(stamp: FileStamp): boolean {
    const taken = this.stored.files[stamp.name];
    return (
      taken !== undefined && taken.size === stamp.size && taken.mtime_ms === stamp.mtimeMs && taken.etag === stamp.etag
    );
  }

  /** The delivery these bytes of this resource made before, if any. */
  deliveryOf(resourceCode: string, sha256: string): DeliveredBytes | undefined {
    return this.stored.deliveries[`${resourceCode}:${sha256}`];
  }

  /** Records a taken file (and, when it delivered, its content) durably: one journal line, fsynced. */
  async record(
    stamp: FileStamp,
    sha256: string,
    delivery?: { resourceCode: string; deliveryId: string; outcome: DeliveryOutcome },
  ): Promise<void> {
    this.stage(stamp, sha256, delivery);
    await this.flush();
  }

  /**
   * Records a taken file in memory at once (a file after it with the same bytes is its re-delivery) and in the
   * journal at the next flush(), which the caller runs once the file's sends are acknowledged.
   */
  stage(
    stamp: FileStamp,
    sha256: string,
    delivery?: { resourceCode: string; deliveryId: string; outcome: DeliveryOutcome },
  ): void {
    const entry: JournalEntry = {
      name: stamp.name,
      file: {
        size: stamp.size,
        mtime_ms: stamp.mtimeMs,
        ...(stamp.etag !== undefined ? { etag: stamp.etag } : {}),
        sha256,
        ...(delivery ? { delivery_id: delivery.deliveryId } : {}),
      },
    };
    if (delivery) {
      const key = `${delivery.resourceCode}:${sha256}`;
      entry.delivery = { key, bytes: contentAfter(this.stored.deliveries[key], delivery.deliveryId, delivery.outcome) };
    }
    apply(this.stored, entry);
    this.staged.push(JSON.stringify(entry));
  }

  /** Makes the staged records durable: one append of their lines, one fsync. */
  async flush(): Promise<void> {
    if (this.staged.length === 0) return;
    if (!this.journal) {
      await mkdir(dirname(this.journalPath), { recursive: true });
      this.journal = await open(this.journalPath, 'a');
    }
    const lines = `${this.staged.join('\n')}\n`;
    this.staged.length = 0;
    await this.journal.write(lines);
    await this.journal.sync();
  }

  async close(): Promise<void> {
    await this.journal?.close();
    this.journal = undefined;
  }

  /** Applies the journal's whole lines to the snapshot read; true when there was a journal. */
  private async replayJournal(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.journalPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const lines = text.split('\n');
    // The last element is '' after a whole last line, or the torn tail of an append the crash interrupted.
    for (let i = 0; i < lines.length - 1; i++) apply(this.stored, JSON.parse(lines[i]!) as JournalEntry);
    return true;
  }
}

function contentAfter(prior: DeliveredBytes | undefined, deliveryId: string, outcome: DeliveryOutcome): DeliveredBytes {
  if (!prior)
    return { delivery_id: deliveryId, redeliveries: 0, ...(outcome === 'incomplete' ? { incomplete: true } : {}) };
  const { incomplete: _, ...rest } = prior;
  const next = { ...rest, redeliveries: prior.redeliveries + 1 };
  if (outcome === 'complete') return { ...next, complete_id: deliveryId };
  if (outcome === 'incomplete') return { ...next, incomplete: true };
  return { ...next, ...(prior.incomplete ? { incomplete: true as const } : {}) };
}

function apply(stored: StoredManifest, entry: JournalEntry): void {
  stored.files[entry.name] = entry.file;
  if (entry.delivery) stored.deliveries[entry.delivery.key] = entry.delivery.bytes;
}
