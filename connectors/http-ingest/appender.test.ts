import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { FakeProducer } from '../../test/support/fake-producer.js';
import { BusSender } from '../send.js';
import { GroupAppender } from './appender.js';

const fast: RetryPolicy = { initialMs: 1, maxMs: 2, factor: 2, maxAttempts: Infinity };
const small = (id: string) => ({ key: null, value: JSON.stringify({ id }) });
const big = (id: string) => ({ key: null, value: JSON.stringify({ id, note: 'x'.repeat(300) }) });

describe('GroupAppender', () => {
  it('requests that share a bus send are each told which of their own messages the bus refused', async () => {
    const producer = new FakeProducer();
    producer.maxMessageBytes = 200;
    const sizes: number[] = [];
    producer.beforeSend = (topic, messages) => {
      if (topic === 'raw.sensor') sizes.push(messages.length);
    };
    const sender = new BusSender({ connector: 'push', producer, signal: new AbortController().signal, policy: fast });
    const appender = new GroupAppender(sender, undefined, undefined);
    // The first request's flush is on its way when the next three queue: those three go in one send.
    const first = appender.append('river', 'sensor', [small('a')], []);
    const second = appender.append('river', 'sensor', [small('b'), big('c')], []);
    const third = appender.append('river', 'sensor', [big('d'), small('e'), big('f')], []);
    const fourth = appender.append('river', 'sensor', [small('g')], []);
    const [a, b, c, d] = await Promise.all([first, second, third, fourth]);
    expect(sizes[0]).toBe(1);
    expect(sizes[1]).toBe(6);
    expect(a).toEqual([]);
    expect(b.map((r) => [r.index, r.reason])).toEqual([[1, 'oversized']]);
    expect(c.map((r) => [r.index, r.reason])).toEqual([
      [0, 'oversized'],
      [2, 'oversized'],
    ]);
    expect(d).toEqual([]);
    const raw = producer.acknowledged.filter((m) => m.topic === 'raw.sensor').map((m) => JSON.parse(m.value).id);
    expect(raw).toEqual(['a', 'b', 'e', 'g']);
    expect(producer.acknowledged.filter((m) => m.topic === 'dlq.sensor')).toHaveLength(3);
  });
});
