import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { diskFullError } from '../../test/support/fake-producer.js';
import { sensorMqttConnectorConfig } from './config.js';
import { landed, MqttRig } from './testing.js';
import { topicLevel } from './topic.js';

const waitLong = { timeout: 20_000, interval: 10 };

let rig: MqttRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function subscribed(connector: { health(): { progress?: Record<string, number> } }): Promise<void> {
  await vi.waitFor(() => expect(connector.health().progress?.connected).toBe(1), waitLong);
}

describe('sensor-mqtt against a real aedes broker', () => {
  it('lands QoS 1 messages of wildcard subscriptions on raw.sensor keyed by a topic level, with the topic as a header, and acknowledges them', async () => {
    rig = await MqttRig.open();
    const connector = await rig.connector({ topics: ['city/+/+/reading', 'alarm/#'], key_segment: 2 });
    await subscribed(connector);
    const device = await rig.publisher();
    await device.publishAsync('city/340104/HF-P-001/reading', '{"v":1}', { qos: 1 });
    await device.publishAsync('alarm/340104/smoke/HF-S-9', '{"v":2}', { qos: 1 });
    await device.publishAsync('city/340104/HF-P-001/status', '{"v":3}', { qos: 1 }); // matches no filter
    await vi.waitFor(() => expect(rig!.acked).toHaveLength(2), waitLong);

    const messages = (await landed(rig.bus)).sort((a, b) => a.value.localeCompare(b.value));
    expect(messages.map((m) => [m.key, m.value, m.headers])).toEqual([
      ['HF-P-001', '{"v":1}', { 'mqtt-topic': 'city/340104/HF-P-001/reading', 'cityhub-source': 'sensors' }],
      ['smoke', '{"v":2}', { 'mqtt-topic': 'alarm/340104/smoke/HF-S-9', 'cityhub-source': 'sensors' }],
    ]);
    await connector.stop();
    expect(connector.health()).toMatchObject({ state: 'stopped', sent: { sensor: 2 } });
    expect(connector.health().error).toBeUndefined();
  });

  it('never acknowledges a message before its append: while the send hangs the broker holds it, and a successor with the same client id gets it again', async () => {
    rig = await MqttRig.open();
    const producer = rig.controlled(diskFullError);
    producer.hold();
    // A slow reconnect, so the successor below keeps the session while the test looks.
    const connector = await rig.connector({}, producer, {
      initialMs: 60_000,
      maxMs: 60_000,
      factor: 1,
      maxAttempts: Infinity,
    });
    await subscribed(connector);
    const entered = producer.entered();
    const device = await rig.publisher();
    await device.publishAsync('city/340104/HF-P-001/reading', 'held', { qos: 1 });
    await entered;
    expect(rig.acked).toEqual([]);

    // The hub dies with the append in flight; its successor (same client id, persistent session) takes over.
    const successor = await connectAsync(rig.peer.url, { clientId: rig.clientId, clean: false, reconnectPeriod: 0 });
    rig.clients.push(successor);
    const redelivered = new Promise<string>((resolve) =>
      successor.on('message', (_topic, payload) => resolve(payload.toString())),
    );
    expect(await redelivered).toBe('held');

    // The append completes on the dead connection: no PUBACK goes to a connection that is gone.
    producer.release();
    await connector.stop();
    expect((await landed(rig.bus)).map((m) => m.value)).toEqual(['held']);
    expect(rig.acked.filter((p) => p === 'held')).toHaveLength(1); // the successor's, not the dead connection's
  });

  it('keeps a persistent session: messages published while the connector is stopped arrive when it starts again', async () => {
    rig = await MqttRig.open();
    const first = await rig.connector();
    await subscribed(first);
    await first.stop();
    const device = await rig.publisher();
    for (let i = 0; i < 5; i++)
      await device.publishAsync(`city/340104/dev-${i}/reading`, `while-down-${i}`, { qos: 1 });

    const second = await rig.connector();
    await vi.waitFor(() => expect(rig!.acked).toHaveLength(5), waitLong);
    expect((await landed(rig.bus)).map((m) => m.value).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `while-down-${i}`));
    await second.stop();
  });

  it('with the broker down at start it retries with backoff, reports unhealthy, and recovers when the broker comes up', async () => {
    rig = await MqttRig.open({ listening: false });
    const connector = await rig.connector();
    await vi.waitFor(() => {
      const health = connector.health();
      expect(health.state).toBe('running');
      expect(health.progress?.connected).toBe(0);
      expect(health.error).toMatch(/mqtt broker mqtt:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED.*reconnecting in \d+ ms/);
      expect(health.last_error_at).toBeDefined();
    }, waitLong);

    await rig.peer.up();
    await subscribed(connector);
    expect(connector.health().error).toBeUndefined();
    const device = await rig.publisher();
    await device.publishAsync('city/340104/HF-P-001/reading', 'after-recovery', { qos: 1 });
    await vi.waitFor(() => expect(rig!.acked).toEqual(['after-recovery']), waitLong);
    await connector.stop();
  });

  it('loses no acknowledged message when the broker drops every connection mid-stream; it reconnects and repeats only unacknowledged ones', async () => {
    rig = await MqttRig.open();
    const connector = await rig.connector({ batch_max_messages: 50 });
    await subscribed(connector);
    const device = await rig.publisher();
    const publish = (from: number, to: number) =>
      Promise.all(
        Array.from({ length: to - from }, (_, i) =>
          device.publishAsync(`city/340104/dev-${(from + i) % 10}/reading`, `m-${from + i}`, { qos: 1 }),
        ),
      );
    await publish(0, 1000); // all with the broker: what follows can only repeat what the connector had not acknowledged
    await vi.waitFor(() => expect(rig!.acked.length).toBeGreaterThan(100), waitLong);
    await rig.peer.down();
    const acknowledgedBeforeDrop = new Set(rig.acked);
    await vi.waitFor(() => expect(connector.health().error).toMatch(/lost|ECONNREFUSED/), waitLong);
    await rig.peer.up();
    await publish(1000, 2000);

    await vi.waitFor(async () => {
      expect(new Set((await landed(rig!.bus)).map((m) => m.value)).size).toBe(2000);
    }, waitLong);
    const seen = new Map<string, number>();
    for (const { value } of await landed(rig.bus)) seen.set(value, (seen.get(value) ?? 0) + 1);
    const repeated = [...seen].filter(([, n]) => n > 1).map(([value]) => value);
    expect(repeated.filter((value) => acknowledgedBeforeDrop.has(value))).toEqual([]);
    expect(connector.health().progress?.connects).toBeGreaterThanOrEqual(2);
    expect(connector.health().error).toBeUndefined();
    await connector.stop();
  });

  it('acknowledges nothing while the bus is full; a stopped connector leaves it all with the broker, which redelivers it to the next start', async () => {
    rig = await MqttRig.open();
    const producer = rig.controlled(diskFullError);
    producer.full = true;
    const connector = await rig.connector({}, producer);
    await subscribed(connector);
    const device = await rig.publisher();
    for (let i = 0; i < 3; i++) await device.publishAsync(`city/340104/dev-${i}/reading`, `full-${i}`, { qos: 1 });
    await vi.waitFor(() => {
      expect(producer.failures).toBeGreaterThanOrEqual(3);
      expect(connector.health().error).toMatch(/ENOSPC/);
    }, waitLong);
    expect(rig.acked).toEqual([]);
    await connector.stop();
    expect(connector.health().state).toBe('failed');
    expect(rig.acked).toEqual([]);
    expect(await landed(rig.bus)).toEqual([]);

    // Space freed; the next start gets every message again from the broker.
    producer.full = false;
    const next = await rig.connector({}, producer);
    await vi.waitFor(() => expect(rig!.acked.sort()).toEqual(['full-0', 'full-1', 'full-2']), waitLong);
    expect((await landed(rig.bus)).map((m) => m.value).sort()).toEqual(['full-0', 'full-1', 'full-2']);
    await next.stop();
    expect(next.health().state).toBe('stopped');
  });

  it('acknowledges messages only once a full bus has recovered', async () => {
    rig = await MqttRig.open();
    const producer = rig.controlled(diskFullError);
    producer.full = true;
    const connector = await rig.connector({}, producer);
    await subscribed(connector);
    const device = await rig.publisher();
    await device.publishAsync('city/340104/dev-1/reading', 'waits', { qos: 1 });
    await vi.waitFor(() => expect(producer.failures).toBeGreaterThanOrEqual(2), waitLong);
    expect(rig.acked).toEqual([]);
    producer.full = false;
    await vi.waitFor(() => expect(rig!.acked).toEqual(['waits']), waitLong);
    expect(connector.health().error).toBeUndefined();
    expect(connector.health().retries).toBeGreaterThanOrEqual(2);
    await connector.stop();
  });

  it('dead-letters a payload the bus refuses as too large, still acknowledges it, and sends the others', async () => {
    rig = await MqttRig.open({ maxMessageBytes: 4096 });
    const connector = await rig.connector({ batch_max_wait_ms: 200 });
    await subscribed(connector);
    const device = await rig.publisher();
    await Promise.all([
      device.publishAsync('city/340104/a/reading', 'before', { qos: 1 }),
      device.publishAsync('city/340104/b/reading', 'x'.repeat(10_000), { qos: 1 }),
      device.publishAsync('city/340104/c/reading', 'after', { qos: 1 }),
    ]);
    await vi.waitFor(() => expect(rig!.acked).toHaveLength(3), waitLong);
    expect((await landed(rig.bus)).map((m) => m.value).sort()).toEqual(['after', 'before']);
    const [letter] = await landed(rig.bus, 'dlq.sensor');
    expect(JSON.parse(letter!.value)).toMatchObject({ reason_code: 'oversized', connector: 'sensors' });
    expect(letter!.headers['mqtt-topic']).toBe('city/340104/b/reading');
    expect(connector.health()).toMatchObject({ sent: { sensor: 3 }, dead_lettered: { sensor: 1 } });
    await connector.stop();
  });
});

