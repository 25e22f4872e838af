import { describe, expect, it } from 'vitest';
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
});
