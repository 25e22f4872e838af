import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBus } from '../../pipelines/bus/embedded/bus.js';
import { BusFixture } from '../../pipelines/bus/embedded/test-support.js';
import type { BusMessage, BusProducer } from '../../pipelines/bus/types.js';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { httpIngestConnectorConfig } from './config.js';
import { HttpIngestConnector } from './connector.js';
import { signedHeaders, TEST_SECRET } from './testing.js';

const log = pino({ level: 'silent' });
const fast: RetryPolicy = { initialMs: 1, maxMs: 2, factor: 2, maxAttempts: Infinity };
const fixture = new BusFixture();
const running: HttpIngestConnector[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
  await fixture.cleanup();
});

const topics = ['raw.video', 'dlq.video', 'raw.sensor', 'dlq.sensor'];

/** Holds every append at the bus until released: `reached` resolves when the first is waiting. */
function heldAppends() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  const wrap = (producer: BusProducer): BusProducer => ({
    send: async (topic, messages) => {
      reach();
      await released;
      return producer.send(topic, messages);
    },
    close: () => producer.close(),
  });
  return { wrap, reached, release };
}

async function hubLike(
  wrap: (p: BusProducer) => BusProducer = (p) => p,
): Promise<{ bus: EmbeddedBus; connector: HttpIngestConnector; url: string }> {
  const dir = fixture.tempDir();
  const bus = await fixture.open({ dir: join(dir, 'bus'), fsync: 'always' });
  for (const topic of topics) await bus.ensureTopic(topic, { partitions: 1 });
  // As the hub does it: the connector's producer goes through its source checkpoint's guard.
  const checkpoint = await SourceCheckpoint.open(join(dir, 'push.json'), { bus, topics });
  const config = httpIngestConnectorConfig.parse({
    id: 'push',
    kind: 'http-ingest',
    listen: { host: '127.0.0.1', port: 0 },
    sources: [
      { id: 'hik-alerts', kind: 'video-webhook', path: '/hooks/hik', signature: { keys: { k1: TEST_SECRET } } },
      { id: 'river-sensors', kind: 'sensor-bulk', path: '/push/sensors' },
    ],
  });
  const connector = new HttpIngestConnector(config);
  running.push(connector);
  await connector.start({ producer: wrap(checkpoint.guard(bus.producer())), checkpoint, log, retryPolicy: fast });
  const { port } = connector.address()!;
  return { bus, connector, url: `http://127.0.0.1:${port}` };
}

async function readAll(bus: EmbeddedBus, topic: string): Promise<BusMessage[]> {
  const highWatermark = (await bus.describe(topic))[0]!.highWatermark;
  const { messages } = await bus.read({ topic, partition: 0 }, 0, highWatermark + 1);
  return messages;
}

describe('http-ingest over loopback against the embedded bus', () => {
  it('a signed webhook is durably on raw.video, stamped with its source id, when the 202 arrives; its replay is refused', async () => {
    const { bus, url } = await hubLike();
    const body = JSON.stringify({ alarm_id: 'A-7', camera: 'C-1', type: 'fire' });
    const headers = signedHeaders(body);
    const response = await fetch(`${url}/hooks/hik`, { method: 'POST', headers, body });
    expect(response.status).toBe(202);
    const onBus = await readAll(bus, 'raw.video');
    expect(onBus.map((m) => [m.value.toString(), m.headers['cityhub-source']])).toEqual([[body, 'hik-alerts']]);
    const replay = await fetch(`${url}/hooks/hik`, { method: 'POST', headers, body });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({ reason: 'replayed request' });
    expect(await readAll(bus, 'raw.video')).toHaveLength(1);
  });

  it('a bulk NDJSON push is on raw.sensor record by record, rejects on dlq.sensor, when the 202 arrives', async () => {
    const { bus, url, connector } = await hubLike();
    const body = '{"dev":"WL-1","v":1.2}\nnot json\n{"dev":"WL-2","v":1.4}\n';
    const response = await fetch(`${url}/push/sensors`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    expect(response.status).toBe(202);
    expect(((await response.json()) as { rejected: unknown }).rejected).toEqual([
      { index: 1, reason: 'not_json', detail: expect.any(String) },
    ]);
    expect((await readAll(bus, 'raw.sensor')).map((m) => m.value.toString())).toEqual([
      '{"dev":"WL-1","v":1.2}',
      '{"dev":"WL-2","v":1.4}',
    ]);
    expect((await readAll(bus, 'dlq.sensor')).map((m) => m.headers['cityhub-source'])).toEqual(['river-sensors']);
    expect(connector.health().sent).toEqual({ sensor: 3 });
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toMatchObject({ sources: { 'river-sensors': { records: 2, rejected_records: 1 } } });
  });

  it('stop() lets a request in flight finish with 202, then refuses connections', async () => {
    const gate = heldAppends();
    const { bus, url, connector } = await hubLike(gate.wrap);
    const body = JSON.stringify([{ dev: 'WL-3', v: 2 }]);
    const inFlight = fetch(`${url}/push/sensors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await gate.reached;
    const stopping = connector.stop();
    expect(connector.health().state).toBe('stopping');
    gate.release();
    expect((await inFlight).status).toBe(202);
    await stopping;
    expect(connector.health().state).toBe('stopped');
    expect((await readAll(bus, 'raw.sensor')).map((m) => m.value.toString())).toEqual(['{"dev":"WL-3","v":2}']);
    await expect(fetch(`${url}/push/sensors`, { method: 'POST', body })).rejects.toThrow();
  });
});
