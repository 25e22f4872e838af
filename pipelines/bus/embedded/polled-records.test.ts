import { afterEach, describe, expect, it } from 'vitest';
import { NO_HEADERS } from '../headers.js';
import { recordsOf } from '../record-run.js';
import type { BusMessage, PartitionBatch, ProduceMessage, RecordRun } from '../types.js';
import { BusFixture } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

/** Everything a RecordRun says of message i, in the shape of a BusMessage. */
function fromRun(run: RecordRun, i: number, topic: string, partition: number): BusMessage {
  const chunk = run.chunk(i);
  return {
    ...run.message(i),
    topic,
    partition,
    offset: run.offset(i),
    value: chunk.subarray(run.valueStart(i), run.valueEnd(i)),
    headers: run.headers(i),
  };
}

/** Messages with every shape a record can take: null and empty keys, empty values, with and without headers. */
function variedMessages(n: number): ProduceMessage[] {
  return Array.from(
    { length: n },
    (_, i): ProduceMessage => ({
      key: i % 7 === 0 ? null : i % 11 === 0 ? '' : `k-${i}-${'é'.repeat(i % 3)}`,
      value: i % 13 === 0 ? '' : `{"n":${i},"pad":"${'x'.repeat((i * 37) % 900)}"}`,
      timestamp: 1_700_000_000_000 + i,
      ...(i % 5 === 0
        ? {}
        : { headers: i % 3 === 0 ? { 'cityhub-source': 'a', line: String(i) } : { 'cityhub-source': 'a' } }),
    }),
  );
}

async function pollAll(bus: Awaited<ReturnType<BusFixture['open']>>, total: number, maxMessages: number) {
  const consumer = bus.consumer({ groupId: 'g' });
  await consumer.subscribe(['raw.r']);
  const batches: PartitionBatch[] = [];
  let seen = 0;
  while (seen < total) {
    const polled = await consumer.poll({ maxMessages, maxWaitMs: 5_000 });
    if (polled.length === 0) throw new Error(`poll returned nothing after ${seen} of ${total}`);
    for (const batch of polled) seen += recordsOf(batch).length;
    batches.push(...polled);
  }
  await consumer.close();
  return batches;
}

/** `count` varied messages sent to a new bus in one send, and the record run one poll hands over. */
async function oneRun(count: number) {
  const bus = await fixture.open({ dir: fixture.tempDir() });
  await bus.ensureTopic('raw.r', { partitions: 1 });
  const sent = variedMessages(count);
  await bus.producer().send('raw.r', sent);
  const [batch] = await pollAll(bus, sent.length, 1_000);
  return { sent, run: batch!.records! };
}

