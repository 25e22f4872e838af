import type { Logger } from 'pino';
import type { BusProducer } from '../pipelines/bus/types.js';

/** The five raw feeds; each has its topic `raw.<feed>` and its dead-letter folder `_dlq/<feed>`. */
export const feeds = ['sensor', 'video', 'hotline', 'event', 'dept'] as const;
export type Feed = (typeof feeds)[number];

export function rawTopic(feed: Feed): string {
  return `raw.${feed}`;
}

export interface ConnectorHealth {
  state: 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';
  /** Messages acknowledged by the bus, per feed. */
  sent: Partial<Record<Feed, number>>;
  error?: string;
}

export interface ConnectorContext {
  producer: BusProducer;
  log: Logger;
}

/**
 * The lifecycle every connector honours (after Benthos): start() begins reading and resolves once running;
 * the source's cursor only advances after the bus acknowledged the append; stop() ends reading, waits for
 * in-flight sends, and resolves when nothing more will be sent. `done` resolves when a finite source is exhausted.
 */
export interface Connector {
  readonly id: string;
  readonly kind: string;
  start(context: ConnectorContext): Promise<void>;
  stop(): Promise<void>;
  readonly done: Promise<void>;
  health(): ConnectorHealth;
}
