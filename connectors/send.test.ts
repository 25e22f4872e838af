import { afterEach, describe, expect, it } from 'vitest';
import { BusFixture } from '../pipelines/bus/embedded/test-support.js';
import type { Bus, BusMessage, MessageHeaders, ProduceMessage } from '../pipelines/bus/types.js';
import { connectorDeadLetter } from '../pipelines/normalize/connector-dead-letter.js';
import { RetryAbortedError, type RetryPolicy } from '../pipelines/retry.js';
import { FakeProducer } from '../test/support/fake-producer.js';
import { BusSender } from './send.js';

const fast: RetryPolicy = { initialMs: 1, maxMs: 4, factor: 2, maxAttempts: Infinity };

function sender(producer: FakeProducer, signal = new AbortController().signal, policy = fast) {
  return new BusSender({ connector: 'test', producer, signal, policy });
}

describe('BusSender', () => {
  it('a send failing with a full disk backs off, resumes, and acknowledges every message once, in order', async () => {
    const producer = new FakeProducer();
    const s = sender(producer);
    producer.failNext(4);
    const messages = ['a', 'b', 'c'].map((value) => ({ key: 'k', value }));
    await s.send('sensor', messages);
    expect(producer.acknowledged.map((m) => [m.topic, m.value])).toEqual([
      ['raw.sensor', 'a'],
      ['raw.sensor', 'b'],
      ['raw.sensor', 'c'],
    ]);
    expect(s.sent).toEqual({ sensor: 3 });
    // Health shows it happened, and that nothing is wrong any more.
    expect(s.health.retries).toBe(4);
    expect(s.health.last_error_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(s.health.error).toBeUndefined();
    expect(s.health.last_success_at! >= s.health.last_error_at!).toBe(true);
  });

  it('counts the body bytes the bus acknowledged per feed (UTF-8), dead letters included, and none of a failed send', async () => {
    const producer = new FakeProducer();
    producer.maxMessageBytes = 100;
    const s = sender(producer);
    expect(s.health.last_success_at).toBeUndefined();
    await s.send('hotline', [{ value: '受理' }, { value: Buffer.from('abc') }]);
    expect(s.bytesSent).toEqual({ hotline: 6 + 3 });
    await s.send('sensor', [{ value: 'x'.repeat(200) }]); // over the limit: its dead letter is what was appended
    const letter = producer.acknowledged.find((m) => m.topic === 'dlq.sensor')!;
    expect(s.bytesSent.sensor).toBe(Buffer.byteLength(letter.value));
    const controller = new AbortController();
    const failing = sender(producer, controller.signal);
    producer.failNext(Infinity);
    const sending = failing.send('video', [{ value: 'never' }]);
    await producer.failed(producer.failures + 1);
    controller.abort();
    await expect(sending).rejects.toBeInstanceOf(RetryAbortedError);
    expect(failing.bytesSent).toEqual({});
    expect(failing.health.last_success_at).toBeUndefined();
  });

  it('while the disk stays full, health says what is failing', async () => {
    const producer = new FakeProducer();
    const controller = new AbortController();
    const s = sender(producer, controller.signal);
    producer.failNext(Infinity);
    const sending = s.send('hotline', [{ value: 'x' }]);
    await producer.failed(2);
    expect(s.health.error).toMatch(/raw\.hotline.*ENOSPC/);
    controller.abort();
    await expect(sending).rejects.toBeInstanceOf(RetryAbortedError);
    expect(producer.acknowledged).toEqual([]);
    expect(s.sent).toEqual({});
  });

  it('aborting the signal ends a long backoff wait at once', async () => {
    const producer = new FakeProducer();
    const controller = new AbortController();
    // An hour between attempts: only the abort can end this send within the test's time.
    const s = sender(producer, controller.signal, {
      initialMs: 3_600_000,
      maxMs: 3_600_000,
      factor: 1,
      maxAttempts: 9,
    });
    producer.failNext(Infinity);
    const sending = s.send('video', [{ value: 'x' }]);
    await producer.failed(1);
    controller.abort();
    await expect(sending).rejects.toBeInstanceOf(RetryAbortedError);
  });

  it('a message the bus refuses as too large becomes a dead letter on dlq.<feed>; the others are sent in order', async () => {
    const producer = new FakeProducer();
    producer.maxMessageBytes = 10;
    const s = sender(producer);
    const values = ['one', 'two', 'x'.repeat(11), 'four', 'y'.repeat(50), 'six'];
    await s.send(
      'dept',
      values.map((value) => ({ key: 'k', value })),
      values.map((_, i) => `file-${i}.json`),
    );
    expect(producer.acknowledged.map((m) => m.topic)).toEqual([
      'raw.dept',
      'raw.dept',
      'dlq.dept',
      'raw.dept',
      'dlq.dept',
      'raw.dept',
    ]);
    const raw = producer.acknowledged.filter((m) => m.topic === 'raw.dept').map((m) => m.value);
    expect(raw).toEqual(['one', 'two', 'four', 'six']);
    const letters = producer.acknowledged
      .filter((m) => m.topic === 'dlq.dept')
      .map((m) => connectorDeadLetter.parse(JSON.parse(m.value)));
    expect(letters.map((l) => [l.reason_code, l.source_ref, l.connector, l.raw])).toEqual([
      ['oversized', 'file-2.json', 'test', 'x'.repeat(11)],
      ['oversized', 'file-4.json', 'test', 'y'.repeat(50)],
    ]);
    expect(letters[0]!.issues[0]!.message).toMatch(/at most 10/);
    // Every message counts as sent (the pipeline receives it, raw or as a dead letter); two were dead-lettered.
    expect(s.sent).toEqual({ dept: 6 });
    expect(s.deadLettered).toEqual({ dept: 2 });
  });

  it('a failure that retrying cannot fix is not retried', async () => {
    const producer = new FakeProducer();
    producer.beforeSend = () => {
      throw new TypeError('a bug');
    };
    await expect(sender(producer).send('event', [{ value: 'x' }])).rejects.toBeInstanceOf(TypeError);
    expect(producer.attempts).toBe(1);
  });

  it('stamps cityhub-source with the connector id on every message, keeping the headers the connector set', async () => {
    const producer = new FakeProducer();
    const seen: (MessageHeaders | undefined)[] = [];
    producer.beforeSend = (_topic, messages) => seen.push(...messages.map((m) => m.headers));
    const given: ProduceMessage[] = [
      { key: 'k', value: 'a' },
      { key: 'k', value: 'b', headers: { 'mqtt-topic': 'city/330106/aq', line: '7' } },
      // A connector cannot pass itself off as another: the sender's id wins.
      { key: 'k', value: 'c', headers: { 'cityhub-source': 'someone-else' } },
    ];
    await sender(producer).send('sensor', given);
    expect(seen).toEqual([
      { 'cityhub-source': 'test' },
      { 'mqtt-topic': 'city/330106/aq', line: '7', 'cityhub-source': 'test' },
      { 'cityhub-source': 'test' },
    ]);
    // The caller's messages are left as they were (a connector may reuse them).
    expect(given[0]).toEqual({ key: 'k', value: 'a' });
    expect(given[2]!.headers).toEqual({ 'cityhub-source': 'someone-else' });
  });
});

describe('BusSender on the embedded bus: headers', () => {
  const fixture = new BusFixture();
  afterEach(() => fixture.cleanup());

  async function readTopic(bus: Bus, topic: string): Promise<BusMessage[]> {
    return (await bus.read({ topic, partition: 0 }, 0, 100)).messages;
  }

  it('a message with headers the bus cannot carry becomes a dead letter stamped with the connector; the rest go on', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir(), maxMessageBytes: 100_000 });
    for (const topic of ['raw.dept', 'dlq.dept']) await bus.ensureTopic(topic, { partitions: 1 });
    const s = new BusSender({
      connector: 'dept-files-a',
      producer: bus.producer(),
      signal: new AbortController().signal,
    });
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, 'v']));
    await s.send(
      'dept',
      [
        { key: 'k', value: 'first', headers: { file: 'a.csv', line: '2' } },
        { key: 'k', value: 'bad headers', headers: tooMany },
        { key: 'k', value: 'x'.repeat(200_000), headers: { file: 'a.csv', line: '4' } },
        { key: 'k', value: 'last' },
      ],
      ['a.csv:2', 'a.csv:3', 'a.csv:4', 'a.csv:5'],
    );
    const raw = await readTopic(bus, 'raw.dept');
    expect(raw.map((m) => [m.value.toString(), { ...m.headers }])).toEqual([
      ['first', { file: 'a.csv', line: '2', 'cityhub-source': 'dept-files-a' }],
      ['last', { 'cityhub-source': 'dept-files-a' }],
    ]);
    const dead = await readTopic(bus, 'dlq.dept');
    expect(
      dead.map((m) => [connectorDeadLetter.parse(JSON.parse(m.value.toString())).reason_code, { ...m.headers }]),
    ).toEqual([
      ['invalid_headers', { 'cityhub-source': 'dept-files-a' }],
      ['oversized', { file: 'a.csv', line: '4', 'cityhub-source': 'dept-files-a' }],
    ]);
    expect(s.sent).toEqual({ dept: 4 });
    expect(s.deadLettered).toEqual({ dept: 2 });
  });
  it('a per-call source is the cityhub-source of its messages and of their dead letters, and names the letter', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir(), maxMessageBytes: 4096 });
    for (const topic of ['raw.sensor', 'dlq.sensor']) await bus.ensureTopic(topic, { partitions: 1 });
    // One sender for a listener serving two sources (http-ingest).
    const s = new BusSender({ connector: 'push', producer: bus.producer(), signal: new AbortController().signal });
    const refused = await s.send(
      'sensor',
      [
        { key: null, value: '{"dev":"WL-1"}' },
        { key: null, value: 'x'.repeat(5000) },
        { key: null, value: '{"dev":"WL-2"}', headers: { 'cityhub-source': 'push' } },
        { key: null, value: 'y'.repeat(6000) },
      ],
      undefined,
      'river-sensors',
    );
    await s.send('sensor', [{ key: null, value: '{"dev":"AQ-1"}' }], undefined, 'air-sensors');
    await s.deadLetters(
      'sensor',
      [{ message: { key: null, value: '42' }, reason: 'not_an_object', explanation: 'a number' }],
      'air-sensors',
    );
    await s.send('sensor', [{ key: null, value: '{"dev":"own"}' }]);

    const raw = await readTopic(bus, 'raw.sensor');
    expect(raw.map((m) => [m.value.toString(), m.headers?.['cityhub-source']])).toEqual([
      ['{"dev":"WL-1"}', 'river-sensors'],
      ['{"dev":"WL-2"}', 'river-sensors'],
      ['{"dev":"AQ-1"}', 'air-sensors'],
      ['{"dev":"own"}', 'push'],
    ]);
    const dead = await readTopic(bus, 'dlq.sensor');
    expect(
      dead.map((m) => {
        const letter = connectorDeadLetter.parse(JSON.parse(m.value.toString()));
        return [m.headers?.['cityhub-source'], letter.connector, letter.reason_code];
      }),
    ).toEqual([
      ['river-sensors', 'river-sensors', 'oversized'],
      ['river-sensors', 'river-sensors', 'oversized'],
      ['air-sensors', 'air-sensors', 'not_an_object'],
    ]);
    // send() tells its caller which messages went to dlq.<feed>, by their index in what it was given.
    expect(refused.map((r) => [r.index, r.reason])).toEqual([
      [1, 'oversized'],
      [3, 'oversized'],
    ]);
    expect(refused[0]!.explanation).toMatch(/4096/);
    expect(s.sent).toEqual({ sensor: 7 });
    expect(s.deadLettered).toEqual({ sensor: 3 });
  });

  it('an oversized message under a bus limit below 64 KiB still becomes a dead letter that fits it', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir(), maxMessageBytes: 4096 });
    for (const topic of ['raw.sensor', 'dlq.sensor']) await bus.ensureTopic(topic, { partitions: 1 });
    const s = new BusSender({ connector: 'mqtt-a', producer: bus.producer(), signal: new AbortController().signal });
    // 40 KiB of Chinese text with quotes and control characters (which JSON escapes to more bytes).
    const body = '文三路"\u0001传感器'.repeat(4000);
    await s.send(
      'sensor',
      [
        { key: 'k', value: 'before' },
        { key: 'k', value: body, headers: { 'mqtt-topic': 'city/330106/air' } },
        { key: 'k', value: 'after' },
      ],
      ['m1', 'm2', 'm3'],
    );
    expect((await readTopic(bus, 'raw.sensor')).map((m) => m.value.toString())).toEqual(['before', 'after']);
    const [dead, ...more] = await readTopic(bus, 'dlq.sensor');
    expect(more).toEqual([]);
    expect(dead!.value.length).toBeLessThanOrEqual(4096);
    const letter = connectorDeadLetter.parse(JSON.parse(dead!.value.toString()));
    expect(letter).toMatchObject({ reason_code: 'oversized', raw_truncated: true, source_ref: 'm2' });
    expect(body.startsWith(letter.raw)).toBe(true);
    expect(letter.raw.length).toBeGreaterThan(500);
    expect({ ...dead!.headers }).toEqual({ 'mqtt-topic': 'city/330106/air', 'cityhub-source': 'mqtt-a' });
    expect(s.sent).toEqual({ sensor: 3 });
    expect(s.deadLettered).toEqual({ sensor: 1 });
  });

  it('deadLetters sends a batch of letters in one bus send, counted one by one', async () => {
    const bus = await fixture.open({ dir: fixture.tempDir(), maxMessageBytes: 4096 });
    for (const topic of ['raw.dept', 'dlq.dept']) await bus.ensureTopic(topic, { partitions: 1 });
    const producer = bus.producer();
    let sends = 0;
    const s = new BusSender({
      connector: 'dept-files-a',
      producer: {
        send: (topic, messages) => {
          sends++;
          return producer.send(topic, messages);
        },
        close: () => producer.close(),
      },
      signal: new AbortController().signal,
    });
    const letters = Array.from({ length: 500 }, (_, i) => ({
      message: { key: 'R330106003', value: JSON.stringify({ 名称: `行${i}`, 数量: 'x' }) },
      reason: 'invalid',
      explanation: '数量: expected an integer',
      sourceRef: `a.csv:${i + 2}`,
    }));
    // One letter too large for the bus is cut to fit, not a reason to refuse the batch.
    letters[7]!.message.value = '很长的一行'.repeat(2000);
    await s.deadLetters('dept', letters);
    expect(sends).toBeLessThanOrEqual(2);
    const dead = (await bus.read({ topic: 'dlq.dept', partition: 0 }, 0, 1000)).messages;
    const parsed = dead.map((m) => connectorDeadLetter.parse(JSON.parse(m.value.toString())));
    expect(parsed.map((l) => l.source_ref)).toEqual(letters.map((l) => l.sourceRef));
    expect(parsed[7]).toMatchObject({ raw_truncated: true });
    expect(s.sent).toEqual({ dept: 500 });
    expect(s.deadLettered).toEqual({ dept: 500 });
  });
});
