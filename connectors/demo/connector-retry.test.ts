import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { FakeProducer } from '../../test/support/fake-producer.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { feeds, rawTopic } from '../types.js';
import { DemoConnector } from './connector.js';
import { historyMessages } from './index.js';
import { regions } from './testing/fixtures.js';

const fast: RetryPolicy = { initialMs: 1, maxMs: 4, factor: 2, maxAttempts: Infinity };
const log = pino({ level: 'silent' });
const config = {
  id: 'demo',
  kind: 'demo' as const,
  seed: 5,
  start_month: '2026-03',
  months: 1,
  scale: 0.05,
  live: false,
  live_tick_ms: 1000,
  batch_size: 40,
};

describe('the demo connector on a failing bus', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  async function checkpointPath(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'cityhub-demo-retry-'));
    dirs.push(dir);
    return join(dir, 'demo.json');
  }

  it('a full disk makes it back off and resume: every message acknowledged once, in order; the checkpoint never ahead', async () => {
    const path = await checkpointPath();
    const connector = new DemoConnector(config, regions);
    const checkpoint = await SourceCheckpoint.open(path);
    const history = [...historyMessages(connector.city)];
    expect(history.length).toBeGreaterThan(200);
    const producer = new FakeProducer();
    // The history message at each position counts as acknowledged once the bus took it (a multiset: the demo
    // deliberately repeats some messages).
    const acknowledgedCount = new Map<string, number>();
    const id = (feed: string, key: string | null, value: string) => `${feed}\u0000${key}\u0000${value}`;
    let checkpointChecks = 0;
    producer.beforeSend = () => {
      // Whatever the checkpoint says is done must already be acknowledged by the bus.
      let acked = 0;
      try {
        acked = (JSON.parse(readFileSync(path, 'utf8')) as { position: { acked: number } }).position.acked;
      } catch {
        return; // no checkpoint written yet
      }
      checkpointChecks++;
      const remaining = new Map(acknowledgedCount);
      for (const m of history.slice(0, acked)) {
        const k = id(rawTopic(m.feed), m.key, m.value);
        const left = remaining.get(k) ?? 0;
        expect(left, `checkpoint at ${acked} passed an unacknowledged message`).toBeGreaterThan(0);
        remaining.set(k, left - 1);
      }
    };
    let counted = 0;
    const track = () => {
      for (const m of producer.acknowledged.slice(counted)) {
        const k = id(m.topic, m.key, m.value);
        acknowledgedCount.set(k, (acknowledgedCount.get(k) ?? 0) + 1);
      }
      counted = producer.acknowledged.length;
    };
    const originalSend = producer.send.bind(producer);
    producer.send = async (topic, messages) => {
      // The disk fills up three times during the history, for a few attempts each.
      if (producer.attempts === 2 || producer.attempts === 9 || producer.attempts === 20) producer.failNext(3);
      try {
        return await originalSend(topic, messages);
      } finally {
        track();
      }
    };

    await connector.start({ producer, log, retryPolicy: fast, checkpoint });
    await connector.done;
    await connector.stop();

    expect(producer.failures).toBe(9);
    for (const feed of feeds) {
      const expected = history.filter((m) => m.feed === feed).map((m) => m.value);
      const got = producer.acknowledged.filter((m) => m.topic === rawTopic(feed)).map((m) => m.value);
      expect(got, `${feed}: acknowledged exactly once, in order`).toEqual(expected);
    }
    expect(checkpointChecks).toBeGreaterThan(3);
    expect(JSON.parse(readFileSync(path, 'utf8')).position.acked).toBe(history.length);
    const health = connector.health();
    expect(health.state).toBe('stopped');
    expect(health.retries).toBe(9);
    expect(health.error).toBeUndefined();
    expect(health.last_error_at).toBeDefined();
    expect(Object.values(health.sent).reduce((a, b) => a + b, 0)).toBe(history.length);
  });

  it('stop() during a backoff ends it at once and health says the bus was failing', async () => {
    const connector = new DemoConnector(config, regions);
    const producer = new FakeProducer();
    producer.failNext(Infinity);
    const slow: RetryPolicy = { initialMs: 3_600_000, maxMs: 3_600_000, factor: 1, maxAttempts: Infinity };
    await connector.start({ producer, log, retryPolicy: slow });
    await producer.failed(1);
    expect(connector.health()).toMatchObject({ state: 'running', retries: 1, error: expect.stringMatching(/ENOSPC/) });
    await connector.stop();
    await expect(connector.done).rejects.toThrow(/stopped while waiting to retry/);
    const health = connector.health();
    expect(health.state).toBe('failed');
    expect(health.error).toMatch(/ENOSPC/);
    expect(producer.acknowledged).toEqual([]);
  });

  it('a message the bus refuses as too large is dead-lettered and the history goes on', async () => {
    const connector = new DemoConnector(config, regions);
    const history = [...historyMessages(connector.city)];
    const sizes = history.map((m) => Buffer.byteLength(m.value)).sort((a, b) => a - b);
    const producer = new FakeProducer();
    // Refuse the largest few messages.
    producer.maxMessageBytes = sizes[sizes.length - 4]! - 1;
    await connector.start({ producer, log, retryPolicy: fast });
    await connector.done;
    const tooLarge = history.filter((m) => Buffer.byteLength(m.value) > producer.maxMessageBytes);
    expect(tooLarge.length).toBeGreaterThanOrEqual(4);
    const letters = producer.acknowledged.filter((m) => m.topic.startsWith('dlq.'));
    expect(letters.length).toBe(tooLarge.length);
    const raw = producer.acknowledged.filter((m) => m.topic.startsWith('raw.'));
    expect(raw.length + letters.length).toBe(history.length);
    const health = connector.health();
    expect(Object.values(health.dead_lettered ?? {}).reduce((a, b) => a + b, 0)).toBe(tooLarge.length);
    expect(Object.values(health.sent).reduce((a, b) => a + b, 0)).toBe(history.length);
  });
});
