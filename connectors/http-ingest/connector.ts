import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { defaultRetryPolicy } from '../../pipelines/retry.js';
import { ConnectorLifecycle } from '../lifecycle.js';
import { BusSender } from '../send.js';
import type { Connector, ConnectorContext, ConnectorHealth } from '../types.js';
import { buildApp } from './app.js';
import { GroupAppender } from './appender.js';
import type { HttpIngestConnectorConfig } from './config.js';
import { IngestSource } from './source.js';

/**
 * One HTTP listener serving push sources by path (sensor bulk pushes, signed video-AI webhooks). A request is
 * answered 2xx only after everything it carried is acknowledged by the bus (as records or as connector dead letters),
 * so a sender that got no 2xx may send again: at-least-once, and a re-send after a hub crash is dropped by the source
 * checkpoint when the bus already holds it. stop() stops accepting, lets in-flight requests finish, then closes.
 */
export class HttpIngestConnector implements Connector {
  readonly id: string;
  readonly kind = 'http-ingest';
  private readonly lifecycle: ConnectorLifecycle;
  private sources: IngestSource[] = [];
  private app: FastifyInstance | undefined;
  private requestStop!: () => void;
  private readonly stopRequested = new Promise<void>((resolve) => {
    this.requestStop = resolve;
  });

  constructor(
    private readonly config: HttpIngestConnectorConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.id = config.id;
    this.lifecycle = new ConnectorLifecycle(config.id, 'http-ingest');
  }

  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  async start(context: ConnectorContext): Promise<void> {
    // A request waits out a few failed appends, not an outage: past them it is answered 503 and the sender retries.
    const policy = { ...(context.retryPolicy ?? defaultRetryPolicy), maxAttempts: this.config.send_attempts };
    // One sender for the listener; each append names its source, stamped as `cityhub-source` (the lake's `_source`,
    // the mapping's key).
    const sender = new BusSender({
      connector: this.id,
      producer: context.producer,
      signal: this.lifecycle.stopWaiting.signal,
      log: context.log,
      policy,
    });
    // The lifecycle's health reports it (counts, retries, the failure being retried).
    this.lifecycle.sender = sender;
    this.sources = this.config.sources.map((source) => new IngestSource(source, this.now));
    const appender = new GroupAppender(sender, context.checkpoint, context.log);
    const app = buildApp({
      config: this.config,
      sources: this.sources,
      appender,
      log: context.log,
      state: () => this.lifecycle.state,
    });
    this.app = app;
    let listening!: () => void;
    const listened = new Promise<void>((resolve) => {
      listening = resolve;
    });
    this.lifecycle.run(context.log, async () => {
      await app.listen({ host: this.config.listen.host, port: this.config.listen.port });
      context.log.info(
        { connector: this.id, address: this.address(), sources: this.sources.map((s) => [s.id, s.config.path]) },
        'http-ingest listening',
      );
      listening();
      await this.stopRequested;
      // Stops accepting, waits for the requests in flight (each waits for its append), closes idle connections.
      await app.close();
      await appender.idle();
    });
    // Running once listening; a listen failure (port taken) fails the connector through health and done instead.
    await Promise.race([listened, this.lifecycle.done.catch(() => {})]);
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop(this.requestStop);
  }

  /** Where the listener is bound (port 0 in the config: the port it got). */
  address(): { host: string; port: number } | undefined {
    const address = this.app?.server.address() as AddressInfo | null | undefined;
    return address ? { host: address.address, port: address.port } : undefined;
  }

  /** The fastify app, for inject() in tests. */
  get server(): FastifyInstance | undefined {
    return this.app;
  }

  health(): ConnectorHealth {
    const progress: Record<string, number> = {};
    for (const source of this.sources) {
      const report = source.report();
      progress[`${source.id}.requests`] = report.requests;
      progress[`${source.id}.records`] = report.records;
      progress[`${source.id}.rejected_records`] = report.rejected_records;
      for (const [status, n] of Object.entries(report.responses)) progress[`${source.id}.status_${status}`] = n;
      if (report.replay_cache_evictions !== undefined)
        progress[`${source.id}.replay_cache_evictions`] = report.replay_cache_evictions;
    }
    return { ...this.lifecycle.health(), progress };
  }
}
