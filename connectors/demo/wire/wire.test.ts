/**
 * The demo's own peers on loopback, against the hub's real connectors where one takes them in: readings count as
 * delivered only once sensor-mqtt acknowledged them (after its bus append), the 12345 API pages by cursor and knows
 * when the poller has taken everything, the webhook sender re-signs and retries until the hub settles a request, and
 * a taken port is a clear error.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeProducer } from '../../../test/support/fake-producer.js';
import { freePorts } from '../../../test/support/hub-process.js';
import { SignatureVerifier } from '../../http-ingest/signature.js';
import { sensorMqttConnectorConfig } from '../../sensor-mqtt/config.js';
import { SensorMqttConnector } from '../../sensor-mqtt/connector.js';
import { demoWireConfig } from '../config.js';
import type { RawMessage } from '../types.js';
import { DemoHotlineApi } from './hotline-api.js';
import { DemoListenError, DemoWire } from './index.js';
import { DemoMqttBroker, filterCovers } from './mqtt.js';
import { WebhookSender } from './webhook.js';

const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const reading = (device: string, value: number): RawMessage => ({
  feed: 'sensor',
  key: device,
  value: JSON.stringify({ dev: device, val: value }),
});

describe('the demo MQTT broker', () => {
  it('covers topics as MQTT filters do', () => {
    expect(filterCovers('city/sensors/+', 'city/sensors/GAS-1')).toBe(true);
    expect(filterCovers('city/#', 'city/sensors/GAS-1')).toBe(true);
    expect(filterCovers('city/sensors/+', 'city/sensors/GAS-1/x')).toBe(false);
    expect(filterCovers('city/video/+', 'city/sensors/GAS-1')).toBe(false);
  });

  it('counts a reading delivered only after sensor-mqtt appended it, through bus failures and a re-sent reading', async () => {
    const [port] = await freePorts(1);
    const broker = await DemoMqttBroker.start({ host: '127.0.0.1', port: port!, topic_prefix: 'city/sensors' });
    cleanups.push(() => broker.close());
    const producer = new FakeProducer();
    producer.failNext(3); // the bus refuses the first appends (a full disk): nothing may count as delivered yet
    const connector = new SensorMqttConnector(
      sensorMqttConnectorConfig.parse({
        id: 'sensors',
        kind: 'sensor-mqtt',
        url: `mqtt://127.0.0.1:${port}`,
        client_id: 'hub-sensors',
        topics: ['city/sensors/+'],
      }),
    );
    cleanups.push(() => connector.stop());
    const abort = new AbortController();
    // Sent before the connector subscribes: the broker would drop them, so the demo waits for the subscription.
    const messages = [reading('GAS-1', 1), reading('GAS-2', 2), reading('GAS-1', 1), reading('GAS-3', 3)];
    let resolved = false;
    const delivery = broker.send(messages, abort.signal).then(() => {
      resolved = true;
    });
    let acknowledgedWhenResolved = -1;
    void delivery.then(() => {
      acknowledgedWhenResolved = producer.acknowledged.length;
    });
    await connector.start({
      producer,
      log: silent,
      retryPolicy: { initialMs: 5, maxMs: 20, factor: 2, maxAttempts: Infinity },
    });
    await producer.failed(3);
    expect(resolved).toBe(false);
    await delivery;
    expect(acknowledgedWhenResolved).toBe(4);
    expect(producer.acknowledged.map((m) => m.value).sort()).toEqual(messages.map((m) => m.value).sort());
    expect(broker.delivered).toBe(4);
  });

  it('a taken port is a clear error naming the address and the config key', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const port = (blocker.address() as { port: number }).port;
    const wire = new DemoWire(demoWireConfig.parse({ mqtt: { port } }));
    const started = wire.start(silent);
    await expect(started).rejects.toBeInstanceOf(DemoListenError);
    await expect(started).rejects.toThrow(
      `the demo cannot listen on 127.0.0.1:${port} (wire.mqtt.port): the port is taken`,
    );
  });
});

describe('the demo 12345 API', () => {
  async function api(messages: RawMessage[]) {
    const [port] = await freePorts(1);
    const served = new DemoHotlineApi({ host: '127.0.0.1', port: port! });
    served.add(messages);
    await served.start();
    cleanups.push(() => served.close());
    const get = async (query: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/orders?${query}`);
      return (await response.json()) as { data: { orderNo: string; updateTime: string }[] };
    };
    return { served, get };
  }
  const order = (orderNo: string, updateTime: string, state = '受理'): RawMessage => ({
    feed: 'hotline',
    key: orderNo,
    value: JSON.stringify({ orderNo, updateTime, state }),
  });

  it('serves every version after the cursor in (update time, order id) order, page by page', async () => {
    const { get } = await api([
      order('B', '2026-08-01 10:00:00', '办结'),
      order('A', '2026-08-01 09:00:00'),
      order('C', '2026-08-01 10:00:00'),
      order('B', '2026-08-01 09:30:00'),
    ]);
    const all = await get('page_size=10');
    expect(all.data.map((o) => `${o.orderNo}@${o.updateTime.slice(11)}`)).toEqual([
      'A@09:00:00',
      'B@09:30:00',
      'B@10:00:00',
      'C@10:00:00',
    ]);
    // Same second, later id: the tie-break of the cursor. The time may come with a zone.
    const after = await get(`updated_since=${encodeURIComponent('2026-08-01T02:00:00Z')}&after_id=B&page_size=10`);
    expect(after.data.map((o) => o.orderNo)).toEqual(['C']);
    const page2 = await get('page_size=2&page=2');
    expect(page2.data.map((o) => o.orderNo)).toEqual(['B', 'C']);
  });

  it('knows the poller has taken everything only when it asks past the last version (or for a later page)', async () => {
    const { served, get } = await api([order('A', '2026-08-01 09:00:00'), order('B', '2026-08-01 09:30:00')]);
    let taken = false;
    const allTaken = served.allTaken(new AbortController().signal).then(() => {
      taken = true;
    });
    await get('page_size=1&page=1');
    await get(`updated_since=${encodeURIComponent('2026-08-01 09:00:00')}&after_id=A&page_size=1`);
    expect(taken).toBe(false);
    // Page 2 of this cursor is asked for only once page 1 (B) is appended and committed.
    await get(`updated_since=${encodeURIComponent('2026-08-01 09:00:00')}&after_id=A&page_size=1&page=2`);
    await allTaken;
    expect(taken).toBe(true);
  });

  it('serves a version stamped later than now only once its time has come, so live orders are not skipped', async () => {
    const [port] = await freePorts(1);
    let now = Date.parse('2026-12-02T02:00:00Z'); // 10:00 in Shanghai
    const served = new DemoHotlineApi({ host: '127.0.0.1', port: port! }, () => now);
    // A closure the history plans for tomorrow, and a live order stamped now.
    served.add([order('H1', '2026-12-01 09:00:00'), order('H2', '2026-12-03 09:00:00', '办结')]);
    await served.start();
    cleanups.push(() => served.close());
    const get = async (query: string) =>
      ((await (await fetch(`http://127.0.0.1:${port}/api/orders?${query}`)).json()) as { data: { orderNo: string }[] })
        .data;
    expect((await get('page_size=10')).map((o) => o.orderNo)).toEqual(['H1']);
    // Everything visible is taken once the poller asks past H1, although H2 is still to come.
    await get(`updated_since=${encodeURIComponent('2026-12-01 09:00:00')}&after_id=H1&page_size=10`);
    await served.allTaken(new AbortController().signal);
    served.add([order('L1', '2026-12-02 10:00:00')]);
    const after = `updated_since=${encodeURIComponent('2026-12-01 09:00:00')}&after_id=H1&page_size=10`;
    expect((await get(after)).map((o) => o.orderNo)).toEqual(['L1']);
    now = Date.parse('2026-12-03T02:00:00Z');
    expect((await get(after)).map((o) => o.orderNo)).toEqual(['L1', 'H2']);
  });

  it('refuses an order it could not place by cursor', async () => {
    const served = new DemoHotlineApi({ host: '127.0.0.1', port: 1 });
    expect(() => served.add([{ feed: 'hotline', key: 'X', value: '{"orderNo":"X"}' }])).toThrow(
      /without orderNo or updateTime/,
    );
  });
});

describe('the demo webhook sender', () => {
  it('retries until the hub settles each alert, signing every attempt anew, and waits out a replay refusal', async () => {
    const [port] = await freePorts(1);
    const secret = 'demo-secret-0123456789';
    const verifier = new SignatureVerifier({
      keys: { demo: secret },
      header: 'x-signature',
      prefix: 'sha256=',
      timestamp_header: 'x-timestamp',
      key_id_header: 'x-key-id',
      window_s: 300,
      replay_cache_entries: 100,
    });
    const bodies: string[] = [];
    const statuses: number[] = [];
    let unavailable = 2;
    const server: Server = createHttpServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const answer = (status: number, text: string, headers: Record<string, string> = {}) => {
        statuses.push(status);
        res.writeHead(status, headers).end(text);
      };
      if (unavailable-- > 0) return answer(503, '{"reason":"bus refuses appends"}', { 'retry-after': '0' });
      const verdict = verifier.verify(req.headers, body);
      if ('status' in verdict) return answer(verdict.status, JSON.stringify({ reason: verdict.reason }));
      verifier.remember(verdict);
      bodies.push(body.toString());
      answer(202, '{"accepted":1}');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const sender = new WebhookSender(
      { url: `http://127.0.0.1:${port}/push/video`, key_id: 'demo', secret, concurrency: 1 },
      new AbortController().signal,
    );
    const alert = { feed: 'video' as const, key: 'HIK-1', value: '{"alarmId":"HIK-1","state":"new"}' };
    // The same alert twice (a re-send): the second is refused as a replay within its second, then signed again.
    await sender.send([alert, alert]);
    expect(bodies).toEqual([alert.value, alert.value]);
    expect(statuses.slice(0, 2)).toEqual([503, 503]);
    expect(sender.settled).toBe(2);
  });
});
