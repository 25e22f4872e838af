import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { InvalidHeadersError, MessageTooLargeError } from '../pipelines/bus/errors.js';
import type { Bus, BusProducer, MessageHeaders, ProduceMessage, ProduceResult } from '../pipelines/bus/types.js';
import { CheckpointFile } from './checkpoint.js';

/** What a checkpoint needs of the bus: where each partition ends, and what lies past a point. */
export type BusView = Pick<Bus, 'describe' | 'read'>;

/** Sends since the last commit: the bus ends they started from, and a fingerprint of every message given. */
interface PendingSends {
  /** topic → high watermark per partition, taken before the first of these sends. */
  from: Record<string, number[]>;
  fingerprints: string[];
}

interface StoredCheckpoint {
  position?: unknown;
  pending?: PendingSends;
}

/** Messages read per bus call while recovering; bounded so a long tail is never held at once. */
const RECOVERY_READ_MESSAGES = 5_000;

/**
 * A connector's durable cursor that makes its re-sent batch idempotent. A connector commits its position only after
 * the bus acknowledged everything before it, so a crash between that acknowledgement and the commit re-sends the
 * batch in flight: at-least-once, and the re-sent records would be dead-lettered as duplicates (or a broken message
 * dead-lettered twice). To close that window, every send goes through `guard()`, which first records durably where
 * each topic ended and a fingerprint of each message (topic, key, headers and value bytes, after masking). On the next start,
 * the messages past those ends whose fingerprints match form a skip list, and the guard drops their re-sends until
 * the connector's first commit: the first batch a connector sends after a restart is the one that was in flight,
 * since it resumes at its committed position. Only this connector's own messages are skipped (the fingerprints),
 * each as many times as it was both sent and found on the bus.
 *
 * Without a bus view (unit tests with a fake producer) it is a plain checkpoint: positions only.
 */
