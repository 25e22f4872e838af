import { resolve } from 'node:path';
import type { Region } from '../../schemas/index.js';
import { ConnectorLifecycle } from '../lifecycle.js';
import {
  type Connector,
  type ConnectorContext,
  type ConnectorHealth,
  type Feed,
  feeds,
  type ProvidedCatalogName,
} from '../types.js';
import { writeCatalogFiles } from './catalogs.js';
import { type DemoConnectorConfig, defaultStartMonth } from './config.js';
import { DemoInbox } from './inbox.js';
import { buildDemoCity, type DemoCity, historyMessages, type RawMessage } from './index.js';
import { liveItems } from './live.js';
import { DemoWire } from './wire/index.js';

interface DemoCheckpoint {
  /** Identifies the generated history: a different seed or span starts over. */
  history: string;
  /** Messages of the history acknowledged by the bus, in generation order. */
  acked: number;
}

/**
 * Feeds the bus from the demo city simulator: first its whole history (fast, compressed time), then, when `live`,
 * current records every tick until stopped. The history is one unit: stop() lets it finish, so a bounded run
 * always contains the complete history the ground truth describes. Its cursor is checkpointed after each
 * acknowledged send, so a restarted hub resumes the history instead of sending it twice.
 *
 * With an `inbox`, the departments deliver files there instead of raw.dept messages (README.md "Deliveries as
 * files"): start() writes every history file before it resolves, so dept-files connectors listed after the demo
 * (the hub starts connectors in order) find the whole history in their folders when they start.
 */
export class DemoConnector implements Connector {
  readonly id: string;
  readonly kind = 'demo';
  readonly city: DemoCity;
  private readonly lifecycle: ConnectorLifecycle;
  private wake: (() => void) | undefined;

  private readonly historyId: string;
  private readonly inbox: DemoInbox | undefined;
  private readonly wire: DemoWire | undefined;

  constructor(
    private readonly config: DemoConnectorConfig,
    regions: Region[],
    /** `baseDir`: what a relative `inbox` is resolved against (the config file's folder; default the cwd). */
    options: { nowMs?: number; baseDir?: string } = {},
  ) {
    const nowMs = options.nowMs ?? Date.now();
    this.id = config.id;
    this.lifecycle = new ConnectorLifecycle(config.id, 'demo');
    this.city = buildDemoCity({
      seed: config.seed,
      startMonth: config.start_month ?? defaultStartMonth(config.months, nowMs),
      months: config.months,
      scale: config.scale,
      regions,
      ...(config.inbox === undefined ? {} : { dept: 'files' as const }),
      ...(config.wire?.hotline_api === undefined ? {} : { hotline: 'api' as const }),
    });
    this.wire = config.wire === undefined ? undefined : new DemoWire(config.wire);
    this.inbox =
      config.inbox === undefined ? undefined : new DemoInbox(resolve(options.baseDir ?? process.cwd(), config.inbox));
    const o = this.city.options;
    // The message history differs when the deliveries are files: its cursor must not carry over.
    this.historyId = `seed=${o.seed};start=${o.startMonth};months=${o.months};scale=${o.scale}${this.inbox ? ';dept=files' : ''}${o.hotline === 'api' ? ';hotline=api' : ''}`;
  }

  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  async start(context: ConnectorContext): Promise<void> {
    if (this.inbox) {
      const written = await this.inbox.writeHistory(this.historyId, this.city.plan.deptFiles);
      context.log.info(
        { connector: this.id, inbox: this.inbox.root, files: this.city.plan.deptFiles.length, written },
        'demo delivery files in the inbox',
      );
    }
    if (this.wire) {
      await this.wire.start(context.log);
      // The 12345 system holds its whole history from the start; the poller takes it at its own pace.
      if (this.wire.carries('hotline'))
        await this.wire.send(
          'hotline',
          [...historyMessages(this.city)].filter((m) => m.feed === 'hotline'),
        );
    }
    this.lifecycle.run(context.log, () => this.run(context));
  }

  /**
   * Lets the history finish (and over the wire, waits until the hub's connectors hold all of it), then closes the
   * demo's own peers. The hub stops connectors in their listed order, so the ones reading from the demo are still
   * running meanwhile.
   */
  async stop(): Promise<void> {
    await this.lifecycle.stop(this.wake);
    await this.wire?.close();
  }

