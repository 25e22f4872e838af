/**
 * Measures the sensor-mqtt connector: messages/s at QoS 1 with the PUBACK after the durable append, through a real
 * embedded bus (fsync always) and the source checkpoint the hub puts in front of it, from a real aedes broker on
 * loopback. A measurement, not a test: `npm run build && node dist/connectors/sensor-mqtt/measure.js [messages]`.
 *
 * The messages (~200 bytes of JSON each) are published first while the connector is stopped, so the broker holds
 * them in the persistent session; the clock runs from the connector's start until the broker has seen every PUBACK.
 * That isolates the connector (broker → bus → PUBACK) from the publisher. The broker runs in this process and
 * shares its CPU, as the demo's embedded broker does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import pino from 'pino';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import type { BusProducer } from '../../pipelines/bus/types.js';
import { SourceCheckpoint } from '../source-checkpoint.js';
import { AedesPeer } from './aedes-peer.js';
import { sensorMqttConnectorConfig } from './config.js';
import { SensorMqttConnector } from './connector.js';

const log = pino({ level: 'silent' });
const topics = ['raw.sensor', 'dlq.sensor'];

/** Wall time spent inside the bus send and inside checkpoint writes, summed. */
interface Spent {
  sendMs: number;
  sends: number;
}

function timed(producer: BusProducer, spent: Spent): BusProducer {
  return {
    send: async (topic, messages) => {
      const started = performance.now();
      try {
        return await producer.send(topic, messages);
      } finally {
        spent.sendMs += performance.now() - started;
        spent.sends++;
      }
    },
    close: () => producer.close(),
  };
}

async function run(total: number, batchMaxMessages: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cityhub-mqtt-measure-'));
  const peer = await AedesPeer.start();
  const bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'always' });
  try {
    for (const topic of topics) await bus.ensureTopic(topic, { partitions: 4 });
    const config = sensorMqttConnectorConfig.parse({
      id: 'measure',
      kind: 'sensor-mqtt',
      url: peer.url,
      client_id: 'measure-hub',
      topics: ['city/+/+/reading'],
      key_segment: 2,
      batch_max_messages: batchMaxMessages,
    });
    // Subscribe once so the broker keeps the session, then stop: what follows is queued for it.
    const first = new SensorMqttConnector(config);
    await first.start({ producer: bus.producer(), log });
    while (first.health().progress?.connected !== 1) await new Promise((r) => setTimeout(r, 10));
    await first.stop();

    const device = await connectAsync(peer.url, { clientId: 'measure-device' });
    const pad = 'x'.repeat(90);
    const publishStarted = performance.now();
    for (let from = 0; from < total; from += 1000) {
      const sends: Promise<unknown>[] = [];
      for (let i = from; i < Math.min(total, from + 1000); i++) {
        const device_id = `HF-P-${String(i % 500).padStart(4, '0')}`;
        const body = JSON.stringify({
          device_id,
          metric: 'pressure',
          value: 0.31 + (i % 7) / 100,
          ts: 1786000000000 + i,
          pad,
        });
        sends.push(
          device.publishAsync(`city/3401${String(i % 20).padStart(2, '0')}/${device_id}/reading`, body, { qos: 1 }),
        );
      }
      await Promise.all(sends);
    }
    const publishMs = performance.now() - publishStarted;
    await device.endAsync();

    let acked = 0;
    let allAcked!: () => void;
    const done = new Promise<void>((resolve) => {
      allAcked = resolve;
    });
    peer.broker.on('ack', (_packet, client) => {
      if (client?.id === 'measure-hub' && ++acked === total) allAcked();
    });
    const spent: Spent = { sendMs: 0, sends: 0 };
    const checkpoint = await SourceCheckpoint.open(join(dir, 'checkpoints', 'measure.json'), { bus, topics, log });
    const connector = new SensorMqttConnector(config);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await connector.start({ producer: timed(checkpoint.guard(bus.producer()), spent), checkpoint, log });
    await done;
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    await connector.stop();
    const landed = (await bus.describe('raw.sensor')).reduce((n, p) => n + p.highWatermark, 0);
    console.log(
      JSON.stringify({
        messages: total,
        batch_max_messages: batchMaxMessages,
        landed,
        seconds: +(ms / 1000).toFixed(2),
        messages_per_s: Math.round(total / (ms / 1000)),
        batches: spent.sends,
        send_ms_share: +(spent.sendMs / ms).toFixed(2),
        mean_send_ms: +(spent.sendMs / spent.sends).toFixed(2),
        cpu_user_s: +(cpu.user / 1e6).toFixed(2),
        cpu_system_s: +(cpu.system / 1e6).toFixed(2),
        publish_messages_per_s: Math.round(total / (publishMs / 1000)),
      }),
    );
  } finally {
    await peer.close();
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const total = Number(process.argv[2] ?? 100_000);
for (const batch of (process.argv[3] ?? '500,100').split(',').map(Number)) await run(total, batch);
