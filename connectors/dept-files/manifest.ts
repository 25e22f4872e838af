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

interface DeliveredBytes {
  delivery_id: string;
  redeliveries: number;
}

interface StoredManifest {
  version: 1;
  /** name → the file last taken under that name. */
  files: Record<string, TakenFile>;
  /** `<resource>:<sha256>` → the delivery those bytes made. */
  deliveries: Record<string, DeliveredBytes>;
}

/**
 * The once-only record of a dept-files connector: every file taken (name, size, mtime, sha256, delivery id) and
 * every delivered content, written durably (tmp + fsync + rename) after the file's delivery message was
 * acknowledged. A file with the same stamp as one taken is the same file seen again (a crash before the move to
 * done/, or `move_done: false`) and is passed over without being read; the same bytes under another stamp are a
 * re-delivery.
 */
export class DeliveryManifest {
  private constructor(
    private readonly file: CheckpointFile<StoredManifest>,
    private readonly stored: StoredManifest,
  ) {}

  static async open(path: string): Promise<DeliveryManifest> {
    const file = new CheckpointFile<StoredManifest>(path);
    const stored = (await file.read()) ?? { version: 1, files: Object.create(null), deliveries: Object.create(null) };
    // Plain JSON objects: a file named __proto__ must be a key like any other.
    stored.files = Object.assign(Object.create(null), stored.files);
    stored.deliveries = Object.assign(Object.create(null), stored.deliveries);
    return new DeliveryManifest(file, stored);
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

  /** Records a taken file (and, when it delivered, its content) durably. */
  async record(
    stamp: FileStamp,
    sha256: string,
    delivery?: { resourceCode: string; deliveryId: string; redelivery: boolean },
  ): Promise<void> {
    this.stored.files[stamp.name] = {
      size: stamp.size,
      mtime_ms: stamp.mtimeMs,
      ...(stamp.etag !== undefined ? { etag: stamp.etag } : {}),
      sha256,
      ...(delivery ? { delivery_id: delivery.deliveryId } : {}),
    };
    if (delivery) {
      const key = `${delivery.resourceCode}:${sha256}`;
      const prior = this.stored.deliveries[key];
      if (prior && delivery.redelivery) prior.redeliveries++;
      else if (!prior) this.stored.deliveries[key] = { delivery_id: delivery.deliveryId, redeliveries: 0 };
    }
    await this.file.write(this.stored);
  }
}