describe('sensor-mqtt config and topic levels', () => {
  const base = { id: 's', kind: 'sensor-mqtt', url: 'mqtt://broker:1883', client_id: 'hub', topics: ['a/+/#'] };

  it('accepts wildcard filters and fills the defaults', () => {
    expect(sensorMqttConnectorConfig.parse(base)).toMatchObject({ qos: 1, feed: 'sensor', batch_max_messages: 500 });
  });

  it.each([
    [{ topics: ['a/#/b'] }, 'topics.0'],
    [{ topics: ['a/b+'] }, 'topics.0'],
    [{ url: 'http://broker' }, 'url'],
    [{ qos: 2 }, 'qos'],
    [{ batch_size: 3 }, ''],
  ])('rejects %j', (override, path) => {
    const result = sensorMqttConnectorConfig.safeParse({ ...base, ...override });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path.join('.')).toBe(path);
  });

  it('reads a topic level from the front or the back', () => {
    const topic = 'city/340104/pressure/HF-P-001';
    expect([0, 1, 3, 4, -1, -2, -4, -5].map((n) => topicLevel(topic, n))).toEqual([
      'city',
      '340104',
      'HF-P-001',
      undefined,
      'HF-P-001',
      'pressure',
      'city',
      undefined,
    ]);
  });
});

