import { CityhubError } from '../../pipelines/errors.js';

/**
 * The work-order source could not be read this time: the peer is down or slow, answered 5xx or 429, or sent a page
 * that is not what was expected. Always retriable: a source is waited out with backoff, never a reason to stop.
 */
export class HotlineSourceError extends CityhubError {
  /** The source's own wait (HTTP Retry-After), honoured when longer than the backoff. */
  readonly retryAfterMs: number | undefined;
  /** HTTP status, when the peer answered. */
  readonly status: number | undefined;
  /** Where: the URL without its query, or the table. */
  readonly source: string;

  constructor(message: string, context: { source: string; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: context.cause, retriable: true });
    this.source = context.source;
    this.status = context.status;
    this.retryAfterMs = context.retryAfterMs;
  }
}

/** The source answered, but not with the expected JSON page (an HTML error page, a login form, another shape). */
export class HotlineBadPageError extends HotlineSourceError {}
