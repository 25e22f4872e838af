import type { Logger } from 'pino';
import type { BusProducer } from '../pipelines/bus/types.js';
import type { RetryPolicy } from '../pipelines/retry.js';
import type { DataResource } from '../schemas/index.js';
import type { SourceCheckpoint } from './source-checkpoint.js';

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
  /** Of `sent`, the messages the connector itself dead-lettered on `dlq.<feed>` (too large, unreadable). */
  dead_lettered?: Partial<Record<Feed, number>>;
  /** What is wrong: the failure being retried now, or why the connector failed. */
  error?: string;
  /** When the last failure happened (ISO 8601), kept after recovery. */
  last_error_at?: string;
  /** Bus sends retried since start (a full disk, a lost peer). */
  retries?: number;
  /** Bytes of the message bodies acknowledged by the bus, per feed. */
  bytes_sent?: Partial<Record<Feed, number>>;
  /** When the bus last acknowledged one of its sends (ISO 8601). */
  last_success_at?: string;
  /** Kind-specific progress counters (dept-files: files seen, delivered, re-delivered, with problems; rows). */
  progress?: Record<string, number>;
}

export interface ConnectorContext {
  producer: BusProducer;
  log: Logger;
  /** Backoff of failing bus sends (default: the shared policy); tests inject a fast one. */
  retryPolicy?: RetryPolicy;
  /**
   * The connector's durable cursor (the hub keeps one per connector id). `producer` already sends through its guard,
   * so a batch re-sent after a crash is not appended twice. A connector commits its position after each acknowledged
   * send; absent in tests that run a connector without one.
   */
  checkpoint?: SourceCheckpoint;
  /** The data-resource catalog as loaded (configured or provided): dept-files resolves and validates against it. */
  dataResources?: readonly DataResource[];
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
  /**
   * Optional catalog hook: a connector whose kind declares catalogs in the registry (`catalogsProvidedBy` in
   * connectors/index.ts) writes each of them as `<name>.json` (a JSON array of entries) into `dir`, a folder the hub
   * created for it. The hub validates these files like configured catalog files and never asks for them otherwise.
   */
  writeCatalogs?(dir: string, names: readonly ProvidedCatalogName[]): Promise<void>;
}

/** Reference catalogs a connector may hand over; the region catalog is always the configured or bundled file. */
export const providedCatalogNames = ['data_resources', 'scenarios', 'devices'] as const;
export type ProvidedCatalogName = (typeof providedCatalogNames)[number];
