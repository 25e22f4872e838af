import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { CityhubError } from '../../pipelines/errors.js';
import type { TlsMaterial } from '../../pipelines/tls-files.js';

/** Connecting or subscribing failed (broker down, refused credentials, a filter it will not grant): retried. */
export class MqttConnectError extends CityhubError {
  readonly url: string;
  readonly clientId: string;
  constructor(url: string, clientId: string, why: string, cause?: unknown) {
    super(`mqtt broker ${url} (client ${clientId}): ${why}`, { cause, retriable: true });
    this.url = url;
    this.clientId = clientId;
  }
}

/** The TLS material of an mqtts:// session, read from the config's files. */
export type SessionTls = TlsMaterial;

export interface SessionOptions {
  url: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  topics: readonly string[];
  qos: 0 | 1;
  keepaliveS: number;
  connectTimeoutMs: number;
  tls?: SessionTls | undefined;
}

/** mqtt.js hands these to `tls.connect` for an mqtts:// url; an absent CA means Node's publicly trusted ones. */
function tlsOptions(tls: SessionTls | undefined): Partial<IClientOptions> {
  if (!tls) return {};
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}

/**
 * Told of every message as it arrives, one at a time. `next()` lets the client read the following packet: calling it
 * later is backpressure (nothing more is read from the broker until then). The message is not acknowledged by that:
 * the receiver acknowledges it with `session.puback()` once it is durable.
 */
export type Receive = (packet: IPublishPacket, session: MqttSession, next: () => void) => void;

/**
 * Handed to mqtt.js instead of "done": its publish handler then skips the PUBACK it would send and reads on. A
 * constant, so the per-message path allocates nothing for it.
 */
const ACK_LATER = new Error('acknowledged by the connector after the durable append');

/** mqtt.js' own packet writer: private in its types, the one way to write a PUBACK exactly as it would. */
interface PacketWriter {
  _sendPacket(packet: { cmd: 'puback'; messageId: number }): void;
}

/**
 * One connection of the persistent session (clean: false, a stable client id): connected and subscribed by open(),
 * never reconnected by mqtt.js itself (the connector reconnects with the shared backoff and a fresh session object,
 * so an acknowledgement can only go to the connection that delivered the message).
 *
 * Acknowledgement after the append: mqtt.js sends a QoS 1 PUBACK when `handleMessage`'s callback is called, and
 * handles packets strictly one at a time until then, so acknowledging late through that callback would allow one
 * message in flight and no batching. Instead the callback gets ACK_LATER (mqtt.js then sends no PUBACK and reads on)
 * and puback() writes the PUBACK once the batch is on the bus. PUBACKs go out in the order the messages arrived, as
 * MQTT 3.1.1 §4.6 asks, because batches are appended and acknowledged in order.
 */
export class MqttSession {
  /** Resolves when the connection ends, with why (never rejects). */
  readonly closed: Promise<string>;
  private lastError: string | undefined;

  private constructor(
    private readonly client: MqttClient,
    closed: Promise<string>,
  ) {
    this.closed = closed;
  }

  static async open(options: SessionOptions, receive: Receive): Promise<MqttSession> {
    const clientOptions: IClientOptions = {
      clientId: options.clientId,
      clean: false,
      protocolVersion: 4,
      keepalive: options.keepaliveS,
      connectTimeout: options.connectTimeoutMs,
      reconnectPeriod: 0,
      manualConnect: true,
      resubscribe: false,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...tlsOptions(options.tls),
    };
    const client = connect(options.url, clientOptions);
    let session: MqttSession | undefined;
    let lastError: string | undefined;
    client.on('error', (error) => {
      const code = (error as { code?: unknown }).code;
      // TLS refusals carry their reason in the code (e.g. SELF_SIGNED_CERT_IN_CHAIN): health shows both.
      // OpenSSL's messages end in a newline; health shows one line.
      const message = error.message.trim().replace(/\s*\n\s*/g, ' ');
      lastError =
        typeof code === 'string' && message && !message.includes(code)
          ? `${message} (${code})`
          : message || String(code ?? error);
      if (session) session.lastError = lastError;
    });
    const closed = new Promise<string>((resolve) =>
      client.once('close', () => resolve(session?.lastError ?? lastError ?? 'connection closed by the broker')),
    );
    session = new MqttSession(client, closed);
    const self = session;
    client.handleMessage = (packet, done) => receive(packet, self, () => done(ACK_LATER));

    const fail = (why: string, cause?: unknown): never => {
      client.end(true);
      throw new MqttConnectError(options.url, options.clientId, why, cause);
    };
    client.connect();
    // mqtt.js gives up on a missing CONNACK after connectTimeout; this bounds the TCP and TLS part too.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.connectTimeoutMs);
    });
    const connected = new Promise<'connected'>((resolve) => client.once('connect', () => resolve('connected')));
    const outcome = await Promise.race([connected, closed, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') fail(`no CONNACK within ${options.connectTimeoutMs} ms`);
    if (outcome !== 'connected') fail(`cannot connect: ${outcome}`);

    try {
      const granted = await client.subscribeAsync([...options.topics], { qos: options.qos });
      const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) fail(`subscription refused for ${refused.join(', ')}`);
    } catch (error) {
      if (error instanceof MqttConnectError) throw error;
      fail(`subscribe failed: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    return session;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Acknowledges a QoS 1 message to the broker. On a connection that is gone it does nothing: the broker keeps the
   * message in the session and delivers it again on the next connection.
   */
  puback(messageId: number): void {
    if (!this.client.connected) return;
    (this.client as unknown as PacketWriter)._sendPacket({ cmd: 'puback', messageId });
  }

  /** Ends the connection with a DISCONNECT; the broker keeps the session (and what is published meanwhile). */
  async close(): Promise<void> {
    if (!this.client.connected) {
      this.client.end(true);
      return;
    }
    await this.client.endAsync();
  }

  /** Drops the connection without a DISCONNECT, as a crash would. */
  destroy(): void {
    this.client.end(true);
  }
}