  /** The simulated city's device registry, resource catalog and scenarios, as files for the hub. */
  async writeCatalogs(dir: string, names: readonly ProvidedCatalogName[]): Promise<void> {
    await writeCatalogFiles(this.city.catalogs, dir, names);
  }

  health(): ConnectorHealth {
    return this.lifecycle.health();
  }

  private async run(context: ConnectorContext): Promise<void> {
    const { log, checkpoint } = context;
    const sender = this.lifecycle.openSender(context);
    const wire = this.wire;
    const batcher = new FeedBatcher(
      (feed, batch) =>
        wire?.carries(feed)
          ? wire.send(feed, batch)
          : sender.send(
              feed,
              batch.map((m) => ({ key: m.key, value: m.value })),
            ),
      this.config.batch_size,
      (feed) => wire?.carries(feed) ?? false,
    );
    // Loaded into the 12345 API at start: the history loop leaves the work orders out.
    const skipped: Feed | undefined = wire?.carries('hotline') ? 'hotline' : undefined;
    const saved = checkpoint?.position as DemoCheckpoint | undefined;
    const resumeAt = saved?.history === this.historyId ? saved.acked : 0;
    if (resumeAt > 0) log.info({ connector: this.id, resume_at: resumeAt }, 'demo history resumes from checkpoint');
    let emitted = 0;
    for (const message of historyMessages(this.city)) {
      emitted++;
      if (emitted <= resumeAt || message.feed === skipped) continue;
      if (batcher.add(message)) {
        await batcher.flush();
        await checkpoint?.commit({ history: this.historyId, acked: emitted } satisfies DemoCheckpoint);
      }
      if (emitted % 20_000 === 0) log.info({ connector: this.id, emitted }, 'demo history progress');
    }
    await batcher.flush();
    await wire?.hotlineTaken();
    if (emitted > resumeAt)
      await checkpoint?.commit({ history: this.historyId, acked: emitted } satisfies DemoCheckpoint);
    log.info(
      { connector: this.id, emitted, sent: sender.sent, ...(wire ? { over_the_wire: wire.delivered } : {}) },
      'demo history sent',
    );
    if (!this.config.live) return;
    let fromMs = Date.now();
    while (!this.lifecycle.stopping) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.config.live_tick_ms);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      const toMs = Date.now();
      for (const item of liveItems(this.city, fromMs, toMs)) {
        if (!('value' in item)) await this.inbox?.write(item);
        else if (batcher.add(item)) await batcher.flush();
      }
      await batcher.flush();
      fromMs = toMs;
    }
    await wire?.hotlineTaken();
  }
}

/** Sends one feed's batch: to the bus (the sender retries and dead-letters what it refuses) or over the wire. */
type SendBatch = (feed: Feed, batch: RawMessage[]) => Promise<unknown>;

/**
 * Groups messages per feed into sends. Every flush sends all feeds, so after it everything added so far is
 * acknowledged (the checkpoint relies on that); a flush that fails keeps nothing acknowledged beyond what was counted.
 * The feeds go out together: over the wire each waits on a different connector of the hub.
 */
export class FeedBatcher {
  private readonly pending = new Map<Feed, RawMessage[]>();

  constructor(
    private readonly send: SendBatch,
    private readonly batchSize: number,
    /** Feeds sent over the wire: each waits on its own connector of the hub, so they go out together. */
    private readonly concurrent: (feed: Feed) => boolean = () => false,
  ) {}

  /** Buffers the message; true when a batch is full and the caller should flush. */
  add(message: RawMessage): boolean {
    let batch = this.pending.get(message.feed);
    if (!batch) {
      batch = [];
      this.pending.set(message.feed, batch);
    }
    batch.push(message);
    return batch.length >= this.batchSize;
  }

  async flush(): Promise<void> {
    const together: Promise<unknown>[] = [];
    const inTurn: [Feed, RawMessage[]][] = [];
    for (const feed of feeds) {
      const batch = this.pending.get(feed);
      if (!batch || batch.length === 0) continue;
      this.pending.set(feed, []);
      if (this.concurrent(feed)) together.push(this.send(feed, batch));
      else inTurn.push([feed, batch]);
    }
    const bus = (async () => {
      for (const [feed, batch] of inTurn) await this.send(feed, batch);
    })();
    // Every send settles before a failure is passed on: none is left running behind the caller's back.
    const results = await Promise.allSettled([bus, ...together]);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  }
}
