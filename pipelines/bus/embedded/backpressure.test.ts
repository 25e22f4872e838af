import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBusClosedError } from './index.js';
import { BusFixture, hasSettled } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

/** ~3 KiB, more than maxLagBytes below on its own. */
const batch = (tag: string) => Array.from({ length: 10 }, (_, i) => ({ value: `${tag}-${i}-${'x'.repeat(300)}` }));

async function setup(maxLagBytes: number) {
  const bus = await fixture.open({ dir: fixture.tempDir(), maxLagBytes, fsync: 'always' });
  await bus.ensureTopic('t', { partitions: 1 });
  await bus.ensureTopic('other', { partitions: 1 });
  return { bus, producer: bus.producer() };
}

describe('backpressure', () => {
  it('a send waits while the subscribed group lags by more than maxLagBytes, and goes once it commits', async () => {
    const { bus, producer } = await setup(2000);
    const consumer = bus.consumer({ groupId: 'slow' });
    await consumer.subscribe(['t']);
    await producer.send('t', batch('first')); // lag was 0: admitted
    const blocked = producer.send('t', batch('second'));
    expect(bus.backpressure.waiters).toBe(1);
    // A whole write + fsync round trip on another topic completes while the blocked send stays pending.
    await producer.send('other', batch('unrelated'));
    expect(await hasSettled(blocked)).toBe(false);
    expect((await bus.describe('t'))[0]!.highWatermark).toBe(10);

    const [polled] = await consumer.poll({ maxMessages: 100, maxWaitMs: 1000 });
    expect(await hasSettled(blocked)).toBe(false); // reading alone does not release: committing does
    await consumer.commit([{ topic: 't', partition: 0, offset: polled!.messages.at(-1)!.offset + 1 }]);
    const [result] = await blocked;
    expect(result).toMatchObject({ partition: 0, baseOffset: 10, count: 10 });
    expect(bus.backpressure.waiters).toBe(0);
  });

  it('applies only while a group is subscribed: no group, no wait; a leaving group releases waiters', async () => {
    const { bus, producer } = await setup(2000);
    for (let i = 0; i < 3; i++) await producer.send('t', batch(`free-${i}`));
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    const blocked = producer.send('t', batch('blocked'));
    await producer.send('other', batch('unrelated'));
    expect(await hasSettled(blocked)).toBe(false);
    await consumer.close();
    expect(await blocked).toMatchObject([{ baseOffset: 30 }]);
  });

  it('maxLagBytes 0 turns it off', async () => {
    const { bus, producer } = await setup(0);
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    for (let i = 0; i < 5; i++) await producer.send('t', batch(`${i}`));
    expect((await bus.describe('t'))[0]!.highWatermark).toBe(50);
  });

  it('closing the bus rejects waiting senders with EmbeddedBusClosedError', async () => {
    const { bus, producer } = await setup(2000);
    const consumer = bus.consumer({ groupId: 'g' });
    await consumer.subscribe(['t']);
    await producer.send('t', batch('first'));
    const blocked = producer.send('t', batch('second'));
    const outcome = blocked.catch((err: unknown) => err);
    await bus.close();
    expect(await outcome).toBeInstanceOf(EmbeddedBusClosedError);
  });
});
