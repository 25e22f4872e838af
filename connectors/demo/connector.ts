import { resolve } from 'node:path';
import type { ProduceMessage } from '../../pipelines/bus/types.js';
import type { Region } from '../../schemas/index.js';
import { ConnectorLifecycle } from '../lifecycle.js';
import type { BusSender } from '../send.js';
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
    });
    this.inbox =
      config.inbox === undefined ? undefined : new DemoInbox(resolve(options.baseDir ?? process.cwd(), config.inbox));
    const o = this.city.options;
    // The message history differs when the deliveries are files: its cursor must not carry over.
    this.historyId = `seed=${o.seed};start=${o.startMonth};months=${o.months};scale=${o.scale}${this.inbox ? ';dept=files' : ''}`;
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
    this.lifecycle.run(context.log, () => this.run(context));
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop(this.wake);
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
    const batcher = new FeedBatcher(sender, this.config.batch_size);
    const saved = checkpoint?.position as DemoCheckpoint | undefined;
    const resumeAt = saved?.history === this.historyId ? saved.acked : 0;
    if (resumeAt > 0) log.info({ connector: this.id, resume_at: resumeAt }, 'demo history resumes from checkpoint');
    let emitted = 0;
    for (const message of historyMessages(this.city)) {
      emitted++;
      if (emitted <= resumeAt) continue;
      if (batcher.add(message)) {
        await batcher.flush();
        await checkpoint?.commit({ history: this.historyId, acked: emitted } satisfies DemoCheckpoint);
      }
      if (emitted % 20_000 === 0) log.info({ connector: this.id, emitted }, 'demo history progress');
    }
    await batcher.flush();
    if (emitted > resumeAt)
      await checkpoint?.commit({ history: this.historyId, acked: emitted } satisfies DemoCheckpoint);
    log.info({ connector: this.id, emitted, sent: sender.sent }, 'demo history sent');
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
  }
}

/**
 * Groups messages per feed into bus sends. Every flush sends all feeds through the sender (which retries and
 * dead-letters what the bus refuses), so after it everything added so far is acknowledged (the checkpoint relies on
 * that); a flush that fails keeps nothing acknowledged beyond what the sender counted.
 */
export class FeedBatcher {
  private readonly pending = new Map<Feed, ProduceMessage[]>();

  constructor(
    private readonly sender: BusSender,
    private readonly batchSize: number,
  ) {}

  /** Buffers the message; true when a batch is full and the caller should flush. */
  add(message: RawMessage): boolean {
    let batch = this.pending.get(message.feed);
    if (!batch) {
      batch = [];
      this.pending.set(message.feed, batch);
    }
    batch.push({ key: message.key, value: message.value });
    return batch.length >= this.batchSize;
  }

  async flush(): Promise<void> {
    for (const feed of feeds) {
      const batch = this.pending.get(feed);
      if (batch && batch.length > 0) await this.send(feed, batch);
    }
  }

  private async send(feed: Feed, batch: ProduceMessage[]): Promise<void> {
    this.pending.set(feed, []);
    await this.sender.send(feed, batch);
  }
}
