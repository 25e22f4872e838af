import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageHeaders, ProduceMessage } from '../../pipelines/bus/types.js';
import { connectorDeadLetter } from '../../pipelines/normalize/connector-dead-letter.js';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { FakeProducer } from '../../test/support/fake-producer.js';
import { connectorConfig } from '../index.js';
import { httpIngestConnectorConfig } from './config.js';
import { HttpIngestConnector } from './connector.js';
import { signedHeaders, TEST_SECRET } from './testing.js';

const log = pino({ level: 'silent' });
const fast: RetryPolicy = { initialMs: 1, maxMs: 2, factor: 2, maxAttempts: Infinity };

const alert = JSON.stringify({ alarm_id: 'A-1', camera: 'C-330106-01', type: 'fire', ts: '2026-07-01T08:00:00+08:00' });

function configOf(over: Record<string, unknown> = {}, sources?: unknown[]) {
  return httpIngestConnectorConfig.parse({
    id: 'push',
    kind: 'http-ingest',
    listen: { port: 0 },
    body_limit_bytes: 4096,
    sources: sources ?? [
      { id: 'hik-alerts', kind: 'video-webhook', path: '/hooks/hik', signature: { keys: { k1: TEST_SECRET } } },
      {
        id: 'old-vendor',
        kind: 'video-webhook',
        path: '/hooks/old',
        enabled: false,
        signature: { keys: { k1: TEST_SECRET } },
      },
      { id: 'river-sensors', kind: 'sensor-bulk', path: '/push/sensors' },
    ],
    ...over,
  });
}

/** A FakeProducer that also keeps each acknowledged message's headers. */
class RecordingProducer extends FakeProducer {
  readonly headers: (MessageHeaders | undefined)[] = [];
  override async send(topic: string, messages: ProduceMessage[]) {
    const results = await super.send(topic, messages);
    for (const m of messages) this.headers.push(m.headers);
    return results;
  }
}

