/**
 * Reads a partition outside any group: one Fetch request to the partition's leader. kafkajs has no public API for
 * that (its consumer always joins a group: seconds per read on a real cluster, whose first join waits
 * group.initial.rebalance.delay.ms, and an empty group left behind per call), so this uses kafkajs's own Cluster
 * and Broker classes, which its admin, producer and consumer are built on. kafkajs is frozen at 2.2.4 (maintenance
 * mode) and this is the only file that reaches inside it.
 */
import { createRequire } from 'node:module';
import type { KafkaConfig, KafkaMessage } from 'kafkajs';
import type { BusMessage, TopicPartition } from '../types.js';
import { toBusMessage } from './messages.js';

const require = createRequire(import.meta.url);

/** The slice of kafkajs's internal Cluster and Broker that a fetch needs. */
interface InternalBroker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { partitions: { partition: number; messages: KafkaMessage[] }[] }[] }>;
}
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string }): Promise<InternalBroker>;
}

const FETCH_MAX_BYTES = 4 * 1024 * 1024;
const READ_COMMITTED = 1;

export class PartitionReader {
  private cluster: InternalCluster | undefined;
  private connecting: Promise<InternalCluster> | undefined;

  constructor(private readonly config: KafkaConfig) {}

  /** Messages of `tp` from `offset` (already clamped to the log range by the caller), at most `max`. */
  async read(tp: TopicPartition, offset: number, max: number): Promise<BusMessage[]> {
    const cluster = await this.connected();
    await cluster.addTargetTopic(tp.topic);
    const leaders = cluster.findLeaderForPartitions(tp.topic, [tp.partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) {
      await cluster.refreshMetadata();
      return [];
    }
    const broker = await cluster.findBroker({ nodeId });
    const response = await broker.fetch({
      replicaId: -1,
      isolationLevel: READ_COMMITTED,
      maxWaitTime: 0,
      minBytes: 1,
      maxBytes: FETCH_MAX_BYTES,
      topics: [
        {
          topic: tp.topic,
          partitions: [{ partition: tp.partition, fetchOffset: String(offset), maxBytes: FETCH_MAX_BYTES }],
        },
      ],
    });
    const out: BusMessage[] = [];
    for (const topic of response.responses) {
      for (const partition of topic.partitions) {
        for (const message of partition.messages) {
          // Fetch answers whole record batches: the one holding `offset` may start before it.
          if (Number(message.offset) < offset || out.length >= max) continue;
          out.push(toBusMessage(tp.topic, tp.partition, message));
        }
      }
    }
    return out;
  }

  async close(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = undefined;
    this.connecting = undefined;
    await cluster?.disconnect();
  }

  private connected(): Promise<InternalCluster> {
    this.connecting ??= (async () => {
      const Cluster = require('kafkajs/src/cluster') as new (options: object) => InternalCluster;
      const { createLogger } = require('kafkajs/src/loggers') as {
        createLogger: (options: { level: number; logCreator: () => () => void }) => unknown;
      };
      const socketFactory = (require('kafkajs/src/network/socketFactory') as () => unknown)();
      const cluster = new Cluster({
        ...this.config,
        logger: createLogger({ level: 0, logCreator: () => () => {} }),
        socketFactory,
        enforceRequestTimeout: true,
        metadataMaxAge: 300_000,
        allowAutoTopicCreation: false,
        maxInFlightRequests: null,
        isolationLevel: READ_COMMITTED,
      });
      try {
        await cluster.connect();
      } catch (error) {
        this.connecting = undefined;
        throw error;
      }
      this.cluster = cluster;
      return cluster;
    })();
    return this.connecting;
  }
}
