import type { Feed } from '../../../connectors/types.js';
import type { DatasetName } from '../../../schemas/index.js';
import type { MessageHeaders } from '../../bus/headers.js';
import type { LoadedMapping } from '../../mapping/compile.js';
import type { ReasonCode, Rejection } from '../dead-letter.js';
import type { CompiledField } from '../resource-fields.js';

export interface MappingContext {
  /** HMAC-SHA256 key for hashing personal identifiers left in clear (the masker hashes them before the bus). */
  salt: string;
  /** Id of that key, stored beside each hash. */
  keyId: string;
  /** resource_code → the fields its catalog entry declares (dept records are validated against them). */
  resourceFields: ReadonlyMap<string, readonly CompiledField[]>;
  /** Set per message: its text may hold a lone-surrogate escape, so strings must be checked before landing. */
  mayHoldSurrogates: boolean;
  /**
   * Set per message: the bus headers it came with (`cityhub-source`, and what the connector added: `mqtt-topic`,
   * `file`, `line`, …), so a mapping can take a value, such as a region, from the topic or the file path.
   */
  headers: MessageHeaders;
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
  /** How many source records a message holds, before mapping (1 when unset): bounds what one message may cost. */
  countRecords?(payload: Record<string, unknown>): number;
  /** The mapping checks each of its records' strings for lone surrogates itself (a bad record, not the message). */
  checksRecordStrings?: boolean;
  /** The mapping file it was compiled from (the bulk path compiles the same file to SQL); absent for code mappings. */
  loaded?: LoadedMapping;
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
