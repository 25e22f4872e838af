import type { HttpIngestSourceConfig } from './config.js';
import { TokenBucket } from './rate-limit.js';
import { SignatureVerifier } from './signature.js';

/** Per-source counters, in health `progress` as `<source id>.<name>` and in `/healthz`. */
export interface SourceStats {
  requests: number;
  /** Records (bulk) or bodies (webhook) acknowledged by the bus as raw messages. */
  records: number;
  /** Records or bodies the source dead-lettered (not JSON, not an object, over the bus's message limit). */
  rejected_records: number;
  /** Responses by status code. */
  responses: Record<string, number>;
}

/** What health and `/healthz` show of a source: its stats and, when it checks signatures, its replay cache. */
export interface SourceReport extends SourceStats {
  /**
   * Signatures the full replay cache forgot before their window ended (`replay_cache_entries` too small for the
   * traffic): a replay of one of them within the window would be accepted.
   */
  replay_cache_evictions?: number;
}

/** One served source at run time: its config, its counters and its checks. */
export class IngestSource {
  readonly stats: SourceStats = { requests: 0, records: 0, rejected_records: 0, responses: {} };
  readonly verifier: SignatureVerifier | undefined;
  readonly bucket: TokenBucket | undefined;
  /** Replay-cache evictions already logged: an operator is told once the window stops being fully protected. */
  evictionsWarned = false;

  constructor(
    readonly config: HttpIngestSourceConfig,
    now: () => number = Date.now,
  ) {
    this.verifier = config.signature ? new SignatureVerifier(config.signature, now) : undefined;
    this.bucket = config.rate_limit ? new TokenBucket(config.rate_limit, now) : undefined;
  }

  get id(): string {
    return this.config.id;
  }

  countResponse(status: number): void {
    this.stats.responses[status] = (this.stats.responses[status] ?? 0) + 1;
  }

  report(): SourceReport {
    if (!this.verifier) return this.stats;
    return { ...this.stats, replay_cache_evictions: this.verifier.replayCacheEvictions };
  }
}