const running: HttpIngestConnector[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

async function started(producer = new RecordingProducer(), config = configOf(), now?: () => number) {
  const connector = new HttpIngestConnector(config, now);
  running.push(connector);
  await connector.start({ producer, log, retryPolicy: fast });
  return { connector, producer, app: connector.server! };
}

describe('http-ingest video-webhook', () => {
  it('accepts a correctly signed alert with 202 and puts its body on raw.video stamped with the source id', async () => {
    const { app, producer, connector } = await started();
    const response = await app.inject({
      method: 'POST',
      url: '/hooks/hik',
      headers: signedHeaders(alert),
      payload: alert,
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ accepted: 1 });
    expect(producer.acknowledged).toEqual([{ topic: 'raw.video', key: null, value: alert }]);
    expect(producer.headers[0]).toMatchObject({ 'cityhub-source': 'hik-alerts' });
    expect(connector.health().sent).toEqual({ video: 1 });
    expect(connector.health().progress).toMatchObject({ 'hik-alerts.requests': 1, 'hik-alerts.status_202': 1 });
  });

  it.each([
    ['no signature', (h: Record<string, string>) => delete h['x-signature'], 'missing x-signature header'],
    ['no timestamp', (h: Record<string, string>) => delete h['x-timestamp'], 'missing x-timestamp header'],
    [
      'a wrong signature',
      (h: Record<string, string>) => (h['x-signature'] = `sha256=${'0'.repeat(64)}`),
      'signature mismatch',
    ],
    [
      'another secret',
      (h: Record<string, string>) => Object.assign(h, signedHeaders(alert, { secret: 'x'.repeat(32) })),
      'signature mismatch',
    ],
    [
      'a signature without its prefix',
      (h: Record<string, string>) => (h['x-signature'] = h['x-signature']!.slice(7)),
      'signature does not start with "sha256="',
    ],
  ])('refuses a request with %s: 401 with the reason, nothing on the bus', async (_what, spoil, reason) => {
    const { app, producer } = await started();
    const headers = signedHeaders(alert);
    spoil(headers);
    const response = await app.inject({ method: 'POST', url: '/hooks/hik', headers, payload: alert });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ reason });
    expect(producer.acknowledged).toEqual([]);
  });

  it('refuses a body changed after signing (401)', async () => {
    const { app, producer } = await started();
    const response = await app.inject({
      method: 'POST',
      url: '/hooks/hik',
      headers: signedHeaders(alert),
      payload: alert.replace('fire', 'smoke'),
    });
    expect(response.statusCode).toBe(401);
    expect(producer.acknowledged).toEqual([]);
  });

  it('refuses a stale and a future timestamp outside the replay window (401)', async () => {
    // The hub's clock is fixed: on a busy machine a second may pass between signing and checking.
    const nowS = Math.floor(Date.now() / 1000);
    const { app } = await started(undefined, undefined, () => nowS * 1000);
    for (const timestampS of [nowS - 301, nowS + 301]) {
      const response = await app.inject({
        method: 'POST',
        url: '/hooks/hik',
        headers: signedHeaders(alert, { timestampS }),
        payload: alert,
      });
      expect(response.statusCode).toBe(401);
      expect(response.json().reason).toBe('timestamp outside the 300 s replay window');
    }
  });

  it('refuses a replayed request (same timestamp and signature) after accepting it once', async () => {
    const { app, producer } = await started();
    const headers = signedHeaders(alert);
    const first = await app.inject({ method: 'POST', url: '/hooks/hik', headers, payload: alert });
    const replay = await app.inject({ method: 'POST', url: '/hooks/hik', headers, payload: alert });
    expect(first.statusCode).toBe(202);
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toEqual({ reason: 'replayed request' });
    expect(producer.acknowledged).toHaveLength(1);
  });

  it('answers 403 for an unknown key id and for a disabled source', async () => {
    const { app } = await started();
    const unknown = await app.inject({
      method: 'POST',
      url: '/hooks/hik',
      headers: signedHeaders(alert, { keyId: 'k9' }),
      payload: alert,
    });
    expect(unknown.statusCode).toBe(403);
    expect(unknown.json()).toEqual({ reason: 'unknown key id' });
    const disabled = await app.inject({
      method: 'POST',
      url: '/hooks/old',
      headers: signedHeaders(alert),
      payload: alert,
    });
    expect(disabled.statusCode).toBe(403);
    expect(disabled.json()).toEqual({ reason: 'source disabled' });
  });

  it('picks the key by key id when several are configured (rotation)', async () => {
    const next = 'next-secret-0123456789abcdefgh';
    const config = configOf({}, [
      { id: 'hik', kind: 'video-webhook', path: '/hooks/hik', signature: { keys: { k1: TEST_SECRET, k2: next } } },
    ]);
    const { app } = await started(undefined, config);
    const ok = await app.inject({
      method: 'POST',
      url: '/hooks/hik',
      headers: signedHeaders(alert, { secret: next, keyId: 'k2' }),
      payload: alert,
    });
    expect(ok.statusCode).toBe(202);
    const noKeyId = await app.inject({
      method: 'POST',
      url: '/hooks/hik',
      headers: signedHeaders(alert),
      payload: alert,
    });
    expect(noKeyId.statusCode).toBe(401);
    expect(noKeyId.json().reason).toMatch(/missing x-key-id header/);
  });

  it('answers 413 over the body limit', async () => {
    const { app, producer } = await started();
    const big = JSON.stringify({ note: 'x'.repeat(5000) });
    const response = await app.inject({ method: 'POST', url: '/hooks/hik', headers: signedHeaders(big), payload: big });
    expect(response.statusCode).toBe(413);
    expect(response.json().reason).toMatch(/body/i);
    expect(producer.acknowledged).toEqual([]);
  });

  it('answers 429 with Retry-After past the source rate limit, and serves again once tokens are back', async () => {
    let nowMs = Date.now();
    const config = configOf({}, [
      {
        id: 'hik',
        kind: 'video-webhook',
        path: '/hooks/hik',
        rate_limit: { requests_per_s: 0.5, burst: 2 },
        signature: { keys: { k1: TEST_SECRET } },
      },
    ]);
    const { app } = await started(undefined, config, () => nowMs);
    const post = (i: number) => {
      const body = JSON.stringify({ alarm_id: `A-${i}` });
      return app.inject({ method: 'POST', url: '/hooks/hik', headers: signedHeaders(body), payload: body });
    };
    expect((await post(1)).statusCode).toBe(202);
    expect((await post(2)).statusCode).toBe(202);
    const limited = await post(3);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.json().reason).toBe('rate limit of source hik exceeded');
    nowMs += 2000;
    expect((await post(4)).statusCode).toBe(202);
  });

  it('answers 400 for an unparsable body from a signed sender and dead-letters the body on dlq.video', async () => {
    const { app, producer, connector } = await started();
    const broken = '{"alarm_id": "A-2", "camera": ';
    const response = await app.inject({
      method: 'POST',
      url: '/hooks/hik',
      headers: signedHeaders(broken),
      payload: broken,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ dead_lettered: true });
    expect(response.json().reason).toMatch(/^body is not JSON/);
    expect(producer.acknowledged).toHaveLength(1);
    expect(producer.acknowledged[0]!.topic).toBe('dlq.video');
    const letter = connectorDeadLetter.parse(JSON.parse(producer.acknowledged[0]!.value));
    expect(letter).toMatchObject({ reason_code: 'not_json', raw: broken, connector: 'hik-alerts' });
    expect(letter.source_ref).toMatch(/^\/hooks\/hik [0-9a-f-]{36}$/);
    expect(connector.health().dead_lettered).toEqual({ video: 1 });
  });

  it('answers 202 only after the append resolved', async () => {
    const producer = new RecordingProducer();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sendStarted!: () => void;
    const sending = new Promise<void>((resolve) => {
      sendStarted = resolve;
    });
    const send = producer.send.bind(producer);
    producer.send = async (topic, messages) => {
      sendStarted();
      await held;
      return send(topic, messages);
    };
    const { app } = await started(producer);
    let answered = false;
    const response = app
      .inject({ method: 'POST', url: '/hooks/hik', headers: signedHeaders(alert), payload: alert })
      .then((r) => {
        answered = true;
        return r;
      });
    await sending;
    // The send is on its way but not acknowledged: give the request every chance to complete early.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    release();
    expect((await response).statusCode).toBe(202);
    expect(producer.acknowledged).toHaveLength(1);
  });

  it('answers 202 with the body rejected as oversized when it is over the bus message limit (kept as a dead letter)', async () => {
    const { app, producer } = await started();
    producer.maxMessageBytes = 100;
    const big = JSON.stringify({ alarm_id: 'A-9', note: 'x'.repeat(200) });
    const response = await app.inject({ method: 'POST', url: '/hooks/hik', headers: signedHeaders(big), payload: big });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ accepted: 0, rejected: [{ index: 0, reason: 'oversized' }] });
    expect(producer.acknowledged.map((m) => m.topic)).toEqual(['dlq.video']);
  });

  it('answers 503 with Retry-After while the bus is full, acknowledges nothing, and takes the same request once it recovers', async () => {
    const { app, producer, connector } = await started();
    producer.failNext(4); // send_attempts: 4
    const headers = signedHeaders(alert);
    const refused = await app.inject({ method: 'POST', url: '/hooks/hik', headers, payload: alert });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json().reason).toMatch(/nothing was accepted.*ENOSPC/);
    expect(producer.acknowledged).toEqual([]);
    expect(connector.health().error).toMatch(/ENOSPC/);
    // The sender's retry of the very same signed request is not a replay: nothing of it was accepted.
    const retried = await app.inject({ method: 'POST', url: '/hooks/hik', headers, payload: alert });
    expect(retried.statusCode).toBe(202);
    expect(producer.acknowledged).toHaveLength(1);
    expect(connector.health().error).toBeUndefined();
  });
});