export class SourceCheckpoint {
  private pending: PendingSends | undefined;
  /** Fingerprint → how many more sends of it to drop. */
  private skip = new Map<string, number>();
  private skipLeft = 0;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: CheckpointFile<StoredCheckpoint>,
    private committed: unknown,
    private readonly bus: BusView | undefined,
    private readonly topics: readonly string[],
  ) {}

  /**
   * Reads the checkpoint at `path` and, when sends were in flight at the last stop, finds which of them the bus
   * holds. `topics` are those the connector may send to (their ends are recorded before a send).
   */
  static async open(
    path: string,
    options: { bus?: BusView; topics?: readonly string[]; log?: Logger } = {},
  ): Promise<SourceCheckpoint> {
    const file = new CheckpointFile<StoredCheckpoint>(path);
    const stored = await file.read();
    // A checkpoint from before this format is the bare position object.
    const isCurrent = stored !== undefined && ('position' in stored || 'pending' in stored);
    const checkpoint = new SourceCheckpoint(
      file,
      isCurrent ? stored.position : stored,
      options.bus,
      options.topics ?? [],
    );
    if (isCurrent && stored.pending && options.bus) {
      checkpoint.pending = stored.pending;
      await checkpoint.findResent(stored.pending, options.bus);
      if (checkpoint.skipLeft > 0)
        options.log?.info(
          { checkpoint: path, already_on_bus: checkpoint.skipLeft },
          'sends in flight at the last stop reached the bus; their re-sends will be skipped',
        );
    }
    return checkpoint;
  }

  /** The position last committed (undefined before the first commit). */
  get position(): unknown {
    return this.committed;
  }

  /** Messages of the interrupted sends still expected to be re-sent (and dropped then). */
  get resendsToSkip(): number {
    return this.skipLeft;
  }

  /**
   * Records `position` as done: every send before this call was acknowledged. Ends the recovery of an interrupted
   * batch: what was not re-sent by now is no longer expected.
   */
  async commit(position: unknown): Promise<void> {
    this.committed = position;
    this.pending = undefined;
    this.skip.clear();
    this.skipLeft = 0;
    await this.write({ position });
  }

  /** The producer a connector sends through: records each send before it happens, and drops known re-sends. */
  guard(producer: BusProducer): BusProducer {
    if (!this.bus) return producer;
    return {
      send: (topic, messages) => this.send(producer, topic, messages),
      close: () => producer.close(),
    };
  }

  private async send(producer: BusProducer, topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
    const fingerprints = messages.map((m) => fingerprint(topic, m.key ?? null, m.value, m.headers));
    let kept = messages;
    let keptIndexes: number[] | undefined;
    let dropped: Map<string, number> | undefined;
    if (this.skipLeft > 0) {
      dropped = new Map();
      kept = [];
      keptIndexes = [];
      for (let i = 0; i < messages.length; i++) {
        const fp = fingerprints[i]!;
        const used = dropped.get(fp) ?? 0;
        if (used < (this.skip.get(fp) ?? 0)) dropped.set(fp, used + 1);
        else {
          kept.push(messages[i]!);
          keptIndexes.push(i);
        }
      }
    }
    let results: ProduceResult[] = [];
    if (kept.length > 0) {
      await this.recordPending(keptIndexes ? keptIndexes.map((i) => fingerprints[i]!) : fingerprints);
      try {
        results = await producer.send(topic, kept);
      } catch (error) {
        // Positions in the error name the caller's messages, not the kept ones.
        if (error instanceof MessageTooLargeError && keptIndexes)
          throw new MessageTooLargeError(error.topic, keptIndexes[error.index]!, error.bytes, error.maxBytes);
        if (error instanceof InvalidHeadersError && keptIndexes)
          throw new InvalidHeadersError(error.topic, keptIndexes[error.index]!, error.header, error.reason);
        throw error;
      }
    }
    // Only a send that went through uses up its skips: a retried one must drop the same messages again.
    if (dropped) for (const [fp, n] of dropped) this.useSkip(fp, n);
    return results;
  }

  private useSkip(fp: string, n: number): void {
    const left = (this.skip.get(fp) ?? 0) - n;
    if (left > 0) this.skip.set(fp, left);
    else this.skip.delete(fp);
    this.skipLeft -= n;
  }

  /** Makes the coming send durable knowledge before it happens: the bus ends (once per commit) and its fingerprints. */
  private async recordPending(fingerprints: string[]): Promise<void> {
    if (!this.pending) {
      const from: Record<string, number[]> = {};
      for (const topic of this.topics) {
        const partitions = await this.bus!.describe(topic);
        from[topic] = partitions.map((p) => p.highWatermark);
      }
      this.pending = { from, fingerprints: [] };
    }
    for (const fp of fingerprints) this.pending.fingerprints.push(fp);
    await this.write({ position: this.committed, pending: this.pending });
  }

  /** Builds the skip list: messages past the recorded ends that are this connector's interrupted sends. */
  private async findResent(pending: PendingSends, bus: BusView): Promise<void> {
    const sent = new Map<string, number>();
    for (const fp of pending.fingerprints) sent.set(fp, (sent.get(fp) ?? 0) + 1);
    const found = new Map<string, number>();
    for (const [topic, ends] of Object.entries(pending.from)) {
      const now = await bus.describe(topic);
      for (const { partition, highWatermark } of now) {
        let offset = ends[partition] ?? 0;
        while (offset < highWatermark) {
          const { messages, nextOffset } = await bus.read({ topic, partition }, offset, RECOVERY_READ_MESSAGES);
          for (const m of messages) {
            const fp = fingerprint(topic, m.key, m.value, m.headers);
            if (sent.has(fp)) found.set(fp, (found.get(fp) ?? 0) + 1);
          }
          if (nextOffset <= offset) break; // nothing readable there any more (retention took it)
          offset = nextOffset;
        }
      }
    }
    for (const [fp, n] of found) {
      const skips = Math.min(n, sent.get(fp)!);
      this.skip.set(fp, skips);
      this.skipLeft += skips;
    }
  }

  /** Writes one after another: a commit never overtakes the pending record of a send before it. */
  private write(value: StoredCheckpoint): Promise<void> {
    const done = this.writing.then(() => this.file.write(value));
    this.writing = done.catch(() => {});
    return done;
  }
}

/**
 * 128 bits of SHA-256 over topic, key, headers and value: identical bytes on the bus give the identical fingerprint.
 * Headers are taken by name, whatever their order; a message without headers hashes as it did before headers
 * existed.
 */
function fingerprint(
  topic: string,
  key: string | null,
  value: Buffer | string,
  headers: MessageHeaders | undefined,
): string {
  const hash = createHash('sha256').update(topic).update('\u0000');
  if (key === null) hash.update('\u0001');
  else hash.update('\u0002').update(key);
  hash.update('\u0000').update(value);
  const names = headers === undefined ? [] : Object.keys(headers);
  if (names.length > 0) hash.update('\u0000').update(JSON.stringify(names.sort().map((n) => [n, headers![n]])));
  return hash.digest('base64url').slice(0, 22);
}