describe('a poll hands over records (offsets and byte ranges), and messages built from them on demand', () => {
  it('records and messages say the same of every message, across batch frames and polls that split them', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir });
    await bus.ensureTopic('raw.r', { partitions: 1 });
    const sent = variedMessages(1_500);
    // Several sends: several appends of several batch frames each.
    for (let at = 0; at < sent.length; at += 400) await bus.producer().send('raw.r', sent.slice(at, at + 400));
    // 97 per poll: most polls stop inside a batch frame and the next one starts there.
    const batches = await pollAll(bus, sent.length, 97);
    const fromRecords: BusMessage[] = [];
    const fromMessages: BusMessage[] = [];
    for (const batch of batches) {
      expect(batch.records).toBeDefined();
      const run = batch.records!;
      for (let i = 0; i < run.length; i++) fromRecords.push(fromRun(run, i, batch.topic, batch.partition));
      fromMessages.push(...batch.messages);
    }
    expect(fromRecords.map((m) => m.offset)).toEqual(sent.map((_, i) => i));
    expect(fromRecords).toEqual(fromMessages);
    for (const [i, message] of fromMessages.entries()) {
      const expected = sent[i]!;
      expect(message.key).toBe(expected.key ?? null);
      expect(message.value.toString()).toBe(expected.value);
      expect(message.timestamp).toBe(expected.timestamp);
      if (expected.headers) expect({ ...message.headers }).toEqual(expected.headers);
      else expect(message.headers).toBe(NO_HEADERS);
    }
  });

  it('sameHeaders is true exactly when two messages carry the same headers', async () => {
    const { sent, run } = await oneRun(60);
    expect(run.length).toBe(sent.length);
    for (let i = 0; i < run.length; i++) {
      for (const j of [0, 1, 3, i - 1, i]) {
        if (j < 0) continue;
        const same = JSON.stringify(sent[i]!.headers ?? null) === JSON.stringify(sent[j]!.headers ?? null);
        expect(run.sameHeaders(i, j), `messages ${i} and ${j}`).toBe(same);
      }
    }
  });

  it('reads each message the same whatever order its records are read in (views of recent records are reused)', async () => {
    const { sent, run } = await oneRun(40);
    let seed = 7;
    const pick = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % run.length;
    };
    // Each call names a record read one or two calls ago (its view may be reused) or any other.
    const recent = [0, 0];
    const next = () => {
      const choice = pick() % 3;
      const i = choice < 2 ? recent[choice]! : pick();
      recent[1] = recent[0]!;
      recent[0] = i;
      return i;
    };
    for (let step = 0; step < 5_000; step++) {
      const [i, j] = [next(), next()];
      const same = JSON.stringify(sent[i]!.headers ?? null) === JSON.stringify(sent[j]!.headers ?? null);
      expect(run.sameHeaders(i, j), `messages ${i} and ${j}`).toBe(same);
      const k = next();
      expect(run.chunk(k).toString('utf8', run.valueStart(k), run.valueEnd(k))).toBe(sent[k]!.value);
      const m = next();
      expect({ ...run.headers(m) }).toEqual(sent[m]!.headers ?? {});
    }
  });

  it('a RecordRun over message objects (a bus without records) reads the same', () => {
    const messages: BusMessage[] = variedMessages(20).map((m, i) => ({
      topic: 't',
      partition: 0,
      offset: 100 + i,
      key: m.key ?? null,
      value: Buffer.from(m.value),
      timestamp: m.timestamp!,
      headers: m.headers ?? NO_HEADERS,
    }));
    const run = recordsOf({ topic: 't', partition: 0, messages, highWatermark: 120 });
    expect(run.length).toBe(20);
    for (let i = 0; i < run.length; i++) {
      expect(fromRun(run, i, 't', 0)).toEqual(messages[i]);
      expect(run.sameHeaders(i, 1)).toBe(JSON.stringify(messages[i]!.headers) === JSON.stringify(messages[1]!.headers));
    }
  });

  it('released records give their buffers to the next reads, which read their own messages whole', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir });
    await bus.ensureTopic('raw.r', { partitions: 1 });
    const sent = variedMessages(1_200);
    for (let at = 0; at < sent.length; at += 300) await bus.producer().send('raw.r', sent.slice(at, at + 300));
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['raw.r']);
    const buffersSeen = new Set<ArrayBufferLike>();
    let reused = 0;
    let next = 0;
    while (next < sent.length) {
      const [batch] = await consumer.poll({ maxMessages: 150, maxWaitMs: 5_000 });
      const run = batch!.records!;
      for (let i = 0; i < run.length; i++) {
        const buffer = run.chunk(i).buffer;
        if (i === 0 && buffersSeen.has(buffer)) reused++;
        buffersSeen.add(buffer);
        expect(run.offset(i)).toBe(next);
        expect(run.value(i).toString()).toBe(sent[next]!.value);
        expect(run.message(i).key).toBe(sent[next]!.key ?? null);
        next++;
      }
      const last = run.offset(run.length - 1);
      run.release!();
      // Offsets stay readable; bytes do not, so a view kept by mistake is an error, not another record's bytes.
      expect(run.offset(run.length - 1)).toBe(last);
      expect(() => run.value(0)).toThrow(/released/);
    }
    await consumer.close();
    expect(reused).toBeGreaterThan(3);
  });
});
