/** Topic names on the cluster (`topic_prefix` + the hub's name) and the partition counts a producer routes by. */
import type { Admin } from 'kafkajs';
import { KafkaBusError } from './errors.js';

export class TopicNames {
  constructor(private readonly prefix: string) {}
  onCluster(topic: string): string {
    return this.prefix + topic;
  }
  /** The hub's name of a cluster topic (kafkajs reports cluster names). */
  local(clusterTopic: string): string {
    return clusterTopic.startsWith(this.prefix) ? clusterTopic.slice(this.prefix.length) : clusterTopic;
  }
}

/** Partition counts from Metadata, cached: partitions are only ever added, and a producer re-reads them on error. */
export class PartitionCounts {
  private readonly counts = new Map<string, number>();
  constructor(private readonly admin: Admin) {}

  async of(clusterTopic: string): Promise<number> {
    const known = this.counts.get(clusterTopic);
    if (known !== undefined) return known;
    let count: number;
    try {
      const { topics } = await this.admin.fetchTopicMetadata({ topics: [clusterTopic] });
      count = topics[0]?.partitions.length ?? 0;
    } catch (error) {
      throw new KafkaBusError(`read the metadata of ${clusterTopic}`, error);
    }
    if (count === 0) throw new KafkaBusError(`read the metadata of ${clusterTopic}`, new Error('no partitions'));
    this.counts.set(clusterTopic, count);
    return count;
  }

  forget(clusterTopic: string): void {
    this.counts.delete(clusterTopic);
  }
}