describe('http-ingest sensor-bulk', () => {
  const reading = (i: number) => ({
    dev: `WL-${i}`,
    metric: 'water_level',
    v: 1.5 + i,
    t: '2026-07-01T08:00:00+08:00',
  });

  it('sends each record of a JSON array as one message, answering the rejects by index (dead-lettered)', async () => {
    const { app, producer, connector } = await started();
    const body = JSON.stringify([reading(0), 42, reading(1), null, [reading(2)]]);
    const response = await app.inject({
      method: 'POST',
      url: '/push/sensors',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      accepted: 2,
      rejected: [
        { index: 1, reason: 'not_an_object', detail: 'record is a number, not an object' },
        { index: 3, reason: 'not_an_object', detail: 'record is null, not an object' },
        { index: 4, reason: 'not_an_object', detail: 'record is an array, not an object' },
      ],
    });
    const raw = producer.acknowledged.filter((m) => m.topic === 'raw.sensor').map((m) => JSON.parse(m.value));
    expect(raw).toEqual([reading(0), reading(1)]);
    const letters = producer.acknowledged.filter((m) => m.topic === 'dlq.sensor').map((m) => JSON.parse(m.value));
    expect(letters.map((l) => [l.raw, l.source_ref.split(' ').at(-1)])).toEqual([
      ['42', '#1'],
      ['null', '#3'],
      [JSON.stringify([reading(2)]), '#4'],
    ]);
    expect(producer.headers.every((h) => h?.['cityhub-source'] === 'river-sensors')).toBe(true);
    expect(connector.health().progress).toMatchObject({
      'river-sensors.records': 2,
      'river-sensors.rejected_records': 3,
    });
  });

  it('sends each NDJSON line as it is, and dead-letters a line that is not JSON with its line index', async () => {
    const { app, producer } = await started();
    const lines = [JSON.stringify(reading(0)), '{"dev": "WL-9", "v": ', '', JSON.stringify(reading(1))];
    const response = await app.inject({
      method: 'POST',
      url: '/push/sensors',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `${lines.join('\r\n')}\n`,
    });
    expect(response.statusCode).toBe(202);
    expect(response.json().accepted).toBe(2);
    expect(response.json().rejected).toEqual([{ index: 1, reason: 'not_json', detail: expect.any(String) }]);
    expect(producer.acknowledged.filter((m) => m.topic === 'raw.sensor').map((m) => m.value)).toEqual([
      lines[0],
      lines[3],
    ]);
    expect(JSON.parse(producer.acknowledged.find((m) => m.topic === 'dlq.sensor')!.value).raw).toBe(lines[1]);
  });

  it('answers 400 for a JSON body that does not parse and dead-letters it whole; 415 for another content type', async () => {
    const { app, producer } = await started();
    const broken = `[${JSON.stringify(reading(0))},`;
    const response = await app.inject({
      method: 'POST',
      url: '/push/sensors',
      headers: { 'content-type': 'application/json' },
      payload: broken,
    });
    expect(response.statusCode).toBe(400);
    expect(producer.acknowledged.map((m) => [m.topic, JSON.parse(m.value).raw])).toEqual([['dlq.sensor', broken]]);
    const csv = await app.inject({
      method: 'POST',
      url: '/push/sensors',
      headers: { 'content-type': 'text/csv' },
      payload: 'dev,v\nWL-1,2',
    });
    expect(csv.statusCode).toBe(415);
    expect(producer.acknowledged).toHaveLength(1);
  });

  it('lists records over the bus message limit in the 202 rejected by body index, dead-lettered as oversized', async () => {
    const { app, producer, connector } = await started();
    producer.maxMessageBytes = 200;
    const big = (i: number) => ({ ...reading(i), note: '超长备注'.repeat(30) });
    const body = JSON.stringify([reading(0), big(1), 42, reading(3), big(4)]);
    const response = await app.inject({
      method: 'POST',
      url: '/push/sensors',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(response.statusCode).toBe(202);
    const answer = response.json();
    expect(answer.accepted).toBe(2);
    expect(answer.rejected.map((r: { index: number; reason: string }) => [r.index, r.reason])).toEqual([
      [1, 'oversized'],
      [2, 'not_an_object'],
      [4, 'oversized'],
    ]);
    expect(answer.rejected[0].detail).toMatch(/at most 200/);
    expect(producer.acknowledged.filter((m) => m.topic === 'raw.sensor').map((m) => JSON.parse(m.value))).toEqual([
      reading(0),
      reading(3),
    ]);
    const letters = producer.acknowledged
      .filter((m) => m.topic === 'dlq.sensor')
      .map((m) => connectorDeadLetter.parse(JSON.parse(m.value)));
    expect(letters.map((l) => [l.reason_code, l.connector]).sort()).toEqual([
      ['not_an_object', 'river-sensors'],
      ['oversized', 'river-sensors'],
      ['oversized', 'river-sensors'],
    ]);
    expect(connector.health().progress).toMatchObject({
      'river-sensors.records': 2,
      'river-sensors.rejected_records': 3,
    });
  });

  it('an NDJSON line over the bus message limit is rejected by its line number (blank lines count)', async () => {
    const { app, producer } = await started();
    producer.maxMessageBytes = 200;
    const lines = [JSON.stringify(reading(0)), '', JSON.stringify({ ...reading(2), note: 'x'.repeat(300) })];
    const response = await app.inject({
      method: 'POST',
      url: '/push/sensors',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: [...lines, JSON.stringify(reading(3))].join('\n'),
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ accepted: 2, rejected: [{ index: 2, reason: 'oversized' }] });
  });

  it('concurrent pushes share bus sends and each is answered with its own records', async () => {
    const { app, producer } = await started();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/push/sensors',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify([reading(i), reading(100 + i)]),
        }),
      ),
    );
    expect(responses.map((r) => r.json().accepted)).toEqual(Array(20).fill(2));
    expect(producer.acknowledged).toHaveLength(40);
    expect(producer.attempts).toBeLessThan(20);
  });
});

