/**
 * Throughput of the http-ingest connector on loopback (issue 8 closing note): signed webhook requests/s (one alert
 * each) against the embedded bus with fsync always, through the source checkpoint's guard as in the hub; the same
 * without a bus (HTTP + signature ceiling); the signature check alone; and sensor bulk NDJSON records/s.
 * The client runs in the same process, so it shares the CPU. `npm run build && node dist/connectors/http-ingest/measure.js`
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import type { BusProducer } from '../../pipelines/bus/types.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { httpIngestConnectorConfig, signatureConfig } from './config.js';
import { HttpIngestConnector } from './connector.js';
import { SignatureVerifier } from './signature.js';
import { signedHeaders, TEST_SECRET } from './testing.js';

const SECONDS = Number(process.env.MEASURE_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.MEASURE_CONCURRENCY ?? 64);
const log = pino({ level: 'silent' });

const alertOf = (i: number) =>
  JSON.stringify({
    alarmId: `HK-${i}`,
    cameraId: 'CAM-330106-0007',
    vendor: 'hik',
    eventCode: '890',
    score: 91,
    time: Date.now(),
    areaCode: '330106',
    lng: 120.12,
    lat: 30.27,
    picUrl: `https://img.example.cn/a/${i}.jpg`,
    state: 'new',
    stateTime: Date.now(),
  });

const config = httpIngestConnectorConfig.parse({
  id: 'measure',
  kind: 'http-ingest',
  listen: { port: 0 },
  sources: [
    { id: 'hik', kind: 'video-webhook', path: '/hooks/hik', signature: { keys: { k1: TEST_SECRET } } },
    { id: 'bulk', kind: 'sensor-bulk', path: '/push' },
  ],
});

async function drive(url: string, request: (i: number) => { headers: Record<string, string>; body: string }) {
  let sent = 0;
  let failed = 0;
  const until = Date.now() + SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < until) {
      const { headers, body } = request(sent++);
      const response = await fetch(url, { method: 'POST', headers, body });
      await response.arrayBuffer();
      if (response.status !== 202) failed++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { requests: sent, failed, seconds: (performance.now() - t0) / 1000 };
}

async function withConnector<T>(
  producer: BusProducer,
  checkpoint: SourceCheckpoint | undefined,
  fn: (base: string) => Promise<T>,
) {
  const connector = new HttpIngestConnector(config);
  await connector.start({ producer, log, ...(checkpoint ? { checkpoint } : {}) });
  try {
    return await fn(`http://127.0.0.1:${connector.address()!.port}`);
  } finally {
    await connector.stop();
  }
}

function report(what: string, r: { requests: number; failed: number; seconds: number }, perRequest = 1) {
  const rate = r.requests / r.seconds;
  console.log(
    `${what}: ${Math.round(rate)} requests/s, ${Math.round(rate * perRequest)} records/s (${r.requests} requests, ${r.failed} not 202, ${r.seconds.toFixed(1)} s, concurrency ${CONCURRENCY})`,
  );
}

const dir = await mkdtemp(join(tmpdir(), 'http-ingest-measure-'));
try {
  // The signature check alone: HMAC-SHA256 over an alert body plus the replay cache.
  const verifier = new SignatureVerifier(signatureConfig.parse({ keys: { k1: TEST_SECRET } }));
  const bodies = Array.from({ length: 10_000 }, (_, i) => Buffer.from(alertOf(i)));
  const headers = bodies.map((b) => signedHeaders(b));
  let t0 = performance.now();
  for (let i = 0; i < bodies.length; i++) verifier.verify(headers[i]!, bodies[i]!);
  const verifyUs = ((performance.now() - t0) * 1000) / bodies.length;
  t0 = performance.now();
  for (const b of bodies) JSON.parse(b.toString('utf8'));
  const parseUs = ((performance.now() - t0) * 1000) / bodies.length;
  console.log(
    `signature check: ${verifyUs.toFixed(1)} µs per request; JSON check: ${parseUs.toFixed(1)} µs (alert of ${bodies[0]!.length} bytes)`,
  );

  const nullProducer: BusProducer = {
    send: async (topic, messages) => [{ topic, partition: 0, baseOffset: 0, count: messages.length }],
    close: async () => {},
  };
  const webhook = (i: number) => {
    const body = alertOf(i);
    return { headers: signedHeaders(body), body };
  };
  report(
    'webhook, no bus (HTTP + signature)',
    await withConnector(nullProducer, undefined, (base) => drive(`${base}/hooks/hik`, webhook)),
  );

  const bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'always' });
  const topics = ['raw.video', 'dlq.video', 'raw.sensor', 'dlq.sensor'];
  for (const topic of topics) await bus.ensureTopic(topic, { partitions: 3 });
  const checkpoint = await SourceCheckpoint.open(join(dir, 'measure.json'), { bus, topics });
  const guarded = checkpoint.guard(bus.producer());
  let sends = 0;
  let messages = 0;
  let sendMs = 0;
  const timed: BusProducer = {
    send: async (topic, batch) => {
      const start = performance.now();
      try {
        return await guarded.send(topic, batch);
      } finally {
        sends++;
        messages += batch.length;
        sendMs += performance.now() - start;
      }
    },
    close: () => guarded.close(),
  };
  const onBus = await withConnector(timed, checkpoint, (base) => drive(`${base}/hooks/hik`, webhook));
  report('webhook, embedded bus fsync always + source checkpoint', onBus);
  console.log(
    `  bus sends: ${sends} (${(messages / sends).toFixed(1)} alerts per send, group commit), ${(sendMs / sends).toFixed(1)} ms per guarded send (checkpoint record + append + fsync), ${((sendMs / 1000 / onBus.seconds) * 100).toFixed(0)}% of wall time in sends`,
  );

  const lines = Array.from({ length: 500 }, (_, i) =>
    JSON.stringify({ dev: `WL-${i}`, metric: 'water_level', v: i / 10, t: Date.now() }),
  ).join('\n');
  const bulk = await withConnector(timed, checkpoint, (base) =>
    drive(`${base}/push`, () => ({ headers: { 'content-type': 'application/x-ndjson' }, body: lines })),
  );
  report('sensor bulk, 500 NDJSON records per request, embedded bus', bulk, 500);
  await bus.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
