import type { ProduceMessage } from '../../pipelines/bus/types.js';
import type { BusSender, DeadLetterInput } from '../send.js';
import type { DeliveryManifest } from './manifest.js';

/** A file's last sends (its last chunk, its delivery message, their dead letters) and what follows their acknowledgement. */
export interface FinalUnit {
  file: string;
  letters: DeadLetterInput[];
  messages: ProduceMessage[];
  /** Counted and logged once the sends are acknowledged and the manifest holds the file. */
  acknowledged(): void;
  /** Acknowledges the file at its source (moves it to done/), last. */
  done?(): Promise<void>;
}

/** Files whose last sends share one bus send at most; a larger batch only delays the first acknowledgement. */
const BATCH_FILES = 64;

/**
 * The last sends of several small files, sent together: one send of dead letters, one of raw messages (a file's last
 * chunk before its delivery message, files in the order taken), one manifest append and fsync. For a folder of small
 * deliveries this is what makes the per-file cost small. The manifest stages each file when it is added (a later file
 * with the same bytes is its re-delivery) and writes them once the sends are acknowledged. Nothing needs to be
 * committed in between: a crash re-sends the batch and the source checkpoint drops what the bus already holds.
 */
export class FinalBatch {
  private units: FinalUnit[] = [];
  private bytes = 0;

  constructor(
    private readonly sender: BusSender,
    private readonly manifest: DeliveryManifest,
    /** Flush once the raw messages reach this many bytes (the connector's chunk_bytes). */
    private readonly maxBytes: number,
  ) {}

  /** Adds a file's last unit; sends the batch once it is full. */
  async add(unit: FinalUnit): Promise<void> {
    this.units.push(unit);
    for (const m of unit.messages) this.bytes += m.value.length;
    if (this.units.length >= BATCH_FILES || this.bytes >= this.maxBytes) await this.flush();
  }

  /** Sends what is batched, records it in the manifest, then acknowledges the files at their source. */
  async flush(): Promise<void> {
    if (this.units.length === 0) return;
    const units = this.units;
    this.units = [];
    this.bytes = 0;
    const letters: DeadLetterInput[] = [];
    const messages: ProduceMessage[] = [];
    const refs: string[] = [];
    for (const unit of units) {
      for (const letter of unit.letters) letters.push(letter);
      for (const message of unit.messages) {
        messages.push(message);
        refs.push(unit.file);
      }
    }
    await this.sender.deadLetters('dept', letters);
    if (messages.length > 0) await this.sender.send('dept', messages, refs);
    // Durable before any file leaves its folder: from here on the files are taken, whatever happens next.
    await this.manifest.flush();
    for (const unit of units) unit.acknowledged();
    for (const unit of units) await unit.done?.();
  }
}
