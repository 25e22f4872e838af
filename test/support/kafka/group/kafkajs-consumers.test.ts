/**
 * The group APIs behind the real server with real kafkajs 2.2.4 consumers over TCP: two consumers in one group split
 * the partitions, and committed offsets survive a consumer restart.
 */
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaTestBroker } from '../server.js';
import { GroupCoordinator, groupHandlers } from './index.js';

const TOPIC = 'raw.sensor';
const PARTITIONS = 4;

let broker: KafkaTestBroker;
let coordinator: GroupCoordinator;
let kafka: Kafka;
const consumers: Consumer[] = [];

beforeEach(async () => {
  coordinator = new GroupCoordinator();
  let started: KafkaTestBroker | undefined;
  const node = { nodeId: 0, host: '127.0.0.1', port: () => started?.port ?? 0 };
  started = await KafkaTestBroker.start({ extraHandlers: groupHandlers(coordinator, node) });
  broker = started;
  kafka = new Kafka({ clientId: 'cityhub-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
  coordinator.close();
  await broker.close();
});

function consumer(groupId: string): Consumer {
  // Short waits so a member learns of a rebalance at its next heartbeat instead of seconds later.
  const created = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
  consumers.push(created);
  return created;
}

/** Resolves with the member's partitions at the first group join that satisfies `accept`. */
function joined(member: Consumer, accept: (partitions: number[]) => boolean): Promise<number[]> {
  return new Promise((resolve) => {
    const stop = member.on(member.events.GROUP_JOIN, (event) => {
      const partitions = [...(event.payload.memberAssignment[TOPIC] ?? [])].sort();
      if (accept(partitions)) {
        stop();
        resolve(partitions);
      }
    });
  });
}

describe('consumer groups with kafkajs', () => {
  it('two consumers in one group split the partitions between them', async () => {
    const first = consumer('landing');
    await first.connect();
    await first.subscribe({ topic: TOPIC, fromBeginning: true });
    const alone = joined(first, (p) => p.length === PARTITIONS);
    await first.run({ eachMessage: async () => {} });
    expect(await alone).toEqual([0, 1, 2, 3]);

    const second = consumer('landing');
    await second.connect();
    await second.subscribe({ topic: TOPIC, fromBeginning: true });
    const firstShare = joined(first, (p) => p.length < PARTITIONS);
    const secondShare = joined(second, (p) => p.length > 0);
    await second.run({ eachMessage: async () => {} });
    const [a, b] = await Promise.all([firstShare, secondShare]);
    expect(a.length).toBe(2);
    expect([...a, ...b].sort()).toEqual([0, 1, 2, 3]);
  });

  it('a restarted consumer resumes after the offsets its group committed', async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, messages: ['one', 'two', 'three'].map((v) => ({ value: v, partition: 0 })) });

    const seen: string[] = [];
    let firstDone: () => void = () => {};
    const threeSeen = new Promise<void>((resolve) => {
      firstDone = resolve;
    });
    const first = consumer('resume');
    await first.connect();
    await first.subscribe({ topic: TOPIC, fromBeginning: true });
    await first.run({
      eachMessage: async ({ message }) => {
        seen.push(String(message.value));
        if (seen.length === 3) firstDone();
      },
    });
    await threeSeen;
    await first.disconnect(); // commits what was consumed, then leaves the group

    await producer.send({ topic: TOPIC, messages: [{ value: 'four', partition: 0 }] });
    await producer.disconnect();
    const second = consumer('resume');
    await second.connect();
    await second.subscribe({ topic: TOPIC, fromBeginning: true });
    const next = new Promise<string>((resolve) => {
      void second.run({ eachMessage: async ({ message }) => resolve(String(message.value)) });
    });
    expect(await next).toBe('four');
    expect(seen).toEqual(['one', 'two', 'three']);
  });
});
