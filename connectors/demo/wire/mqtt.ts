/**
 * The city's sensor network over MQTT: the demo runs a broker (aedes) and its devices publish each reading at QoS 1
 * to `<topic_prefix>/<device id>`. A reading counts as delivered when a subscriber acknowledged it to the broker —
 * the hub's sensor-mqtt connector does that only after the durable append — so the demo's history cursor moves on
 * delivered readings only, and a crash re-publishes the rest.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type PublishPacket, type PubrelPacket, type Subscription } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import type { DemoWireConfig } from '../config.js';
import type { RawMessage } from '../types.js';
import { nextWake } from './wake.js';

type MqttConfig = NonNullable<DemoWireConfig['mqtt']>;

/** Whether an MQTT topic filter (`+` one level, `#` the rest) covers a topic. */
export function filterCovers(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

export class DemoMqttBroker {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private publisher: MqttClient | undefined;
  /**
   * Readings published and not yet acknowledged by a subscriber, counted by topic and payload (a re-sent reading
   * is the same bytes twice). The broker's acknowledgement event gives back the queued copy: same topic, same payload.
   */
  private readonly unacked = new Map<string, number>();
  private unackedCount = 0;
  private readonly waiters: (() => void)[] = [];
  private subscribed = false;
  /** Readings acknowledged by a subscriber. */
  delivered = 0;

  private constructor(
    private readonly broker: Aedes,
    private readonly config: MqttConfig,
  ) {}

  static async start(config: MqttConfig): Promise<DemoMqttBroker> {
    const broker = await Aedes.createBroker();
    const demo = new DemoMqttBroker(broker, config);
    broker.on('ack', (packet: PublishPacket | PubrelPacket | undefined) => {
      if (packet?.cmd === 'publish') demo.acked(packet);
    });
    broker.on('subscribe', (subscriptions: Subscription[]) => demo.subscriptionsAdded(subscriptions));
    const server = createServer((socket) => {
      demo.sockets.add(socket);
      socket.once('close', () => demo.sockets.delete(socket));
      broker.handle(socket);
    });
    // The hub's shutdown must not wait on the demo's listener if the demo never got to close it.
    server.unref();
    server.listen(config.port, config.host);
    try {
      await once(server, 'listening');
    } catch (error) {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      throw error;
    }
    demo.server = server;
    demo.publisher = await connectAsync(`mqtt://${config.host}:${config.port}`, {
      clientId: publisherId,
      clean: true,
      reconnectPeriod: 0,
    });
    return demo;
  }

  /**
   * Publishes the readings (QoS 1, the broker stores each before its PUBACK); resolves once a subscriber has
   * acknowledged every one. Waits first for a subscription covering the topics: before it the broker would drop them.
   */
  async send(messages: readonly RawMessage[], signal: AbortSignal): Promise<void> {
    while (!this.subscribed) await this.change(signal);
    const publisher = this.publisher!;
    const topics = messages.map((m) => `${this.config.topic_prefix}/${m.key}`);
    // Counted before publishing: a fast subscriber may acknowledge before the publisher hears its own PUBACK.
    for (const [i, m] of messages.entries()) {
      const key = `${topics[i]}\u0000${m.value}`;
      this.unacked.set(key, (this.unacked.get(key) ?? 0) + 1);
    }
    this.unackedCount += messages.length;
    await Promise.all(messages.map((m, i) => publisher.publishAsync(topics[i]!, m.value, { qos: 1 })));
    while (this.unackedCount > 0) await this.change(signal);
  }

  async close(): Promise<void> {
    await this.publisher?.endAsync(true);
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    this.wake();
  }

  private acked(packet: PublishPacket): void {
    const key = `${packet.topic}\u0000${packet.payload.toString()}`;
    const count = this.unacked.get(key);
    if (count === undefined) return;
    if (count === 1) this.unacked.delete(key);
    else this.unacked.set(key, count - 1);
    this.unackedCount--;
    this.delivered++;
    if (this.unackedCount === 0) this.wake();
  }

  private subscriptionsAdded(subscriptions: Subscription[]): void {
    const probe = `${this.config.topic_prefix}/probe`;
    if (subscriptions.some((s) => s.qos > 0 && filterCovers(s.topic, probe))) {
      this.subscribed = true;
      this.wake();
    }
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves when the last pending reading is acknowledged or a subscription arrives; rejects when `signal` aborts. */
  private change(signal: AbortSignal): Promise<void> {
    return nextWake(this.waiters, signal);
  }
}

/** The demo devices' client id at the broker (they share one connection). */
const publisherId = 'cityhub-demo-devices';
