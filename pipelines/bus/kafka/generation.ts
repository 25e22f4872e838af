/**
 * The Kafka bus's generation: a random id kept as the first message of a one-partition marker topic
 * (`<topic_prefix>__cityhub_bus`, kept forever), like the embedded log's bus.json. Kafka's cluster id alone would not
 * do: deleting and re-creating the hub's topics restarts their offsets on the same cluster. Whoever wipes the topics
 * wipes the marker too, and the next start makes a new generation. Two processes starting at once may both append an
 * id: both then read the first one, so they agree.
 */
import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import type { BusMessage, BusProducer } from '../types.js';
import { KafkaBusError } from './errors.js';

export const GENERATION_TOPIC = '__cityhub_bus';

export interface GenerationDeps {
  admin: Admin;
  /** The marker topic's name on the cluster. */
  clusterTopic: string;
  replicationFactor: number;
  producer: BusProducer;
  /** Reads the first message at or after the log start of the marker topic's partition 0. */
  readFirst: () => Promise<BusMessage | undefined>;
}

function parseGeneration(message: BusMessage): string {
  const generation = (JSON.parse(message.value.toString('utf8')) as { generation?: unknown }).generation;
  if (typeof generation !== 'string' || generation === '') {
    throw new KafkaBusError('read the bus generation', new Error('the marker message has no generation'));
  }
  return generation;
}

export async function loadOrCreateGeneration(deps: GenerationDeps): Promise<string> {
  try {
    await deps.admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: deps.clusterTopic,
          numPartitions: 1,
          replicationFactor: deps.replicationFactor,
          configEntries: [
            { name: 'retention.ms', value: '-1' },
            { name: 'retention.bytes', value: '-1' },
          ],
        },
      ],
    });
  } catch (error) {
    throw new KafkaBusError('create the bus generation topic', error);
  }
  const existing = await deps.readFirst();
  if (existing) return parseGeneration(existing);
  await deps.producer.send(GENERATION_TOPIC, [
    { key: null, value: JSON.stringify({ version: 1, generation: randomUUID() }) },
  ]);
  const first = await deps.readFirst();
  if (!first) throw new KafkaBusError('read the bus generation', new Error('the marker topic is empty after a send'));
  return parseGeneration(first);
}
