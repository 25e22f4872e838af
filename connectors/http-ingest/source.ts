import type { BusSender } from '../send.js';
import type { HttpIngestSourceConfig } from './config.js';
import { TokenBucket } from './rate-limit.js';
import { SignatureVerifier } from './signature.js';

/** Per-source counters, in health `progress` as `<source id>.<name>` and in `/healthz`. */
export interface SourceStats {
  requests: number;
  /** Records (bulk) or bodies (webhook) acknowledged by the bus as raw messages. */
  records: number;
  /** Records or bodies the source dead-lettered (not JSON, not an object). */
  rejected_records: number;
  /** Responses by status code. */
  responses: Record<string, number>;
}

/** One served source at run time: its config, its send path (stamping its id) and its checks. */
export class IngestSource {
  readonly stats: SourceStats = { requests: 0, records: 0, rejected_records: 0, responses: {} };
  readonly verifier: SignatureVerifier | undefined;
  readonly bucket: TokenBucket | undefined;

  constructor(
    readonly config: HttpIngestSourceConfig,
    readonly sender: BusSender,
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
}
