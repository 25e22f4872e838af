/**
 * Bus over Kafka through kafkajs. Nothing outside this folder imports kafkajs, so another client can take its place
 * behind the same Bus interface. See README.md for the options and what differs from the embedded log.
 */
import { type Admin, Kafka } from 'kafkajs';
import { readTlsFiles } from '../../tls-files.js';
import type { Bus, BusConsumer, BusMessage, BusProducer, TopicPartition, TopicSpec } from '../types.js';
import { kafkaClientConfig } from './client.js';
import { KafkaBusConsumer } from './consumer.js';
import { KafkaBusError, KafkaBusStateError } from './errors.js';
import { GENERATION_TOPIC, loadOrCreateGeneration } from './generation.js';
import { type KafkaBusOptions, type KafkaBusOptionsInput, kafkaBusOptionsSchema } from './options.js';
import { KafkaBusProducer } from './producer.js';
import { PartitionReader } from './reader.js';
import { PartitionCounts, TopicNames } from './topics.js';

export class KafkaBus implements Bus {
  private readonly closers: Array<{ close(): Promise<void> }> = [];
  private closed = false;

  private constructor(
    readonly generation: string,
    private readonly options: KafkaBusOptions,
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly names: TopicNames,
    private readonly partitions: PartitionCounts,
    private readonly reader: PartitionReader,
  ) {}

  /**
   * Connects, creates the generation marker topic if missing and reads (or makes) the generation. TLS files are read
   * relative to `baseDir` (the config file's folder).
   */
  static async open(
    input: KafkaBusOptionsInput,
    { baseDir = process.cwd() }: { baseDir?: string } = {},
  ): Promise<KafkaBus> {
    const options = kafkaBusOptionsSchema.parse(input);
    const config = kafkaClientConfig(options, readTlsFiles(options.tls, baseDir, 'bus.tls'));
    const kafka = new Kafka(config);
    const admin = kafka.admin();
    try {
      await admin.connect();
    } catch (error) {
      throw new KafkaBusError(`connect to ${options.brokers.join(',')}`, error);
    }
    const names = new TopicNames(options.topic_prefix);
    const reader = new PartitionReader(config);
    const partial = new KafkaBus('', options, kafka, admin, names, new PartitionCounts(admin), reader);
    try {
      const producer = partial.producer();
      const generation = await loadOrCreateGeneration({
        admin,
        clusterTopic: names.onCluster(GENERATION_TOPIC),
        replicationFactor: options.replication_factor ?? -1,
        producer,
        readFirst: async () => (await partial.read({ topic: GENERATION_TOPIC, partition: 0 }, 0, 1)).messages[0],
      });
      await producer.close();
      return new KafkaBus(generation, options, kafka, admin, names, partial.partitions, reader);
    } catch (error) {
      await partial.close().catch(() => {});
      throw error;
    }
  }

  async ensureTopic(topic: string, spec: TopicSpec): Promise<void> {
    this.assertOpen('ensureTopic');
    const keep = (value: number | undefined) => (value === undefined || value === 0 ? '-1' : String(value));
    try {
      // Answers false for an existing topic, which keeps its partition count and configs.
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: this.names.onCluster(topic),
            numPartitions: spec.partitions,
            replicationFactor: this.options.replication_factor ?? -1,
            configEntries: [
              { name: 'retention.ms', value: keep(spec.retentionMs) },
              { name: 'retention.bytes', value: keep(spec.retentionBytes) },
            ],
          },
        ],
      });
    } catch (error) {
      throw new KafkaBusError(`create topic ${topic}`, error);
    }
  }

  producer(): BusProducer {
    this.assertOpen('producer');
    const producer = new KafkaBusProducer(
      this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
      this.names,
      this.partitions,
      this.options.max_message_bytes,
    );
    this.closers.push(producer);
    return producer;
  }

  consumer({ groupId }: { groupId: string }): BusConsumer {
    this.assertOpen('consumer');
    const consumer = new KafkaBusConsumer(groupId, {
      consumer: this.kafka.consumer({
        groupId,
        sessionTimeout: this.options.session_timeout_ms,
        heartbeatInterval: this.options.heartbeat_interval_ms,
        maxWaitTimeInMs: this.options.fetch_max_wait_ms,
        allowAutoTopicCreation: false,
      }),
      names: this.names,
      fetchCommitted: (clusterTopic, partition) => this.fetchCommitted(groupId, clusterTopic, partition),
      heartbeatIntervalMs: this.options.heartbeat_interval_ms,
      joinTimeoutMs: this.options.session_timeout_ms + this.options.request_timeout_ms,
    });
    this.closers.push(consumer);
    return consumer;
  }

  async read(
    tp: TopicPartition,
    offset: number,
    maxMessages: number,
  ): Promise<{ messages: BusMessage[]; nextOffset: number }> {
    this.assertOpen('read');
    const range = (await this.describe(tp.topic)).find((p) => p.partition === tp.partition);
    if (range === undefined) throw new KafkaBusStateError(`${tp.topic} has no partition ${tp.partition}`);
    const from = Math.max(offset, range.lowWatermark);
    if (from >= range.highWatermark || maxMessages <= 0)
      return { messages: [], nextOffset: Math.max(from, range.highWatermark) };
    let messages: BusMessage[];
    try {
      messages = await this.reader.read(
        { topic: this.names.onCluster(tp.topic), partition: tp.partition },
        from,
        maxMessages,
      );
    } catch (error) {
      throw new KafkaBusError(`read ${tp.topic}/${tp.partition} at ${from}`, error);
    }
    for (const m of messages) m.topic = tp.topic;
    const last = messages[messages.length - 1];
    // Nothing readable below the high watermark (only transaction markers or compacted away): skip to it.
    return { messages, nextOffset: last ? last.offset + 1 : range.highWatermark };
  }

  async describe(topic: string): Promise<{ partition: number; highWatermark: number; lowWatermark: number }[]> {
    this.assertOpen('describe');
    try {
      const offsets = await this.admin.fetchTopicOffsets(this.names.onCluster(topic));
      return offsets
        .map((o) => ({ partition: o.partition, highWatermark: Number(o.high), lowWatermark: Number(o.low) }))
        .sort((a, b) => a.partition - b.partition);
    } catch (error) {
      throw new KafkaBusError(`describe ${topic}`, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.closers.splice(0).map((c) => c.close()));
    await this.reader.close().catch(() => {});
    await this.admin.disconnect();
  }

  private async fetchCommitted(groupId: string, clusterTopic: string, partition: number): Promise<number> {
    try {
      const [topic] = await this.admin.fetchOffsets({ groupId, topics: [clusterTopic] });
      const found = topic?.partitions.find((p) => p.partition === partition);
      return found === undefined ? -1 : Number(found.offset);
    } catch (error) {
      throw new KafkaBusError(`read committed offsets of group ${groupId}`, error);
    }
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new KafkaBusStateError(`${operation} on a closed Kafka bus`);
  }
}
