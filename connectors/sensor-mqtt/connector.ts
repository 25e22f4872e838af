import type { IPublishPacket } from 'mqtt';
import type { Logger } from 'pino';
import { SOURCE_HEADER } from '../../pipelines/bus/headers.js';
import type { ProduceMessage } from '../../pipelines/bus/types.js';
import { backoffDelay, defaultRetryPolicy, RetryAbortedError, type RetryPolicy, sleep } from '../../pipelines/retry.js';
import { readTlsFiles } from '../../pipelines/tls-files.js';
import { ConnectorLifecycle } from '../lifecycle.js';
import type { BusSender } from '../send.js';
import type { SourceCheckpoint } from '../source-checkpoint.js';
import type { Connector, ConnectorContext, ConnectorHealth } from '../types.js';
import type { SensorMqttConnectorConfig } from './config.js';
import { MqttConnectError, MqttSession, type SessionTls } from './session.js';
import { topicLevel } from './topic.js';

/** The header that carries a message's topic to the mapping (`{ header: mqtt-topic, segment: N }`). */
export const TOPIC_HEADER = 'mqtt-topic';

/** Messages taken from the broker and appended together: acknowledged together once the send resolved. */
class Batch {
  readonly messages: ProduceMessage[] = [];
  /** Per message: the connection that delivered it, and its packet id (-1: QoS 0, nothing to acknowledge). */
  readonly sessions: MqttSession[] = [];
  readonly ids: number[] = [];
}

/**
 * Subscribes to topic filters in a persistent MQTT session and appends every message to `raw.<feed>`, keyed by its
 * topic (or one level of it) with the header `mqtt-topic`. A QoS 1 message is acknowledged to the broker only after
 * the bus acknowledged its append (as itself, or as a connector dead letter when the bus refuses its size), so a
 * crash, a lost connection or a failing bus leaves it with the broker, which delivers it again: at-least-once, the
 * repeats being only what was in flight unacknowledged (the pipeline dead-letters them as `duplicate`).
 *
 * Messages are collected for up to `batch_max_wait_ms` / `batch_max_messages` and appended in one send (one fsync);
 * batches go one after another, in arrival order. At most two batches' worth of messages are held unacknowledged:
 * past that the client stops reading from the broker until a batch is acknowledged (TCP backpressure).
 */
export class SensorMqttConnector implements Connector {
  readonly id: string;
  readonly kind = 'sensor-mqtt';
  private readonly lifecycle: ConnectorLifecycle;
  private readonly maxUnacknowledged: number;
  private checkpoint: SourceCheckpoint | undefined;
  private sender: BusSender | undefined;
  private log: Logger | undefined;
  private batch = new Batch();
  private batchTimer: NodeJS.Timeout | undefined;
  /** The chain of batch sends, in order. */
  private sending: Promise<void> = Promise.resolve();
  /** Messages taken and not yet acknowledged (or given up on). */
  private unacknowledged = 0;
  /** The client's read of the next packet, held while too much is unacknowledged. */
  private heldNext: (() => void) | undefined;
  private session: MqttSession | undefined;
  /** Why the broker cannot be reached right now; cleared once connected and subscribed. */
  private connectionError: string | undefined;
  private lastConnectionErrorAt: string | undefined;
  private sendFailure: unknown;
  private failSends: ((error: unknown) => void) | undefined;
  private wakeStop: (() => void) | undefined;
  private readonly stats = { connected: 0, connects: 0, received: 0, acknowledged: 0, batches: 0 };
  /** Read from the `tls` files at start. */
  private tls: SessionTls | undefined;
  private readonly baseDir: string;

  /** `baseDir`: what relative `tls` file paths are resolved against (the config file's folder; default: the cwd). */
  constructor(
    private readonly config: SensorMqttConnectorConfig,
    options: { baseDir?: string } = {},
  ) {
    this.id = config.id;
    this.baseDir = options.baseDir ?? process.cwd();
    this.lifecycle = new ConnectorLifecycle(config.id, 'sensor-mqtt');
    this.maxUnacknowledged = 2 * config.batch_max_messages;
  }

  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  async start(context: ConnectorContext): Promise<void> {
    // An unreadable certificate is a config mistake: start fails at once, naming the key and file (TlsFileError).
    this.tls = readTlsFiles(this.config.tls, this.baseDir);
    if (this.tls?.rejectUnauthorized === false)
      context.log.warn(
        { connector: this.config.id, url: this.config.url },
        'tls.reject_unauthorized is false: the broker is not authenticated, anyone on the way can read and forge its messages',
      );
    this.checkpoint = context.checkpoint;
    this.log = context.log;
    const sender = this.lifecycle.openSender(context);
    this.sender = sender;
    const policy = context.retryPolicy ?? defaultRetryPolicy;
    // Stopped in a reconnect wait, or a send cut short while the bus was healthy: an ordinary end.
    this.lifecycle.run(
      context.log,
      () => this.run(policy, context.log),
      (error) => error instanceof RetryAbortedError && !sender.health.error,
    );
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop(() => this.wakeStop?.());
  }

  health(): ConnectorHealth {
    const health = this.lifecycle.health();
    const running = health.state === 'running' || health.state === 'starting';
    if (this.connectionError && running) {
      health.error = health.error ? `${this.connectionError}; ${health.error}` : this.connectionError;
    }
    const lastErrorAt = [health.last_error_at, this.lastConnectionErrorAt].filter(Boolean).sort().pop();
    if (lastErrorAt) health.last_error_at = lastErrorAt;
    // qos and in_flight: at QoS 0 the in-flight messages are the ones a crash would lose (the broker forgot them).
    return { ...health, progress: { ...this.stats, qos: this.config.qos, in_flight: this.unacknowledged } };
  }

