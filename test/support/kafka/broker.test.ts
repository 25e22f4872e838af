/**
 * The test broker end to end with real kafkajs 2.2.4 over TCP: admin, an idempotent producer, offsets, and raw Fetch
 * requests read back with kafkajs's own decoder. Consumers need the group APIs (./group/): not tested here.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiHandler, ErrorCode } from './api.js';
import { Writer } from './codec.js';
import { kafkajsFrame, kafkajsProtocol } from './kafkajs-protocol.js';
import { RawKafkaClient } from './raw-client.js';
import { KafkaTestBroker } from './server.js';

interface FetchedMessage {
  offset: string;
  key: Buffer;
  value: Buffer;
  headers: Record<string, Buffer>;
}

let broker: KafkaTestBroker;
const clients: RawKafkaClient[] = [];
const logged: string[] = [];

beforeEach(async () => {
  logged.length = 0;
  broker = await KafkaTestBroker.start({ log: (m) => logged.push(m) });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await broker.close();
});

async function rawClient(): Promise<RawKafkaClient> {
  const client = await RawKafkaClient.connect(broker.host, broker.port);
  clients.push(client);
  return client;
}

let correlationId = 100;

/** One Fetch v11 through a raw connection, decoded by kafkajs. */
async function fetchPartition(
  client: RawKafkaClient,
  topic: string,
  partition: number,
  fetchOffset: bigint,
  options: { maxWaitTime?: number; minBytes?: number } = {},
): Promise<{ errorCode: number; highWatermark: string; messages: FetchedMessage[] }> {
  const protocol = kafkajsProtocol('Fetch', 11, {
    maxWaitTime: options.maxWaitTime ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: 10 << 20,
    topics: [{ topic, partitions: [{ partition, fetchOffset: fetchOffset.toString(), maxBytes: 1 << 20 }] }],
  });
  const response = await client.request(await kafkajsFrame(protocol, correlationId++));
  const decoded = (await protocol.response.decode(response.body)) as {
    responses: Array<{ partitions: Array<{ errorCode: number; highWatermark: string; messages: FetchedMessage[] }> }>;
  };
  const answer = decoded.responses[0]?.partitions[0];
  if (answer === undefined) throw new Error('fetch answered no partition');
  return answer;
}

