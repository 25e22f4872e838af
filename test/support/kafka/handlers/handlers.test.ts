/**
 * Each request handler on real bytes: kafkajs's own encoder writes the request, the handler answers, and kafkajs's own
 * decoder must read the answer. A field the handler reads or writes out of place fails here.
 */
import { describe, expect, it } from 'vitest';
import { type ApiHandler, ErrorCode, NO_RESPONSE } from '../api.js';
import { Reader } from '../codec.js';
import { crc32c } from '../crc32c.js';
import { kafkajsLong, kafkajsProtocol, kafkajsRequestBody } from '../kafkajs-protocol.js';
import { BrokerState } from '../state.js';
import { apiVersionsHandler } from './api-versions.js';
import { createTopicsHandler } from './create-topics.js';
import { fetchHandler } from './fetch.js';
import { initProducerIdHandler } from './init-producer-id.js';
import { listOffsetsHandler } from './list-offsets.js';
import { metadataHandler } from './metadata.js';
import { produceHandler } from './produce.js';

const connection = { id: 1, clientHost: '127.0.0.1' };

/** Encodes with kafkajs, handles, decodes with kafkajs. */
async function roundTrip(
  handler: ApiHandler,
  api: string,
  version: number,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const protocol = kafkajsProtocol(api, version, args);
  const body = await kafkajsRequestBody(protocol);
  const header = { apiKey: handler.apiKey, apiVersion: version, correlationId: 7, clientId: 'test' };
  const reader = new Reader(body);
  const answer = await handler.handle(reader, header, connection);
  expect(reader.remaining()).toBe(0); // every field read, none skipped
  return (await protocol.response.decode(answer)) as Record<string, unknown>;
}

function produceArgs(
  topic: string,
  messages: Array<{ key: string; value: string }>,
  extra: Record<string, unknown> = {},
) {
  return {
    acks: -1,
    timeout: 1000,
    topicData: [{ topic, partitions: [{ partition: 0, firstSequence: 0, messages }] }],
    ...extra,
  };
}

describe('ApiVersions', () => {
  it('lists every handler with its version range, readable by kafkajs v0 and v2 decoders', async () => {
    const produce = produceHandler(new BrokerState(false));
    const handler = apiVersionsHandler(() => [produce]);
    for (const version of [0, 2]) {
      const decoded = await roundTrip(handler, 'ApiVersions', version, {});
      expect(decoded.apiVersions).toEqual([{ apiKey: 0, minVersion: 3, maxVersion: 7 }]);
      expect(decoded.errorCode).toBe(ErrorCode.NONE);
    }
  });
});

describe('CreateTopics and Metadata', () => {
  it('creates topics with partitions and configs, refuses duplicates and replication, and lists them', async () => {
    const state = new BrokerState(false);
    state.port = 9092;
    const created = await roundTrip(createTopicsHandler(state), 'CreateTopics', 3, {
      topics: [
        { topic: 'events', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '60000' }] },
        { topic: 'replicated', numPartitions: 1, replicationFactor: 3 },
      ],
      timeout: 1000,
    });
    expect(created.topicErrors).toEqual([
      { topic: 'events', errorCode: 0, errorMessage: null },
      { topic: 'replicated', errorCode: 38, errorMessage: expect.stringContaining('single node') },
    ]);
    expect(state.topics.get('events')?.configs.get('retention.ms')).toBe('60000');
    const again = await roundTrip(createTopicsHandler(state), 'CreateTopics', 3, {
      topics: [{ topic: 'events', numPartitions: 3 }],
      timeout: 1000,
    });
    expect(again.topicErrors).toEqual([expect.objectContaining({ errorCode: ErrorCode.TOPIC_ALREADY_EXISTS })]);

    const metadata = await roundTrip(metadataHandler(state), 'Metadata', 6, { topics: ['events', 'missing'] });
    expect(metadata.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }]);
    expect(metadata.controllerId).toBe(0);
    const [events, missing] = metadata.topicMetadata as Array<Record<string, unknown>>;
    expect(events?.topicErrorCode).toBe(0);
    expect(events?.partitionMetadata).toHaveLength(3);
    expect((events?.partitionMetadata as unknown[] | undefined)?.[2]).toEqual({
      partitionErrorCode: 0,
      partitionId: 2,
      leader: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
    });
    expect(missing).toMatchObject({ topic: 'missing', topicErrorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    expect(state.topics.get('missing')).toBeUndefined();

    // The older layouts librdkafka (kcat) asks for: no throttle time (v1-2), no cluster id (v1), no offline replicas.
    for (const version of [1, 2, 3, 4]) {
      const old = await roundTrip(metadataHandler(state), 'Metadata', version, { topics: ['events'] });
      expect(old.brokers, `v${version}`).toEqual([{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }]);
      expect(old.controllerId, `v${version}`).toBe(0);
      const [topic] = old.topicMetadata as Array<Record<string, unknown>>;
      expect(topic?.partitionMetadata, `v${version}`).toHaveLength(3);
    }
  });

  it('auto-creates an unknown topic only when the broker allows it and the request asks', async () => {
    const state = new BrokerState(true);
    await roundTrip(metadataHandler(state), 'Metadata', 6, { topics: ['quiet'], allowAutoTopicCreation: false });
    expect(state.topics.get('quiet')).toBeUndefined();
    const metadata = await roundTrip(metadataHandler(state), 'Metadata', 6, { topics: ['auto'] });
    expect((metadata.topicMetadata as Array<Record<string, unknown>>)[0]?.topicErrorCode).toBe(0);
    expect(state.topics.get('auto')?.partitions).toHaveLength(1);
  });
});

