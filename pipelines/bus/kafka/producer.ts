/**
 * BusProducer over kafkajs's idempotent producer: acks from every in-sync replica (-1), one request in flight, so a
 * retried batch is deduplicated by the broker and per-partition order holds. This code picks each message's
 * partition (murmur2 of the key, as the embedded log and Kafka's own clients do; round-robin without a key) so it
 * knows how many messages went to each partition; kafkajs answers one base offset per partition.
 */
import type { Producer } from 'kafkajs';
import { partitionForKey } from '../embedded/partitioner.js';
import { MessageTooLargeError } from '../errors.js';
import { headerBlockBytes } from '../headers.js';
import type { BusProducer, ProduceMessage, ProduceResult } from '../types.js';
import { KafkaBusError, KafkaBusStateError, kafkaErrorType } from './errors.js';
import { toKafkaMessage } from './messages.js';
import type { PartitionCounts, TopicNames } from './topics.js';

/** Bytes a message counts for against max_message_bytes: key, value and header block, as on the embedded log. */
function messageBytes(message: ProduceMessage, topic: string, index: number): number {
  const key = message.key == null ? 0 : Buffer.byteLength(message.key, 'utf8');
  const value = typeof message.value === 'string' ? Buffer.byteLength(message.value, 'utf8') : message.value.length;
  return key + value + headerBlockBytes(message.headers, topic, index);
}

export class KafkaBusProducer implements BusProducer {
  private connecting: Promise<void> | undefined;
  private roundRobin = 0;
  private closed = false;

  constructor(
    private readonly producer: Producer,
    private readonly names: TopicNames,
    private readonly partitions: PartitionCounts,
    private readonly maxMessageBytes: number,
  ) {}

  async send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
    if (this.closed) throw new KafkaBusStateError('send on a closed Kafka bus producer');
    if (messages.length === 0) return [];
    let largest = { index: 0, bytes: 0 };
    for (let i = 0; i < messages.length; i++) {
      const bytes = messageBytes(messages[i]!, topic, i);
      if (bytes > this.maxMessageBytes) throw new MessageTooLargeError(topic, i, bytes, this.maxMessageBytes);
      if (bytes > largest.bytes) largest = { index: i, bytes };
    }
    const clusterTopic = this.names.onCluster(topic);
    const count = await this.partitions.of(clusterTopic);
    const perPartition = new Map<number, number>();
    const outgoing = messages.map((message) => {
      const partition = this.partitionOf(message.key, count);
      perPartition.set(partition, (perPartition.get(partition) ?? 0) + 1);
      return toKafkaMessage(message, partition);
    });
    try {
      await this.connect();
      const metadata = await this.producer.send({ topic: clusterTopic, messages: outgoing, acks: -1 });
      return metadata.map((m) => ({
        topic,
        partition: m.partition,
        baseOffset: Number(m.baseOffset),
        count: perPartition.get(m.partition) ?? 0,
      }));
    } catch (error) {
      // The broker's message.max.bytes applies to a partition's whole record batch: the largest message is the
      // one to take out. Unlike the embedded log, other partitions of this send may have been appended.
      if (kafkaErrorType(error) === 'MESSAGE_TOO_LARGE') {
        throw new MessageTooLargeError(topic, largest.index, largest.bytes, this.maxMessageBytes);
      }
      this.partitions.forget(clusterTopic);
      throw new KafkaBusError(`send to ${topic}`, error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect();
  }

  private partitionOf(key: string | null | undefined, count: number): number {
    if (key == null) {
      this.roundRobin = (this.roundRobin + 1) % count;
      return this.roundRobin;
    }
    const bytes = Buffer.from(key, 'utf8');
    return partitionForKey(bytes, 0, bytes.length, count);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }
}