describe('KafkaTestBroker with kafkajs', () => {
  it('stores what an idempotent producer sends, keys, values and headers, at the offsets it reported', async () => {
    const kafka = new Kafka({ clientId: 'cityhub-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    try {
      await admin.connect();
      const topics = [
        { topic: 'city.events', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '86400000' }] },
      ];
      expect(await admin.createTopics({ topics })).toBe(true);
      expect(broker.topics.get('city.events')?.configs.get('retention.ms')).toBe('86400000');

      await producer.connect();
      const sent: Array<{ key: string; value: string; source: string }> = [];
      const reportedBaseOffsets: Array<Map<number, string>> = [];
      for (const round of [0, 1]) {
        const messages = Array.from({ length: 12 }, (_, i) => ({
          key: `station-${i}`,
          value: JSON.stringify({ round, i, name: '人民广场' }),
          headers: { 'cityhub-source': `source-${i % 2}` },
        }));
        const metadata = await producer.send({ topic: 'city.events', acks: -1, messages });
        reportedBaseOffsets.push(new Map(metadata.map((m) => [m.partition, m.baseOffset ?? ''])));
        sent.push(...messages.map((m) => ({ key: m.key, value: m.value, source: m.headers['cityhub-source'] })));
      }

      const offsets = await admin.fetchTopicOffsets('city.events');
      const client = await rawClient();
      const received: Array<{ key: string; value: string; source: string; partition: number }> = [];
      for (const { partition, high, low } of offsets) {
        expect(low).toBe('0');
        const fetched = await fetchPartition(client, 'city.events', partition, 0n);
        expect(fetched.errorCode).toBe(ErrorCode.NONE);
        expect(fetched.highWatermark).toBe(high);
        // Offsets are dense from 0 to the high watermark.
        expect(fetched.messages.map((m) => m.offset)).toEqual(
          Array.from({ length: Number(high) }, (_, i) => String(i)),
        );
        // What the producer was told is where the round's first record for that partition really is.
        const half = fetched.messages.length / 2;
        expect(reportedBaseOffsets.map((r) => r.get(partition))).toEqual(['0', String(half)]);
        for (const m of fetched.messages) {
          const source = m.headers['cityhub-source']?.toString() ?? '';
          received.push({ key: m.key.toString(), value: m.value.toString(), source, partition });
        }
      }
      // Everything sent came back once, in send order within each partition, and a key always maps to one partition.
      const byPartition = (p: number) => received.filter((r) => r.partition === p).map(({ partition, ...m }) => m);
      const partitionOfKey = new Map(received.map((r) => [r.key, r.partition]));
      expect(received).toHaveLength(sent.length);
      for (const p of [0, 1, 2]) expect(byPartition(p)).toEqual(sent.filter((m) => partitionOfKey.get(m.key) === p));
      expect(new Set(received.map((r) => `${r.key}:${r.partition}`)).size).toBe(12);
      expect(offsets.filter((o) => o.high !== '0').length).toBeGreaterThan(1);
      // The batches carry the producer id InitProducerId handed out: the idempotence checks were in play.
      const firstBatch = broker.topics
        .partition('city.events', partitionOfKey.get('station-0') ?? 0)
        ?.read(0n, 1 << 20, true);
      expect(firstBatch?.batches[0]?.readBigInt64BE(43)).toBeGreaterThanOrEqual(1000n);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('holds a fetch with nothing to read until a record arrives, then answers with it', async () => {
    broker.topics.create('waiting', 1);
    const client = await rawClient();
    const pending = fetchPartition(client, 'waiting', 0, 0n, { maxWaitTime: 60_000, minBytes: 1 });
    const kafka = new Kafka({ clientId: 'cityhub-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    try {
      await producer.connect();
      await producer.send({ topic: 'waiting', acks: 1, messages: [{ key: 'k', value: 'arrived' }] });
      const fetched = await pending;
      expect(fetched.messages.map((m) => m.value.toString())).toEqual(['arrived']);
    } finally {
      await producer.disconnect();
    }
  });

  it('answers an empty fetch once max_wait passes with nothing new', async () => {
    broker.topics.create('quiet', 1);
    const fetched = await fetchPartition(await rawClient(), 'quiet', 0, 0n, { maxWaitTime: 20, minBytes: 1 });
    expect(fetched).toMatchObject({ errorCode: 0, highWatermark: '0', messages: [] });
  });

  it('answers an empty fetch at max_wait even when a garbage collection runs while it waits', async () => {
    // A Fetch that never answered on an idle topic stopped a kafkajs consumer's heartbeats (it heartbeats between
    // fetches), so it was expelled from its group without noticing: the broker's wait must survive a GC.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    broker.topics.create('idle', 1);
    const client = await rawClient();
    const fetched = fetchPartition(client, 'idle', 0, 0n, { maxWaitTime: 300, minBytes: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
    let giveUp: NodeJS.Timeout | undefined;
    const hung = new Promise<'no answer'>((resolve) => {
      giveUp = setTimeout(() => resolve('no answer'), 10_000);
    });
    try {
      expect(await Promise.race([fetched, hung])).toMatchObject({ errorCode: 0, highWatermark: '0', messages: [] });
    } finally {
      clearTimeout(giveUp);
    }
  });

  it('keeps topics and offsets across stop and restart on the same port', async () => {
    const kafka = new Kafka({ clientId: 'cityhub-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'durable', messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    await admin.disconnect();

    const port = broker.port;
    const before = await rawClient();
    await broker.stop();
    await before.closed();
    await expect(RawKafkaClient.connect(broker.host, port)).rejects.toThrow();
    await broker.restart();
    expect(broker.port).toBe(port);
    const fetched = await fetchPartition(await rawClient(), 'durable', 0, 0n);
    expect(fetched.messages.map((m) => m.value.toString())).toEqual(['a', 'b']);
  });
});

describe('KafkaTestBroker framing and versions', () => {
  it('answers an unsupported version with UNSUPPORTED_VERSION, and ApiVersions with its list as well', async () => {
    const client = await rawClient();
    const metadataV9 = new Writer().int16(3).int16(9).int32(1).nullableString('probe').toBuffer();
    const apiVersionsV3 = new Writer().int16(18).int16(3).int32(2).nullableString('probe').toBuffer();
    const frame = (b: Buffer) => new Writer().int32(b.length).raw(b).toBuffer();
    const unsupported = await client.request(frame(metadataV9));
    expect(unsupported).toEqual({ correlationId: 1, body: Buffer.from([0, ErrorCode.UNSUPPORTED_VERSION]) });
    const versions = await client.request(frame(apiVersionsV3));
    const decoded = (await kafkajsProtocol('ApiVersions', 0)
      .response.decode(versions.body)
      .catch((e) => e)) as Error & {
      type?: string;
    };
    expect(decoded.type).toBe('UNSUPPORTED_VERSION');
    expect(versions.body.readInt32BE(2)).toBe(7); // the seven APIs still listed after the error code
    expect(logged.join('\n')).toMatch(/api key 3 \(Metadata\) version 9/);
  });

  it("handles a connection's requests one at a time, as Kafka does: the next only once the previous is answered", async () => {
    const events: string[] = [];
    let releaseSlow: () => void = () => {};
    let slowStarted: () => void = () => {};
    const slowWasStarted = new Promise<void>((resolve) => {
      slowStarted = resolve;
    });
    const slow: ApiHandler = {
      apiKey: 1000,
      name: 'Slow',
      minVersion: 0,
      maxVersion: 0,
      handle: () => {
        events.push('slow handled');
        slowStarted();
        return new Promise((resolve) => {
          releaseSlow = () => {
            events.push('slow answered');
            resolve(Buffer.from('slow'));
          };
        });
      },
    };
    const fast: ApiHandler = {
      apiKey: 1001,
      name: 'Fast',
      minVersion: 0,
      maxVersion: 0,
      handle: () => {
        events.push('fast handled');
        return Buffer.from('fast');
      },
    };
    await broker.close();
    broker = await KafkaTestBroker.start({ extraHandlers: [slow, fast], log: (m) => logged.push(m) });
    const client = await rawClient();
    const other = await rawClient();
    const frame = (apiKey: number, id: number) => {
      const b = new Writer().int16(apiKey).int16(0).int32(id).nullableString(null).toBuffer();
      return new Writer().int32(b.length).raw(b).toBuffer();
    };
    const first = client.request(frame(1000, 1));
    const second = client.request(frame(1001, 2));
    await slowWasStarted;
    // Another connection is not held up by this one's request in progress.
    expect(await other.request(frame(1001, 7))).toEqual({ correlationId: 7, body: Buffer.from('fast') });
    expect(events).toEqual(['slow handled', 'fast handled']);
    releaseSlow();
    expect(await first).toEqual({ correlationId: 1, body: Buffer.from('slow') });
    expect(await second).toEqual({ correlationId: 2, body: Buffer.from('fast') });
    expect(events).toEqual(['slow handled', 'fast handled', 'slow answered', 'fast handled']);
  });

  it('closes a connection that announces a request larger than the limit', async () => {
    await broker.close();
    broker = await KafkaTestBroker.start({ maxRequestBytes: 1024, log: (m) => logged.push(m) });
    const client = await rawClient();
    client.send(new Writer().int32(1025).toBuffer());
    await client.closed();
    expect(logged.join('\n')).toMatch(/1025 bytes exceeds 1024/);
  });
});
