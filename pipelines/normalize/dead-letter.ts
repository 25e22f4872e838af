/** Why a record was not landed: a code for grouping, and zod-style issues (path + message) for the detail. */
export const reasonCodes = [
  'malformed_json',
  'invalid',
  'unknown_region',
  'implausible_time',
  'oversized',
  'unmapped_code',
  'duplicate',
  // The payload cannot be trusted as text or is too costly to walk (checked before any parsing).
  'invalid_utf8',
  'invalid_unicode',
  'too_deep',
  'string_too_long',
  'too_many_records',
  // An unexpected failure while normalizing this one message, or the Parquet writer refused its row.
  'internal_error',
  'writer_rejected',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

export interface ReasonIssue {
  path: string;
  message: string;
}

export interface Rejection {
  reason_code: ReasonCode;
  issues: ReasonIssue[];
  /** Position of the record inside its message (dept deliveries), 1-based. */
  line?: number;
  /** The offending record's own payload when it is a part of the message (a dept record). */
  raw?: string;
}

export function reject(reason_code: ReasonCode, path: string, message: string): Rejection {
  return { reason_code, issues: [{ path, message }] };
}