describe('http-ingest listener', () => {
  it('serves /healthz with per-source counts', async () => {
    const { app } = await started();
    await app.inject({ method: 'POST', url: '/hooks/hik', headers: {}, payload: alert });
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({
      state: 'running',
      sources: { 'hik-alerts': { requests: 1, records: 0, responses: { 401: 1 } } },
    });
  });

  it('shows replay-cache evictions per signed source in health and /healthz once the cache is full', async () => {
    const config = configOf({}, [
      {
        id: 'hik',
        kind: 'video-webhook',
        path: '/hooks/hik',
        signature: { keys: { k1: TEST_SECRET }, replay_cache_entries: 100 },
      },
      { id: 'river-sensors', kind: 'sensor-bulk', path: '/push/sensors' },
    ]);
    const { app, connector } = await started(undefined, config);
    const post = (headers: Record<string, string>, body: string) =>
      app.inject({ method: 'POST', url: '/hooks/hik', headers, payload: body });
    const first = JSON.stringify({ alarm_id: 'A-0' });
    const firstHeaders = signedHeaders(first);
    expect((await post(firstHeaders, first)).statusCode).toBe(202);
    for (let i = 1; i < 100; i++) {
      const body = JSON.stringify({ alarm_id: `A-${i}` });
      expect((await post(signedHeaders(body), body)).statusCode).toBe(202);
    }
    expect(connector.health().progress).toMatchObject({ 'hik.replay_cache_evictions': 0 });
    const overflow = JSON.stringify({ alarm_id: 'A-100' });
    expect((await post(signedHeaders(overflow), overflow)).statusCode).toBe(202);

    // The first request's signature was forgotten within its window: its replay is no longer refused.
    expect(connector.health().progress).toMatchObject({ 'hik.replay_cache_evictions': 1 });
    expect(connector.health().progress).not.toHaveProperty('river-sensors.replay_cache_evictions');
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.json().sources.hik).toMatchObject({ replay_cache_evictions: 1, records: 101 });
    expect((await post(firstHeaders, first)).statusCode).toBe(202);
  });

  it('is registered as a connector kind, rejecting unknown keys and duplicate paths', () => {
    const base = { id: 'push', kind: 'http-ingest', listen: { port: 8080 } };
    const hook = { id: 'a', kind: 'video-webhook', path: '/a', signature: { keys: { k: TEST_SECRET } } };
    expect(connectorConfig.safeParse({ ...base, sources: [hook] }).success).toBe(true);
    expect(connectorConfig.safeParse({ ...base, sources: [{ ...hook, colour: 'red' }] }).success).toBe(false);
    expect(connectorConfig.safeParse({ ...base, sources: [hook, { ...hook, id: 'b' }] }).success).toBe(false);
    expect(connectorConfig.safeParse({ ...base, sources: [{ ...hook, signature: undefined }] }).success).toBe(false);
  });
});
