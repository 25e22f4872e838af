import type { Feed } from '../../../connectors/types.js';
import type { DatasetName } from '../../../schemas/index.js';
import type { ReasonCode, Rejection } from '../dead-letter.js';

export interface MappingContext {
  /** Salt for hashing personal identifiers. */
  salt: string;
  /** `vendor␁code` → GB/T 30428.2 event class. */
  videoEventCodes: ReadonlyMap<string, string>;
}

export interface MappedRow {
  dataset: DatasetName;
  row: Record<string, unknown>;
}

export interface MapOutcome {
  rows: MappedRow[];
  /** Records of the message rejected by the mapping itself (a dept delivery's bad records). */
  rejections: Rejection[];
  /**
   * When set, rows[0] is a header (a dept delivery) that gates the other rows: if it fails validation,
   * every record of the message is dead-lettered with its reasons.
   */
  gatedByHeader?: boolean;
  /** How many source records the message held (1 for most feeds; the delivered records for dept). */
  records: number;
}

/** A source mapping: raw payload (parsed JSON) → canonical candidate rows, validated afterwards against schemas/. */
export interface SourceMapping {
  feed: Feed;
  /** Raw payloads hold clear personal data: dead letters keep only a redacted copy. */
  personal: boolean;
  /** canonical field → raw field, so a validation message can name what the source sent. */
  fieldSources: Readonly<Record<string, string>>;
  map(payload: Record<string, unknown>, context: MappingContext): MapOutcome;
  /** For personal feeds: the payload with personal fields replaced, safe to keep in a dead letter. */
  redact?(payload: Record<string, unknown>, context: MappingContext): Record<string, unknown>;
}

/** Thrown inside a mapping to reject the whole message; the normalizer turns it into a dead letter. */
export class MappingRejection extends Error {
  constructor(
    readonly reason_code: ReasonCode,
    readonly path: string,
    message: string,
    /** How many records the rejected message carried (a delivery's records); 1 when unset. */
    public units = 1,
  ) {
    super(message);
  }
}
