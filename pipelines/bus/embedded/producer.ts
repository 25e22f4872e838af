/** The producer side of the bus: encode, wait for backpressure, append, await durability. */
import type { BusProducer, ProduceMessage, ProduceResult } from '../types.js';
import type { Backpressure } from './backpressure.js';
import { EmbeddedBusArgumentError, EmbeddedBusClosedError } from './errors.js';
import { encodeMessages, type RoutedBatch } from './record-batch.js';
import type { Topic } from './topic.js';

export interface ProducerHost {
  assertOpen(operation: string): void;
  /** The topic, or EmbeddedTopicNotFoundError. */
  topic(name: string): Topic;
  readonly backpressure: Backpressure;
  /** Largest key + value a message may have (bus.max_message_bytes). */
  readonly maxMessageBytes: number;
}

export class EmbeddedProducer implements BusProducer {
  private closed = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly host: ProducerHost) {}

  /**
   * One write per target partition per send (concurrent sends to a partition are merged further into one writev).
   * Resolves with one result per partition touched, in partition order, once all of them are durable.
   */
  async send(topicName: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
    if (this.closed) throw new EmbeddedBusClosedError('producer', 'send');
    this.host.assertOpen('send');
    const topic = this.host.topic(topicName);
    if (!Array.isArray(messages)) throw new EmbeddedBusArgumentError('messages', messages, 'an array');
    if (messages.length === 0) return [];
    const routed = encodeMessages(
      topic.name,
      messages,
      topic.partitions.length,
      topic.roundRobin,
      Date.now(),
      this.host.maxMessageBytes,
    );
    const delivery = this.deliver(topic, routed);
    this.inflight.add(delivery);
    try {
      return await delivery;
    } finally {
      this.inflight.delete(delivery);
    }
  }

  /** Waits for in-flight sends (their outcome is reported to their callers, not here). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
  }

  private async deliver(topic: Topic, routed: RoutedBatch[]): Promise<ProduceResult[]> {
    let waited = false;
    for (const { partition, batch } of routed) {
      const admitted = this.host.backpressure.admit(topic.partitions[partition]!, batch.buffer.length);
      if (admitted) {
        waited = true;
        await admitted;
      }
    }
    if (waited) this.host.assertOpen('send');
    const results: ProduceResult[] = [];
    const durable: Promise<void>[] = [];
    try {
      for (const { partition, batch } of routed) {
        const { baseOffset, done } = topic.partitions[partition]!.append(batch);
        results.push({ topic: topic.name, partition, baseOffset, count: batch.count });
        durable.push(done);
      }
    } catch (err) {
      // Batches already queued on other partitions still complete; nobody awaits them, so keep them quiet.
      for (const done of durable) done.catch(() => undefined);
      throw err;
    }
    await Promise.all(durable);
    return results;
  }
}