describe('InitProducerId, Produce, Fetch and ListOffsets', () => {
  async function withTopic() {
    const state = new BrokerState(false);
    state.topics.create('t', 1);
    const init = await roundTrip(initProducerIdHandler(state), 'InitProducerId', 1, { transactionalId: null });
    return { state, producerId: BigInt(init.producerId as string), epoch: init.producerEpoch as number };
  }

  it('assigns offsets batch after batch, and fetch returns the records kafkajs wrote, with headers', async () => {
    const { state } = await withTopic();
    const produce = produceHandler(state);
    const first = await roundTrip(
      produce,
      'Produce',
      7,
      produceArgs('t', [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ]),
    );
    const second = await roundTrip(
      produce,
      'Produce',
      3,
      produceArgs('t', [{ key: 'c', value: '3', headers: { 'cityhub-source': 'dept-files' } } as never]),
    );
    expect((first.topics as Array<{ partitions: unknown[] }>)[0]?.partitions).toEqual([
      { partition: 0, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' },
    ]);
    expect((second.topics as Array<{ partitions: Array<{ baseOffset: string }> }>)[0]?.partitions[0]?.baseOffset).toBe(
      '2',
    );

    // The broker rewrote the second batch's base offset; the CRC (attributes onwards) still holds, as a client checks.
    const stored = state.topics.partition('t', 0)?.read(0n, 1 << 20, true).batches ?? [];
    expect(stored.map((b) => b.readBigInt64BE(0))).toEqual([0n, 2n]);
    for (const b of stored) expect(crc32c(b.subarray(21))).toBe(b.readUInt32BE(17));

    const fetched = await roundTrip(fetchHandler(state), 'Fetch', 11, {
      maxWaitTime: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: '1', maxBytes: 1 << 20 }] }],
    });
    const partition = (fetched.responses as Array<{ partitions: Array<Record<string, unknown>> }>)[0]?.partitions[0];
    expect(partition).toMatchObject({ errorCode: 0, highWatermark: '3', lastStableOffset: '3' });
    // Whole batches: asking from offset 1 returns the batch holding 0-1, and the consumer skips what it did not ask for.
    const messages = partition?.messages as Array<{
      offset: string;
      key: Buffer;
      value: Buffer;
      headers: Record<string, Buffer>;
    }>;
    expect(messages.map((m) => [m.offset, m.key.toString(), m.value.toString()])).toEqual([
      ['0', 'a', '1'],
      ['1', 'b', '2'],
      ['2', 'c', '3'],
    ]);
    expect(messages[2]?.headers['cityhub-source']?.toString()).toBe('dept-files');

    // The older layouts (librdkafka needs 4 in the range to use v2 batches): same records through kafkajs's decoders.
    for (const version of [4, 5, 7, 9, 10]) {
      const older = await roundTrip(fetchHandler(state), 'Fetch', version, {
        maxWaitTime: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 1 << 20 }] }],
      });
      const [olderPartition] = (older.responses as Array<{ partitions: Array<Record<string, unknown>> }>)[0]!
        .partitions;
      expect(olderPartition, `v${version}`).toMatchObject({ errorCode: 0, highWatermark: '3' });
      const values = (olderPartition!.messages as Array<{ value: Buffer }>).map((m) => m.value.toString());
      expect(values, `v${version}`).toEqual(['1', '2', '3']);
    }

    const offsets = await roundTrip(listOffsetsHandler(state), 'ListOffsets', 3, {
      topics: [
        {
          topic: 't',
          partitions: [
            { partition: 0, timestamp: -1 },
            { partition: 0, timestamp: -2 },
          ],
        },
      ],
    });
    const listed = (offsets.responses as Array<{ partitions: Array<{ offset: string }> }>)[0]?.partitions;
    expect(listed?.map((p) => p.offset)).toEqual(['3', '0']);
  });

  it('answers nothing to acks=0, but still appends', async () => {
    const { state } = await withTopic();
    const protocol = kafkajsProtocol('Produce', 7, produceArgs('t', [{ key: 'k', value: 'v' }], { acks: 0 }));
    const header = { apiKey: 0, apiVersion: 7, correlationId: 1, clientId: null };
    const answer = await produceHandler(state).handle(
      new Reader(await kafkajsRequestBody(protocol)),
      header,
      connection,
    );
    expect(answer).toBe(NO_RESPONSE);
    expect(state.topics.partition('t', 0)?.highWatermark).toBe(1n);
  });

  it('acknowledges a retried idempotent batch with its original offset without storing it twice', async () => {
    const { state, producerId, epoch } = await withTopic();
    const produce = produceHandler(state);
    const idempotent = { producerId: kafkajsLong(producerId), producerEpoch: epoch };
    const batch = (firstSequence: number, value: string) => ({
      ...produceArgs('t', [{ key: 'k', value }], idempotent),
      topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence, messages: [{ key: 'k', value }] }] }],
    });
    const offsetOf = async (args: Record<string, unknown>) => {
      const decoded = await roundTrip(produce, 'Produce', 7, args);
      return (decoded.topics as Array<{ partitions: Array<{ errorCode: number; baseOffset: string }> }>)[0]
        ?.partitions[0];
    };
    expect(await offsetOf(batch(0, 'first'))).toMatchObject({ errorCode: 0, baseOffset: '0' });
    expect(await offsetOf(batch(1, 'second'))).toMatchObject({ errorCode: 0, baseOffset: '1' });
    expect(await offsetOf(batch(1, 'second'))).toMatchObject({ errorCode: 0, baseOffset: '1' });
    expect(state.topics.partition('t', 0)?.highWatermark).toBe(2n);
    expect(await offsetOf(batch(5, 'gap'))).toMatchObject({ errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    for (let sequence = 2; sequence < 8; sequence++) await offsetOf(batch(sequence, `v${sequence}`));
    // Sequence 1 has left the five-batch cache: no longer acknowledged as a retry.
    expect(await offsetOf(batch(1, 'second'))).toMatchObject({ errorCode: ErrorCode.DUPLICATE_SEQUENCE_NUMBER });
    expect(state.topics.partition('t', 0)?.highWatermark).toBe(8n);
  });

  it('refuses a batch whose CRC does not match, and unknown partitions', async () => {
    const { state } = await withTopic();
    const body = await kafkajsRequestBody(kafkajsProtocol('Produce', 7, produceArgs('t', [{ key: 'k', value: 'v' }])));
    body.writeUInt8(body.readUInt8(body.length - 1) ^ 0xff, body.length - 1); // the last byte of the only record: inside the CRC's range
    const header = { apiKey: 0, apiVersion: 7, correlationId: 1, clientId: null };
    const answer = await produceHandler(state).handle(new Reader(body), header, connection);
    const decoded = (await kafkajsProtocol('Produce', 7, produceArgs('t', [])).response.decode(answer)) as {
      topics: Array<{ partitions: Array<{ errorCode: number }> }>;
    };
    expect(decoded.topics[0]?.partitions[0]?.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);

    const unknown = await roundTrip(
      produceHandler(state),
      'Produce',
      7,
      produceArgs('nope', [{ key: 'k', value: 'v' }]),
    );
    expect(unknown).toMatchObject({ topics: [{ partitions: [{ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] }] });
  });
});
