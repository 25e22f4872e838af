/**
 * The demo's feeds over the real protocols (connectors/demo/README.md "Over the wire"): sensors publish to an MQTT
 * broker the demo runs, video alerts are signed webhooks and city events NDJSON pushes to the hub's http-ingest
 * listener, and the 12345 work orders wait in a REST API the demo serves for a hotline-rest connector. Nothing here
 * touches the bus: what arrives there came through the hub's own network connectors.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { CityhubError } from '../../../pipelines/errors.js';
import type { DemoWireConfig } from '../config.js';
import type { Feed, RawMessage } from '../types.js';
import { BulkPusher } from './bulk.js';
import { DemoHotlineApi } from './hotline-api.js';
import { DemoMqttBroker } from './mqtt.js';
import { WebhookSender } from './webhook.js';

export type WireFeed = 'sensor' | 'video' | 'event' | 'hotline';

/** After this long without delivery the demo says what it waits for. */
const SLOW_DELIVERY_MS = 15_000;

const waitingFor: Record<WireFeed, string> = {
  sensor: 'a sensor-mqtt connector subscribed to wire.mqtt.topic_prefix at the broker, acknowledging readings',
  video: 'an http-ingest video-webhook source at wire.video_webhook.url answering 202 (same secret)',
  event: 'an http-ingest bulk source at wire.event_push.url answering 202',
  hotline: 'a hotline-rest connector polling the 12345 API to its last order',
};

export class DemoWire {
  private readonly abort = new AbortController();
  private mqtt: DemoMqttBroker | undefined;
  private readonly webhook: WebhookSender | undefined;
  private readonly events: BulkPusher | undefined;
  readonly hotlineApi: DemoHotlineApi | undefined;
  private log: Logger | undefined;

  constructor(private readonly config: DemoWireConfig) {
    // Every request in flight may wait out a backoff on this signal at once (up to the webhook concurrency, 256).
    setMaxListeners(300, this.abort.signal);
    if (config.video_webhook) this.webhook = new WebhookSender(config.video_webhook, this.abort.signal);
    if (config.event_push) this.events = new BulkPusher(config.event_push, this.abort.signal);
    if (config.hotline_api) this.hotlineApi = new DemoHotlineApi(config.hotline_api);
  }

  /** The feeds that go over the wire; the others stay bus messages. */
  carries(feed: Feed): feed is WireFeed {
    switch (feed) {
      case 'sensor':
        return this.config.mqtt !== undefined;
      case 'video':
        return this.webhook !== undefined;
      case 'event':
        return this.events !== undefined;
      case 'hotline':
        return this.hotlineApi !== undefined;
      default:
        return false;
    }
  }

  /** Starts the peers the demo runs itself (the broker, the 12345 API): before the hub's connectors reach for them. */
  async start(log: Logger): Promise<void> {
    this.log = log;
    try {
      if (this.config.mqtt) {
        const { host, port } = this.config.mqtt;
        this.mqtt = await listening('wire.mqtt', host, port, () => DemoMqttBroker.start(this.config.mqtt!));
        log.info({ url: `mqtt://${host}:${port}` }, 'demo MQTT broker listening');
      }
      if (this.hotlineApi && this.config.hotline_api) {
        const { host, port } = this.config.hotline_api;
        await listening('wire.hotline_api', host, port, () => this.hotlineApi!.start());
        log.info({ url: `http://${host}:${port}/api/orders` }, 'demo 12345 work-order API listening');
      }
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Sends one feed's messages; resolves when the hub holds each one (acknowledged by a subscriber, answered 202 or
   * dead-lettered). Work orders are only added to the API: the poller takes them at its pace (`hotlineTaken`).
   */
  async send(feed: WireFeed, messages: readonly RawMessage[]): Promise<void> {
    if (messages.length === 0) return;
    switch (feed) {
      case 'sensor':
        return this.watched(feed, this.mqtt!.send(messages, this.abort.signal));
      case 'video':
        return this.watched(feed, this.webhook!.send(messages));
      case 'event':
        return this.watched(feed, this.events!.send(messages));
      case 'hotline':
        this.hotlineApi!.add(messages);
    }
  }

  /** Resolves once the hotline poller has taken every work order added so far. */
  hotlineTaken(): Promise<void> {
    return this.hotlineApi ? this.watched('hotline', this.hotlineApi.allTaken(this.abort.signal)) : Promise.resolve();
  }

  /**
   * The delivery, with a warning when it takes long: the demo waits for the hub's connector (not running, or listed
   * with another port, topic or secret) and says which one, instead of waiting in silence.
   */
  private async watched(feed: WireFeed, delivery: Promise<void>): Promise<void> {
    const timer = setTimeout(() => {
      this.log?.warn({ feed, waiting_for: waitingFor[feed] }, 'demo still waiting for the hub to take its messages');
    }, SLOW_DELIVERY_MS);
    try {
      await delivery;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Messages the hub confirmed so far, per feed (the API's: added; the poller's progress is hotlineTaken). */
  get delivered(): Partial<Record<WireFeed, number>> {
    return {
      ...(this.mqtt ? { sensor: this.mqtt.delivered } : {}),
      ...(this.webhook ? { video: this.webhook.settled } : {}),
      ...(this.events ? { event: this.events.settled } : {}),
    };
  }

  /** Stops waiting for the hub and closes the peers (their clients see the connection drop). */
  async close(): Promise<void> {
    this.abort.abort();
    await this.mqtt?.close();
    await this.hotlineApi?.close();
  }
}

/** A peer the demo runs could not listen: the message names the address and the config key that sets it. */
export class DemoListenError extends CityhubError {
  constructor(
    readonly key: string,
    readonly address: string,
    cause: unknown,
  ) {
    const code = (cause as { code?: unknown }).code;
    const why = code === 'EADDRINUSE' ? 'the port is taken' : cause instanceof Error ? cause.message : String(cause);
    super(`the demo cannot listen on ${address} (${key}.port): ${why}`);
  }
}

async function listening<T>(key: string, host: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    throw new DemoListenError(key, `${host}:${port}`, error);
  }
}
