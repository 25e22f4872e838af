/**
 * The conformance suite every connector kind passes (issue 8 item 1, after Benthos' and Kafka Connect's contracts):
 * records reach the bus at least once across a restart, the source is acknowledged only after the durable append, a
 * failing bus is waited out (health says so) and stop() ends cleanly. A kind joins by giving a harness that drives its
 * real peer (a folder, a broker, a server); the suite brings a real embedded bus and the connector's checkpoint.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SourceCheckpoint } from '../../connectors/source-checkpoint.js';
import type { Connector, ConnectorContext } from '../../connectors/types.js';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import type { Bus, BusMessage, BusProducer, ProduceMessage } from '../../pipelines/bus/types.js';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { diskFullError } from './fake-producer.js';

export interface ConformanceHarness {
  /** The topics the connector sends to (created on the suite's bus). */
  readonly topics: readonly string[];
  /** Makes the source offer `count` new records (at its peer); returns an identity for each. */
  offer(count: number): Promise<string[]>;
  /** The identity of a record as it lies on the bus (the inverse of what offer() returned). */
  identify(message: BusMessage): string | undefined;
  /** A connector instance over the same source and state: a second call is a restart. */
  connector(): Connector;
  /** Whether the peer saw the record acknowledged (file moved, PUBACK, HTTP answer, cursor committed …). */
  acknowledged(id: string): Promise<boolean>;
  /** Stops the peer and removes what it made. */
  close(): Promise<void>;
  /** What else the connector needs from the hub at start (catalogs). */
  context?: Partial<ConnectorContext>;
}

const fast: RetryPolicy = { initialMs: 5, maxMs: 20, factor: 2, maxAttempts: Infinity };

/**
 * A producer over the real bus whose sends a test can hold back or fail, and which reports each acknowledged send:
 * the suite awaits those reports instead of sleeping.
 */
class ObservedProducer implements BusProducer {
  failuresLeft = 0;
  failures = 0;
  private hold: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private readonly waiters: { ready: () => boolean; resolve: () => void }[] = [];
  private attemptsSeen = 0;
  /** Grows at every attempt, failure and acknowledgement: what a waiter for "something happened" watches. */
  progress = 0;

  constructor(private readonly inner: BusProducer) {}

  holdSends(): void {
    this.hold = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  releaseSends(): void {
    this.release?.();
    this.hold = undefined;
  }

  get attempts(): number {
    return this.attemptsSeen;
  }

  async send(topic: string, messages: ProduceMessage[]) {
    this.attemptsSeen++;
    this.notify();
    if (this.hold) await this.hold;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      this.failures++;
      this.notify();
      throw diskFullError();
    }
    const result = await this.inner.send(topic, messages);
    this.notify();
    return result;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Resolves once `ready()` holds, checked after every send attempt and acknowledgement. */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  private notify(): void {
    this.progress++;
    for (const waiter of [...this.waiters]) {
      if (waiter.ready()) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

/** Every identity on the given topics, as often as it lies there. */
async function identitiesOn(bus: Bus, harness: ConformanceHarness): Promise<string[]> {
  const out: string[] = [];
  for (const topic of harness.topics) {
    for (const { partition, highWatermark } of await bus.describe(topic)) {
      for (let offset = 0; offset < highWatermark; ) {
        const { messages, nextOffset } = await bus.read({ topic, partition }, offset, 1000);
        for (const m of messages) {
          const id = harness.identify(m);
          if (id !== undefined) out.push(id);
        }
        if (nextOffset <= offset) break;
        offset = nextOffset;
      }
    }
  }
  return out;
}

export function describeConnectorConformance(kind: string, makeHarness: () => Promise<ConformanceHarness>): void {
  describe(`connector conformance: ${kind}`, () => {
    let dir: string;
    let bus: Bus;
    let harness: ConformanceHarness;
    let running: Connector | undefined;
    const log = pino({ level: 'silent' });

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), `cityhub-conformance-${kind}-`));
      bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'never' });
      harness = await makeHarness();
      for (const topic of harness.topics) await bus.ensureTopic(topic, { partitions: 2 });
    });
    afterEach(async () => {
      await running?.stop();
      running = undefined;
      await harness.close();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    });

    async function start(producer: ObservedProducer): Promise<Connector> {
      const checkpoint = await SourceCheckpoint.open(join(dir, 'checkpoints', `${kind}.json`), {
        bus,
        topics: harness.topics,
      });
      const connector = harness.connector();
      running = connector;
      await connector.start({
        ...harness.context,
        producer: checkpoint.guard(producer),
        checkpoint,
        log,
        retryPolicy: fast,
      });
      return connector;
    }

    async function onBus(producer: ObservedProducer, ids: readonly string[]): Promise<string[]> {
      const wanted = new Set(ids);
      let seen: string[] = [];
      // Re-read after every acknowledged send until every wanted identity is there.
      for (;;) {
        // Taken before reading: an acknowledgement that lands while the bus is read still wakes the wait below.
        const progress = producer.progress;
        seen = await identitiesOn(bus, harness);
        if ([...wanted].every((id) => seen.includes(id))) return seen;
        await producer.until(() => producer.progress > progress);
      }
    }

    it('every offered record reaches the bus, and records offered while it was down arrive after a restart', async () => {
      const producer = new ObservedProducer(bus.producer());
      const first = await harness.offer(5);
      const connector = await start(producer);
      await onBus(producer, first);
      for (const id of first) await expect.poll(() => harness.acknowledged(id), { timeout: 60_000 }).toBe(true);
      await connector.stop();
      running = undefined;

      const whileDown = await harness.offer(5);
      const again = new ObservedProducer(bus.producer());
      await start(again);
      const seen = await onBus(again, whileDown);
      for (const id of [...first, ...whileDown]) expect(seen, id).toContain(id);
    });

    it('acknowledges the source only after the bus took the record', async () => {
      const producer = new ObservedProducer(bus.producer());
      producer.holdSends();
      const [id] = await harness.offer(1);
      await start(producer);
      await producer.until(() => producer.attempts > 0);
      expect(await harness.acknowledged(id!)).toBe(false);
      producer.releaseSends();
      await onBus(producer, [id!]);
      await expect.poll(() => harness.acknowledged(id!), { timeout: 60_000 }).toBe(true);
    });

    it('waits out a failing bus: health says what is wrong, nothing is acknowledged, then everything arrives', async () => {
      const producer = new ObservedProducer(bus.producer());
      producer.failuresLeft = 3;
      const ids = await harness.offer(3);
      const connector = await start(producer);
      await producer.until(() => producer.failures >= 1);
      for (const id of ids) expect(await harness.acknowledged(id)).toBe(false);
      await onBus(producer, ids);
      expect(producer.failures).toBe(3);
      const health = connector.health();
      expect(health.state).toBe('running');
      expect(health.retries).toBeGreaterThanOrEqual(3);
      expect(health.last_error_at).toBeDefined();
      for (const id of ids) await expect.poll(() => harness.acknowledged(id), { timeout: 60_000 }).toBe(true);
      expect(connector.health().error).toBeUndefined();
    });

    it('stops cleanly: stop() resolves, the state is stopped, and nothing is sent after it', async () => {
      const producer = new ObservedProducer(bus.producer());
      const ids = await harness.offer(2);
      const connector = await start(producer);
      await onBus(producer, ids);
      await connector.stop();
      running = undefined;
      expect(connector.health().state).toBe('stopped');
      const attempts = producer.attempts;
      await harness.offer(2);
      await connector.done.catch(() => {});
      expect(producer.attempts).toBe(attempts);
    });
  });
}