  /** Keeps one connection of the session up until stop(), reconnecting with the shared backoff. */
  private async run(policy: RetryPolicy, log: Logger): Promise<void> {
    const sendsFailed = new Promise<never>((_, reject) => {
      this.failSends = reject;
    });
    sendsFailed.catch(() => {}); // raced below; the failure is rethrown at the end
    const stopped = new Promise<void>((resolve) => {
      this.wakeStop = resolve;
    });
    try {
      for (let attempt = 1; !this.lifecycle.stopping; attempt++) {
        try {
          const opening = this.connect();
          const session = await Promise.race([opening, stopped.then(() => undefined), sendsFailed]);
          if (session === undefined) {
            // Stopped while connecting: the connection being opened is closed as soon as it is up.
            opening.then(
              (late) => late.close(),
              () => {},
            );
            break;
          }
          this.session = session;
          attempt = 1; // the backoff starts over after a connection that worked
          this.stats.connected = 1;
          this.stats.connects++;
          this.connectionError = undefined;
          log.info({ connector: this.id, url: this.config.url, topics: this.config.topics }, 'mqtt subscribed');
          const why = await Promise.race([this.session.closed, stopped.then(() => undefined), sendsFailed]);
          if (why === undefined) break;
          session.destroy(); // mqtt.js does not reconnect it (reconnectPeriod 0); this only frees its timers
          this.stats.connected = 0;
          this.noteConnectionError(`mqtt connection to ${this.config.url} lost: ${why}`, log);
        } catch (error) {
          if (!(error instanceof MqttConnectError)) throw error;
          this.noteConnectionError(error.message, log);
        }
        const delayMs = backoffDelay(attempt, policy);
        this.connectionError = `${this.connectionError} (attempt ${attempt}, reconnecting in ${delayMs} ms)`;
        await Promise.race([
          sleep(delayMs, this.lifecycle.stopWaiting.signal, `mqtt reconnect ${this.id}`),
          sendsFailed,
        ]);
      }
      // Stopping: what was taken is appended and acknowledged; nothing more is taken (the broker keeps it).
      this.flush();
      await Promise.race([this.sending, sendsFailed]);
    } finally {
      this.stats.connected = 0;
      clearTimeout(this.batchTimer);
      await this.session?.close().catch(() => {});
    }
    if (this.sendFailure !== undefined) throw this.sendFailure;
  }

  private connect(): Promise<MqttSession> {
    const c = this.config;
    return MqttSession.open(
      {
        url: c.url,
        clientId: c.client_id,
        username: c.username,
        password: c.password,
        topics: c.topics,
        qos: c.qos,
        keepaliveS: c.keepalive_s,
        connectTimeoutMs: c.connect_timeout_ms,
        tls: this.tls,
      },
      this.receive,
    );
  }

  private noteConnectionError(why: string, log: Logger): void {
    this.connectionError = why;
    this.lastConnectionErrorAt = new Date().toISOString();
    log.warn({ connector: this.id, why }, 'mqtt broker unreachable; reconnecting with backoff');
  }

  /** Every message, as the client reads it: into the batch, acknowledged once the batch is on the bus. */
  private readonly receive = (packet: IPublishPacket, session: MqttSession, next: () => void): void => {
    // Not taken once stopping or after a failed send: unacknowledged, the broker keeps it for the next session.
    if (this.lifecycle.stopping || this.sendFailure !== undefined) {
      next();
      return;
    }
    const topic = packet.topic;
    const key = this.config.key_segment === undefined ? topic : (topicLevel(topic, this.config.key_segment) ?? topic);
    const batch = this.batch;
    batch.messages.push({
      key,
      value: packet.payload as Buffer,
      // Stamped with the connector id here, so BusSender sends the message as it is instead of copying it.
      headers: { [TOPIC_HEADER]: topic, [SOURCE_HEADER]: this.id },
    });
    batch.sessions.push(session);
    batch.ids.push(packet.qos > 0 && packet.messageId !== undefined ? packet.messageId : -1);
    this.stats.received++;
    this.unacknowledged++;
    if (batch.messages.length >= this.config.batch_max_messages) this.flush();
    else if (batch.messages.length === 1) this.batchTimer = setTimeout(this.flush, this.config.batch_max_wait_ms);
    if (this.unacknowledged >= this.maxUnacknowledged) this.heldNext = next;
    else next();
  };

  /** Queues the batch collected so far for its send. */
  private readonly flush = (): void => {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const batch = this.batch;
    if (batch.messages.length === 0) return;
    this.batch = new Batch();
    this.sending = this.sending.then(() => this.append(batch));
  };

  private async append(batch: Batch): Promise<void> {
    if (this.sendFailure !== undefined) return;
    try {
      await this.sender!.send(this.config.feed, batch.messages);
      // On the bus: now the broker may forget them. A connection lost meanwhile gets nothing; it redelivers them.
      for (let i = 0; i < batch.ids.length; i++) {
        const id = batch.ids[i]!;
        if (id >= 0) batch.sessions[i]!.puback(id);
      }
      this.stats.acknowledged += batch.messages.length;
      this.stats.batches++;
      // The broker is the position; the commit only says no send is in flight any more.
      await this.checkpoint?.commit(null);
    } catch (error) {
      this.sendFailure = error;
      this.failSends?.(error);
      this.log?.error({ connector: this.id, err: error }, 'mqtt batch not appended; its messages stay with the broker');
    } finally {
      this.unacknowledged -= batch.messages.length;
      const next = this.heldNext;
      if (next && this.unacknowledged < this.maxUnacknowledged) {
        this.heldNext = undefined;
        next();
      }
    }
  }
}