describe('sensor-mqtt at qos 0', () => {
  it('subscribes at QoS 0 and appends what the broker delivers (nothing to acknowledge); health shows qos and in-flight', async () => {
    rig = await MqttRig.open();
    const granted: { topic: string; qos: number }[] = [];
    rig.peer.broker.on('subscribe', (subscriptions, client) => {
      if (client?.id === rig!.clientId) granted.push(...subscriptions.map((s) => ({ topic: s.topic, qos: s.qos })));
    });
    const connector = await rig.connector({ qos: 0, topics: ['city/+/+/reading', 'alarm/#'] });
    await subscribed(connector);
    expect(granted).toEqual([
      { topic: 'city/+/+/reading', qos: 0 },
      { topic: 'alarm/#', qos: 0 },
    ]);
    const device = await rig.publisher();
    await device.publishAsync('city/340104/HF-P-001/reading', 'at-most-once', { qos: 0 });
    // Published at QoS 1, delivered at the subscription's QoS 0: the broker forgets it once sent.
    await device.publishAsync('alarm/340104/smoke/HF-S-9', 'downgraded', { qos: 1 });
    await vi.waitFor(
      async () => expect((await landed(rig!.bus)).map((m) => m.value).sort()).toEqual(['at-most-once', 'downgraded']),
      waitLong,
    );
    await vi.waitFor(
      () => expect(connector.health().progress).toMatchObject({ qos: 0, in_flight: 0, acknowledged: 2 }),
      waitLong,
    );
    expect(rig.acked).toEqual([]);
    await connector.stop();
    expect(connector.health()).toMatchObject({ state: 'stopped', sent: { sensor: 2 } });
  });
});
