import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsOptions } from 'node:tls';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import type { Bus, BusProducer, MessageHeaders, ProduceMessage, ProduceResult } from '../../pipelines/bus/types.js';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { AedesPeer } from './aedes-peer.js';
import { sensorMqttConnectorConfig } from './config.js';
import { SensorMqttConnector } from './connector.js';

export const topics = ['raw.sensor', 'dlq.sensor'];
export const fastPolicy: RetryPolicy = { initialMs: 20, maxMs: 200, factor: 2, maxAttempts: Infinity };
export const silent = pino({ level: 'silent' });

export interface LandedMessage {
  topic: string;
  key: string | null;
  value: string;
  headers: MessageHeaders;
}

/** Every message of a topic, in partition then offset order. */
export async function landed(bus: Bus, topic = 'raw.sensor'): Promise<LandedMessage[]> {
  const out: LandedMessage[] = [];
  for (const { partition, highWatermark } of await bus.describe(topic)) {
    let offset = 0;
    while (offset < highWatermark) {
      const { messages, nextOffset } = await bus.read({ topic, partition }, offset, 1000);
      for (const m of messages) out.push({ topic, key: m.key, value: m.value.toString('utf8'), headers: m.headers });
      offset = nextOffset;
    }
  }
  return out;
}

/** A temp folder with an embedded bus and an aedes broker; `close()` removes everything, whatever happened. */
export class MqttRig {
  readonly connectors: SensorMqttConnector[] = [];
  readonly clients: MqttClient[] = [];
  readonly producers: ControlledProducer[] = [];
  /** Payloads the broker saw acknowledged by `clientId` (aedes' `ack` event: a PUBACK received). */
  readonly acked: string[] = [];
  readonly clientId = 'hub-sensors';

  private constructor(
    readonly dir: string,
    readonly bus: Bus,
    readonly peer: AedesPeer,
    /** What relative `tls` files of the rig's connectors are resolved against. */
    private readonly baseDir: string | undefined,
    /** How the rig's publishers get through the broker's TLS (its CA, a client certificate). */
    private readonly publisherTls: IClientOptions,
  ) {
    peer.broker.on('ack', (packet, client) => {
      if (client?.id === this.clientId && packet && 'payload' in packet)
        this.acked.push(Buffer.from(packet.payload as Buffer).toString('utf8'));
    });
  }

  static async open(
    options: {
      listening?: boolean;
      maxMessageBytes?: number;
      fsync?: 'always' | 'never';
      /** An mqtts:// broker with these server options; publishers then connect with `publisherTls`. */
      tls?: TlsOptions;
      publisherTls?: IClientOptions;
      baseDir?: string;
    } = {},
  ) {
    const dir = await mkdtemp(join(tmpdir(), 'cityhub-sensor-mqtt-'));
    try {
      const bus = await openEmbeddedBus({
        dir: join(dir, 'bus'),
        fsync: options.fsync ?? 'never',
        ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}),
      });
      for (const topic of topics) await bus.ensureTopic(topic, { partitions: 2 });
      const peer = await AedesPeer.start({
        listening: options.listening ?? true,
        ...(options.tls ? { tls: options.tls } : {}),
      });
      return new MqttRig(dir, bus, peer, options.baseDir, options.publisherTls ?? {});
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** A connector of this rig's broker, started on `producer` (default: the bus's own). */
  async connector(
    overrides: Record<string, unknown> = {},
    producer: BusProducer = this.bus.producer(),
    retryPolicy: RetryPolicy = fastPolicy,
  ): Promise<SensorMqttConnector> {
    const config = sensorMqttConnectorConfig.parse({
      id: 'sensors',
      kind: 'sensor-mqtt',
      url: this.peer.url,
      client_id: this.clientId,
      topics: ['city/#'],
      batch_max_wait_ms: 5,
      connect_timeout_ms: 2000,
      ...overrides,
    });
    const connector = new SensorMqttConnector(config, this.baseDir ? { baseDir: this.baseDir } : {});
    this.connectors.push(connector);
    await connector.start({ producer, log: silent, retryPolicy });
    return connector;
  }

  /** A device-side client publishing at QoS 1 (mqtt.js re-sends what the broker did not acknowledge). */
  async publisher(clientId = `device-${this.clients.length}`): Promise<MqttClient> {
    const client = await connectAsync(this.peer.url, {
      clientId,
      reconnectPeriod: 50,
      connectTimeout: 2000,
      ...this.publisherTls,
    });
    client.on('error', () => {});
    this.clients.push(client);
    return client;
  }

  /** A producer in front of this rig's bus that the test holds or fails; released on close(). */
  controlled(diskFull: () => Error): ControlledProducer {
    const producer = new ControlledProducer(this.bus.producer(), diskFull);
    this.producers.push(producer);
    return producer;
  }

  async close(): Promise<void> {
    for (const producer of this.producers) {
      producer.full = false;
      producer.release();
    }
    for (const connector of this.connectors) await connector.stop().catch(() => {});
    for (const client of this.clients) client.end(true);
    await this.peer.close().catch(() => {});
    await this.bus.close().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A producer in front of the bus whose sends a test holds (`hold()`/`release()`) or fails with a full disk (`full`).
 * `entered` resolves at the next send attempt.
 */
export class ControlledProducer implements BusProducer {
  full = false;
  failures = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private enteredWaiters: (() => void)[] = [];

  constructor(
    private readonly inner: BusProducer,
    private readonly diskFull: () => Error,
  ) {}

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  /** Resolves at the start of the next send attempt. */
  entered(): Promise<void> {
    return new Promise((resolve) => this.enteredWaiters.push(resolve));
  }

  async send(topic: string, messages: ProduceMessage[]): Promise<ProduceResult[]> {
    for (const wake of this.enteredWaiters.splice(0)) wake();
    if (this.gate) await this.gate;
    if (this.full) {
      this.failures++;
      throw this.diskFull();
    }
    return this.inner.send(topic, messages);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
