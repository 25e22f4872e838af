/**
 * A hub process as operators see it: holds what is recorded as it happens (flush and marts build durations, API
 * requests), knows the live objects the hub hands it as they start (connectors, lander, worker), and makes from one
 * reading of them the /metrics exposition and the status (docs/operations.md).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Connector } from '../../connectors/types.js';
import type { ApiRequestCounter } from '../api/app.js';
import { processIdentity } from '../bus/embedded/lock.js';
import type { Lander } from '../land/lander.js';
import type { MemberSeedsOptions } from '../models/member-seeds.js';
import type { PartitionLag, PipelineWorker } from '../pipeline/worker.js';
import { DeadLetterWindow, listed } from './dead-letter-window.js';
import { exposition } from './exposition.js';
import { memberHealth } from './federation-health.js';
import { hubMetricFamilies, type ProcessInfo } from './hub-metrics.js';
import { type HubStatus, type MemberHealth, problemsOf } from './hub-status.js';
import { Histogram, LabeledCounter } from './instruments.js';
import { MartsBuildTracker } from './marts-builds.js';
import type { Observed } from './observed.js';

/** Seconds: a flush of a quiet feed takes milliseconds, a full one of a busy hub seconds. */
const FLUSH_BOUNDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface HubOpsOptions {
  role: HubStatus['role'];
  regionCode: string;
  log: Logger;
  /** Whether this process builds the marts (its builds are tracked and reported). */
  buildsMarts: boolean;
  /** The member hubs a province or national hub pulls, in the process that pulls them. */
  federation?: MemberSeedsOptions;
  now?: () => number;
}

export class HubOps {
  readonly flushDurations = new Histogram(
    'cityhub_flush_duration_seconds',
    'Duration of each committed flush: Parquet files written and put in place, then the bus offsets committed.',
    FLUSH_BOUNDS,
  );
  private readonly apiRequests = new LabeledCounter(
    'cityhub_api_requests_total',
    'Requests to the tier API of this process, by route pattern (unmatched for none) and HTTP status.',
    ['route', 'status'] as const,
  );
  private readonly marts: MartsBuildTracker | undefined;
  private apiServed = false;
  private state: HubStatus['state'] = 'starting';
  private connectors: readonly Connector[] = [];
  private pipeline: { lander: Lander; worker: PipelineWorker } | undefined;
  private readonly info: ProcessInfo;
  private readonly now: () => number;
  private readonly deadLetters: DeadLetterWindow;
  private readonly identity = { pid: process.pid, host: hostname(), ...processIdentity(process.pid) };

  constructor(private readonly options: HubOpsOptions) {
    this.now = options.now ?? Date.now;
    this.info = { role: options.role, regionCode: options.regionCode, startedAt: this.now() };
    this.deadLetters = new DeadLetterWindow(this.info.startedAt);
    this.marts = options.buildsMarts ? new MartsBuildTracker(this.now) : undefined;
  }

  /** The connectors of this process, once created. */
  watchConnectors(connectors: readonly Connector[]): void {
    this.connectors = connectors;
  }

  /** The pipeline of this process, once started. */
  watchPipeline(lander: Lander, worker: PipelineWorker): void {
    this.pipeline = { lander, worker };
  }

  /** Where the tier API of this process counts its requests (its family is in /metrics from then on). */
  countApiRequests(): ApiRequestCounter {
    this.apiServed = true;
    return this.apiRequests;
  }

  setState(state: HubStatus['state']): void {
    this.state = state;
  }

  /** Runs a marts build and records its duration and outcome (a build that skipped its turn returns null). */
  trackMartsBuild<T>(build: () => Promise<T | null>): Promise<T | null> {
    return this.marts ? this.marts.track(build) : build();
  }

  /** The Prometheus text exposition of this process now. */
  async metrics(): Promise<string> {
    const observed = await this.observe();
    return exposition(
      hubMetricFamilies(observed, this.info, {
        flushDurations: this.flushDurations,
        ...(this.apiServed ? { apiRequests: this.apiRequests } : {}),
        ...(this.marts ? { marts: this.marts } : {}),
      }),
    );
  }

  /** The status of this process now. */
  async status(): Promise<HubStatus> {
    const observed = await this.observe();
    const reasons = observed.landing?.reasons ?? new Map();
    this.deadLetters.sample(observed.now, reasons);
    const worker = observed.landing?.worker;
    const stats = observed.landing?.stats;
    const status: Omit<HubStatus, 'problems'> = {
      written_at: new Date(observed.now).toISOString(),
      state: this.state,
      role: this.info.role,
      region_code: this.info.regionCode,
      started_at: new Date(this.info.startedAt).toISOString(),
      process: this.identity,
      connectors: observed.connectors.map(({ id, kind, health }) => ({
        id,
        kind,
        state: health.state,
        error: health.error ?? null,
        last_error_at: health.last_error_at ?? null,
        last_success_at: health.last_success_at ?? null,
        appended: { ...health.sent } as Record<string, number>,
        bytes_appended: { ...health.bytes_sent } as Record<string, number>,
        dead_lettered: { ...health.dead_lettered } as Record<string, number>,
        retries: health.retries ?? 0,
      })),
      pipeline:
        worker && stats
          ? {
              state: worker.state,
              failures: worker.failures,
              last_error: worker.last_error ?? null,
              last_error_at: worker.last_error_at ?? null,
              last_flush_at: worker.last_flush_at ?? null,
              flushes: stats.flushes,
              files: stats.files,
            }
          : null,
      feeds: Object.fromEntries(Object.entries(stats?.feeds ?? {}).map(([feed, c]) => [feed, { ...c! }])),
      dead_letters: { by_reason: listed(reasons), last_hour: this.deadLetters.lastHour(observed.now, reasons) },
      bus_lag: observed.lag.map(({ topic, partition, highWatermark, committed, lag }) => ({
        topic,
        partition,
        high_watermark: highWatermark,
        committed,
        lag,
      })),
      marts: this.marts
        ? { last_build: this.marts.lastBuild ?? null, builds_ok: this.marts.ok, builds_failed: this.marts.failed }
        : null,
      federation: observed.members,
    };
    return { ...status, problems: problemsOf(status) };
  }

  private async observe(): Promise<Observed> {
    const now = this.now();
    const { lander, worker } = this.pipeline ?? {};
    return {
      now,
      connectors: this.connectors.map((c) => ({ id: c.id, kind: c.kind, health: c.health() })),
      ...(lander && worker
        ? { landing: { stats: lander.stats, reasons: lander.deadLettersByReason, worker: worker.health() } }
        : {}),
      lag: await this.lag(),
      members: await this.members(now),
    };
  }

  private async lag(): Promise<PartitionLag[]> {
    try {
      return (await this.pipeline?.worker.lag()) ?? [];
    } catch (error) {
      // The bus unreachable for a moment: the lag is unknown this time, the rest is still worth showing.
      this.options.log.debug({ err: error }, 'bus lag unavailable');
      return [];
    }
  }

  private async members(now: number): Promise<MemberHealth[]> {
    const federation = this.options.federation;
    if (federation === undefined) return [];
    try {
      return await memberHealth(federation.dir, federation.members, federation.staleAfterMs, now);
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not read the federation member states');
      return [];
    }
  }
}
