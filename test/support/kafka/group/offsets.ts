/**
 * Committed offsets per group, topic and partition. They outlive group membership (an Empty group keeps its offsets,
 * as Kafka's __consumer_offsets does) but not the broker: the test broker is in memory.
 */
export interface CommittedOffset {
  offset: bigint;
  metadata: string | null;
}

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** What Kafka answers for a partition with nothing committed: offset -1 and empty metadata, without an error. */
export const NO_OFFSET: Readonly<CommittedOffset> = Object.freeze({ offset: -1n, metadata: '' });

export class OffsetStore {
  private readonly groups = new Map<string, Map<string, Map<number, CommittedOffset>>>();

  commit(groupId: string, topic: string, partition: number, committed: CommittedOffset): void {
    let topics = this.groups.get(groupId);
    if (topics === undefined) {
      topics = new Map();
      this.groups.set(groupId, topics);
    }
    let partitions = topics.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      topics.set(topic, partitions);
    }
    partitions.set(partition, committed);
  }

  get(groupId: string, topic: string, partition: number): Readonly<CommittedOffset> {
    return this.groups.get(groupId)?.get(topic)?.get(partition) ?? NO_OFFSET;
  }

  /** Every partition of the group with a commit: what OffsetFetch v2+ answers for a null topic list. */
  committedPartitions(groupId: string): TopicPartitions[] {
    const topics = this.groups.get(groupId);
    if (topics === undefined) return [];
    return [...topics].map(([topic, partitions]) => ({ topic, partitions: [...partitions.keys()] }));
  }

  hasOffsets(groupId: string): boolean {
    return this.groups.has(groupId);
  }
}
