/**
 * A topic: its partitions and `<dir>/<topic>/topic.json` (partition count and retention). The metadata file is
 * written last when a topic is created, so a folder without it is a creation that crashed half way and is simply
 * completed by the next ensureTopic.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import type { TopicSpec } from '../types.js';
import { EmbeddedBusArgumentError, EmbeddedLogCorruptError } from './errors.js';
import { fsyncDir, isErrno, writeFileAtomic } from './fs-util.js';
import { Partition, type PartitionOptions } from './partition.js';
import type { RoundRobin } from './record-batch.js';

export const TOPIC_FILE = 'topic.json';
/** Kafka's legal topic characters; also safe as a folder name everywhere. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
export const MAX_PARTITIONS = 10_000;

export interface TopicMeta {
  partitions: number;
  retentionMs: number;
  retentionBytes: number;
}

export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..' || name.startsWith('__')) {
    throw new EmbeddedBusArgumentError('topic', name, "1-249 of [A-Za-z0-9._-], not '.', '..' or starting with '__'");
  }
}

export function metaFromSpec(spec: TopicSpec): TopicMeta {
  const partitions = spec?.partitions;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new EmbeddedBusArgumentError('spec.partitions', partitions, `an integer from 1 to ${MAX_PARTITIONS}`);
  }
  return {
    partitions,
    retentionMs: nonNegative('spec.retentionMs', spec.retentionMs),
    retentionBytes: nonNegative('spec.retentionBytes', spec.retentionBytes),
  };
}

function nonNegative(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new EmbeddedBusArgumentError(name, value, 'a non-negative number (0 = off)');
  }
  return value;
}

export class Topic {
  readonly roundRobin: RoundRobin = { next: 0 };

  private constructor(
    readonly name: string,
    readonly dir: string,
    public meta: TopicMeta,
    readonly partitions: Partition[],
  ) {}

  /** The metadata of an existing topic, undefined when `<topicDir>/topic.json` does not exist. */
  static async readMeta(topicDir: string): Promise<TopicMeta | undefined> {
    const file = join(topicDir, TOPIC_FILE);
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as Partial<TopicMeta>;
      return metaFromSpec({
        partitions: parsed.partitions as number,
        retentionMs: parsed.retentionMs,
        retentionBytes: parsed.retentionBytes,
      });
    } catch (err) {
      throw new EmbeddedLogCorruptError(file, 0, `unreadable topic metadata: ${String(err)}`);
    }
  }

  /** Opens (recovering every partition) or creates the topic; `meta` is written when `write` is set. */
  static async open(
    root: string,
    name: string,
    meta: TopicMeta,
    write: boolean,
    options: PartitionOptions,
  ): Promise<Topic> {
    const dir = join(root, name);
    await fs.promises.mkdir(dir, { recursive: true });
    const opened = await Promise.allSettled(
      Array.from({ length: meta.partitions }, (_, id) => Partition.open(name, id, join(dir, String(id)), options)),
    );
    const partitions = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = opened.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      await Promise.allSettled(partitions.map((partition) => partition.close()));
      throw failed.reason;
    }
    const topic = new Topic(name, dir, meta, partitions);
    if (write) {
      await topic.writeMeta(meta);
      await fsyncDir(root);
    }
    return topic;
  }

  /** Persists new retention settings; the partition count of an existing topic never changes. */
  async updateRetention(meta: TopicMeta): Promise<void> {
    if (meta.retentionMs === this.meta.retentionMs && meta.retentionBytes === this.meta.retentionBytes) return;
    await this.writeMeta({ ...this.meta, retentionMs: meta.retentionMs, retentionBytes: meta.retentionBytes });
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.partitions.map((partition) => partition.close()));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async writeMeta(meta: TopicMeta): Promise<void> {
    // Always durable, whatever the fsync policy: losing it would orphan the topic's data.
    await writeFileAtomic(join(this.dir, TOPIC_FILE), `${JSON.stringify({ version: 1, ...meta }, null, 2)}\n`, true);
    this.meta = meta;
  }
}
