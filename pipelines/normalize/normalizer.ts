import type { Feed } from '../../connectors/types.js';
import { type DataResource, type DatasetName, datasetMeta, datasets } from '../../schemas/index.js';
import { type MessageHeaders, NO_HEADERS, SOURCE_HEADER } from '../bus/headers.js';
import type { RecordRun } from '../bus/types.js';
import { builtinMapping } from '../mapping/index.js';
import { PersonalDataMasker, scrubAll } from '../privacy/masker.js';
import { UNMASKABLE_KEY } from '../privacy/masking-producer.js';
import { scrubPersonalText } from '../privacy/personal-text.js';
import { type BulkLimits, bulkKinds, lastStringClasses } from './bulk-eligible.js';
import { type BulkPlan, type BulkPlanResult, bulkPathOf } from './bulk-plan.js';
import type { ReasonCode, ReasonIssue, Rejection } from './dead-letter.js';
import { illFormedStringPath, mayHoldSurrogateEscape, prototypeKeyPath, structureProblem } from './guards.js';
import { KeyWindow } from './key-window.js';
import { type MappingContext, MappingRejection, type SourceMapping } from './mappings/index.js';
import { compileFields } from './resource-fields.js';
import { shanghaiDate } from './time.js';

/** The masker's key for a payload it could not mask, as a top-level key's bytes (bulk-eligible.ts compares them). */
const UNMASKABLE_KEY_BYTES = Buffer.from(UNMASKABLE_KEY);

export interface NormalizerOptions {
  salt: string;
  /** Every region code of the catalog: a record naming another code is dead-lettered as unknown_region. */
  regionCodes: ReadonlySet<string>;
  /** How this feed's payloads become canonical rows (default: the built-in mapping of the feed, docs/feeds.md). */
  mapping?: SourceMapping;
  /** Connector id → the mapping of the messages it sends (its `mapping` key), chosen by the `cityhub-source` header. */
  sourceMappings?: ReadonlyMap<string, SourceMapping>;
  maxPayloadBytes: number;
  /** Event times before this (epoch ms) are implausible. */
  minEventMs: number;
  maxFutureSkewMs: number;
  /** How many natural keys per dataset are remembered for dedupe (oldest forgotten first). */
  dedupeWindow?: number;
  /** Deepest nesting accepted in a payload (checked before parsing). */
  maxDepth?: number;
  /** Longest string accepted in a payload, in bytes. */
  maxStringBytes?: number;
  /** A message carrying more source records (a delivery) is dead-lettered whole: bounds what one message costs. */
  maxRecordsPerMessage?: number;
  /** The data-resource catalog: delivered records (dept feed) are validated against each resource's fields. */
  dataResources?: readonly DataResource[];
  /** Id of the HMAC key (`salt`), stored beside every keyed hash so the key can rotate. */
  keyId?: string;
  /** Masks a personal feed's dead letters (the default masks the default field names with the hub's key). */
  masker?: PersonalDataMasker;
  /** Whether this feed's payloads hold personal data (default: what its mapping says; the hotline's does). */
  personal?: boolean;
  /** Whether payloads whose mapping compiles to SQL take the bulk path (landing.bulk; default true). */
  bulk?: boolean;
  now?: () => number;
}

/**
 * Per feed, the datasets whose natural keys are checked for repeats and recalled from the lake on start: for dept the
 * delivery's header, and the records of a file's chunks (a chunk re-sent after a restart is a duplicate too).
 */
const dedupedDatasets: Readonly<Record<Feed, readonly DatasetName[]>> = {
  sensor: ['sensor_reading'],
  video: ['video_alert'],
  hotline: ['hotline_case'],
  event: ['city_event'],
  dept: ['dept_delivery', 'dept_record'],
};

export const DEFAULT_MAX_DEPTH = 64;
export const DEFAULT_MAX_STRING_BYTES = 256 * 1024;
export const DEFAULT_MAX_RECORDS_PER_MESSAGE = 100_000;

export interface LandingRow {
  dataset: DatasetName;
  /** Asia/Shanghai event date: the lake's dt partition. */
  dt: string;
  row: Record<string, unknown>;
}

export interface DeadLetter {
  feed: Feed;
  /** A ReasonCode, or a connector's own reason (connector dead letters). */
  reason_code: ReasonCode | (string & {});
  issues: ReasonIssue[];
  /** Safe-to-keep payload text (redacted for personal feeds). */
  raw: string;
  raw_truncated: boolean;
  line?: number;
  /** How many source records this dead letter stands for (a delivery rejected whole); 1 when unset. */
  records?: number;
  /** Where the record came from at the source (a file name, a request id), when the connector said. */
  source_ref?: string;
}

export interface NormalizedMessage {
  rows: LandingRow[];
  deadLetters: DeadLetter[];
  /** Source records in the message, and how many of them landed (docs/feeds.md "Counting"). */
  received: number;
  landed: number;
}

const DEAD_LETTER_RAW_LIMIT = 64 * 1024;

interface DatasetRules {
  schema: (typeof datasets)[DatasetName];
  eventTime: string;
  naturalKey: string[];
  timeFields: string[];
}

function datasetRules(name: DatasetName): DatasetRules {
  const meta = datasetMeta(name);
  const shape = datasets[name].shape as Record<string, unknown>;
  return {
    schema: datasets[name],
    eventTime: meta.event_time,
    naturalKey: meta.natural_key,
    timeFields: Object.keys(shape).filter((field) => field.endsWith('_at')),
  };
}

/** One natural-key field as key text: absent (undefined or null) is empty, as the lake's recall renders NULL. */
function keyPart(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/**
 * Raw bus payload → canonical rows + dead letters, for one feed. Never throws on bad input: every record either
 * lands or is dead-lettered with its reasons, so received = landed + dead-lettered holds per message.
 */
export class Normalizer {
  /** The mapping of the message being normalized: its source's own, else the feed's. */
  private mapping: SourceMapping;
  private readonly feedMapping: SourceMapping;
  private readonly context: MappingContext;
  private readonly rules = new Map<DatasetName, DatasetRules>();
  private readonly dedupe = new Map<DatasetName, KeyWindow>();
  private readonly now: () => number;

  constructor(
    readonly feed: Feed,
    private readonly options: NormalizerOptions,
  ) {
    this.feedMapping = options.mapping ?? builtinMapping(feed);
    this.mapping = this.feedMapping;
    this.context = {
      salt: options.salt,
      keyId: options.keyId ?? '1',
      resourceFields: new Map(
        (options.dataResources ?? []).flatMap((r) => (r.fields ? [[r.resource_code, compileFields(r.fields)]] : [])),
      ),
      mayHoldSurrogates: false,
      headers: NO_HEADERS,
    };
    this.now = options.now ?? Date.now;
    this.personal =
      options.personal ??
      (this.feedMapping.personal || [...(options.sourceMappings?.values() ?? [])].some((m) => m.personal));
    this.masker = this.personal
      ? (options.masker ?? new PersonalDataMasker({ id: this.context.keyId, key: options.salt }))
      : undefined;
    this.limits = {
      maxPayloadBytes: options.maxPayloadBytes,
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      maxStringBytes: options.maxStringBytes ?? DEFAULT_MAX_STRING_BYTES,
    };
    this.bulkLimits = this.personal ? { ...this.limits, recordPathKey: UNMASKABLE_KEY_BYTES } : this.limits;
  }

  /** The mapping of a message: its source's own (the `cityhub-source` header), else the feed's. */
  private mappingOf(headers: MessageHeaders): SourceMapping {
    const sources = this.options.sourceMappings;
    if (sources === undefined) return this.feedMapping;
    const source = Object.hasOwn(headers, SOURCE_HEADER) ? headers[SOURCE_HEADER] : undefined;
    return (source !== undefined && sources.get(source)) || this.feedMapping;
  }

  private readonly limits: { maxPayloadBytes: number; maxDepth: number; maxStringBytes: number };
  /** The limits, and for a personal feed the masker's mark as a key whose payloads take the record path. */
  private readonly bulkLimits: BulkLimits;
  private readonly masker: PersonalDataMasker | undefined;
  /** The feed's payloads hold personal data (privacy.personal_feeds): masked before the bus, dead letters too. */
  private readonly personal: boolean;

  /**
   * Never throws: a failure tied to this one message — even a bug in a mapping — dead-letters the message
   * (`internal_error` with the error's message) and the pipeline goes on with the next one.
   */
  normalize(value: Buffer, headers: MessageHeaders = NO_HEADERS): NormalizedMessage {
    this.context.headers = headers;
    this.mapping = this.mappingOf(headers);
    try {
      return this.normalizeChecked(value);
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return this.rejectWhole(value, this.recordsIn(value), {
        reason_code: 'internal_error',
        issues: [{ path: '', message: this.scrubUnparsed(message) }],
      });
    }
  }

  /** How many source records a message that failed unexpectedly held, so it is counted as what it was. */
  private recordsIn(value: Buffer): number {
    try {
      const payload = JSON.parse(value.toString('utf8')) as unknown;
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return 1;
      return Math.max(1, this.mapping.countRecords?.(payload as Record<string, unknown>) ?? 1);
    } catch {
      return 1;
    }
  }

  private normalizeChecked(value: Buffer): NormalizedMessage {
    if (value.length > this.options.maxPayloadBytes) {
      return this.rejectWhole(value, 1, {
        reason_code: 'oversized',
        issues: [
          {
            path: '',
            message: `payload of ${value.length} bytes exceeds max_payload_bytes ${this.options.maxPayloadBytes}`,
          },
        ],
      });
    }
    const problem = structureProblem(value, this.limits);
    if (problem)
      return this.rejectWhole(value, 1, {
        reason_code: problem.reason_code,
        issues: [{ path: '', message: problem.message }],
      });
    let payload: unknown;
    try {
      payload = JSON.parse(value.toString('utf8'));
    } catch (error) {
      // V8 quotes the payload around the error position: for personal feeds that quote is scrubbed too.
      const message = (error as Error).message;
      return this.rejectWhole(value, 1, {
        reason_code: 'malformed_json',
        issues: [{ path: '', message: this.scrubUnparsed(message) }],
      });
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      return this.rejectWhole(value, 1, {
        reason_code: 'invalid',
        issues: [{ path: '', message: 'expected a JSON object' }],
      });
    }
    const object = payload as Record<string, unknown>;
    if (this.personal && Object.hasOwn(object, UNMASKABLE_KEY)) return this.rejectUnmaskable(object);
    const forbidden = prototypeKeyPath(value, object);
    if (forbidden !== undefined)
      return this.rejectParsed(
        object,
        value,
        this.mapping.countRecords?.(object) ?? 1,
        {
          reason_code: 'invalid',
          issues: [{ path: forbidden, message: 'a key that would reach Object.prototype is not accepted' }],
        },
        false,
      );
    // A lone surrogate (`"\ud800"`) parses into a string no Parquet writer accepts: find it before mapping. A
    // feed whose message holds many records checks each record itself, so one bad record does not take the rest.
    this.context.mayHoldSurrogates = mayHoldSurrogateEscape(value);
    if (this.context.mayHoldSurrogates && !this.mapping.checksRecordStrings) {
      const path = illFormedStringPath(object);
      if (path !== undefined)
        return this.rejectParsed(object, value, 1, {
          reason_code: 'invalid_unicode',
          issues: [{ path, message: 'string holds a lone UTF-16 surrogate (not valid Unicode)' }],
        });
    }
    const records = this.mapping.countRecords?.(object) ?? 1;
    const maxRecords = this.options.maxRecordsPerMessage ?? DEFAULT_MAX_RECORDS_PER_MESSAGE;
    if (records > maxRecords) {
      const rejection: Rejection = {
        reason_code: 'too_many_records',
        issues: [
          {
            path: '',
            message: `${records} records in one message exceed landing.max_records_per_message ${maxRecords}`,
          },
        ],
      };
      return this.rejectParsed(object, value, records, rejection);
    }
    let outcome: ReturnType<SourceMapping['map']>;
    try {
      outcome = this.mapping.map(object, this.context);
    } catch (error) {
      if (!(error instanceof MappingRejection)) throw error;
      const rejection: Rejection = {
        reason_code: error.reason_code,
        issues: [{ path: error.path, message: error.message }],
      };
      return this.rejectParsed(object, value, error.units, rejection, error.units > 1);
    }
    const result: NormalizedMessage = { rows: [], deadLetters: [], received: outcome.records, landed: 0 };
    const rows = outcome.rows;
    let start = 0;
    if (outcome.gatedByHeader && rows.length > 0) {
      const header = rows[0]!;
      const problem = this.check(header.dataset, header.row);
      if (problem) {
        // The header names where the records belong: without it none of them can land.
        if (outcome.records === 0) return this.rejectParsed(object, value, 1, problem);
        return this.rejectParsed(object, value, outcome.records, problem, true);
      }
      if (this.isDuplicate(header.dataset, header.row)) {
        const duplicate: Rejection = {
          reason_code: 'duplicate',
          issues: this.duplicateIssue(header.dataset),
        };
        if (outcome.records === 0) return this.rejectParsed(object, value, 1, duplicate);
        return this.rejectParsed(object, value, outcome.records, duplicate, true);
      }
      result.rows.push({ dataset: header.dataset, dt: this.dtOf(header.dataset, header.row), row: header.row });
      start = 1;
    }
    for (const rejection of outcome.rejections) result.deadLetters.push(this.deadLetter(object, value, rejection));
    for (let i = start; i < rows.length; i++) {
      const { dataset, row } = rows[i]!;
      const problem = this.check(dataset, row);
      if (problem) {
        result.deadLetters.push(this.deadLetter(object, value, problem));
        continue;
      }
      if (!outcome.gatedByHeader && this.isDuplicate(dataset, row)) {
        result.deadLetters.push(
          this.deadLetter(object, value, { reason_code: 'duplicate', issues: this.duplicateIssue(dataset) }),
        );
        continue;
      }
      result.rows.push({ dataset, dt: this.dtOf(dataset, row), row });
      result.landed++;
    }
    return result;
  }

  private rulesOf(dataset: DatasetName): DatasetRules {
    let rules = this.rules.get(dataset);
    if (!rules) {
      rules = datasetRules(dataset);
      this.rules.set(dataset, rules);
    }
    return rules;
  }

  /** Schema, then region catalog, then time plausibility: the first failing stage gives the reason code. */
  private check(dataset: DatasetName, row: Record<string, unknown>): Rejection | undefined {
    if (this.context.mayHoldSurrogates) {
      for (const [field, value] of Object.entries(row)) {
        if (typeof value === 'string' && !value.isWellFormed())
          return {
            reason_code: 'invalid_unicode',
            issues: [{ path: field, message: 'string holds a lone UTF-16 surrogate (not valid Unicode)' }],
          };
      }
    }
    const rules = this.rulesOf(dataset);
    const parsed = rules.schema.safeParse(row);
    if (!parsed.success) {
      return {
        reason_code: 'invalid',
        issues: parsed.error.issues.map((issue) => {
          const path = issue.path.join('.');
          const head = String(issue.path[0]);
          const source = Object.hasOwn(this.mapping.fieldSources, head) ? this.mapping.fieldSources[head] : undefined;
          return {
            path,
            message: source && source !== path ? `${issue.message} (source field "${source}")` : issue.message,
          };
        }),
      };
    }
    const region = row.region_code as string;
    if (!this.options.regionCodes.has(region)) {
      return {
        reason_code: 'unknown_region',
        issues: [{ path: 'region_code', message: `region ${region} is not in the region catalog` }],
      };
    }
    const latest = this.now() + this.options.maxFutureSkewMs;
    for (const field of rules.timeFields) {
      const text = row[field];
      if (typeof text !== 'string') continue;
      const ms = Date.parse(text);
      // Deadlines lie in the future by design: only their lower bound is checked.
      if (ms < this.options.minEventMs || (ms > latest && field !== 'deadline_at')) {
        return {
          reason_code: 'implausible_time',
          issues: [{ path: field, message: `${text} is outside the plausible range` }],
        };
      }
    }
    return undefined;
  }

  /** Per mapping, its bulk plan or why it has none (built on first use). */
  private readonly plans = new Map<SourceMapping, BulkPlanResult>();
  private anyBulkPlan: boolean | undefined;

  /** The bulk plan of a mapping, or why its records take the record path. */
  bulkPlanOf(mapping: SourceMapping): BulkPlanResult {
    let result = this.plans.get(mapping);
    if (!result) {
      result = bulkPathOf(mapping.loaded, { bulk: this.options.bulk !== false }, this.options);
      this.plans.set(mapping, result);
    }
    return result;
  }

  /** Whether a mapping of this feed (its own or a source's) has a bulk plan: the lander keeps its messages for the flush. */
  get takesBulkPath(): boolean {
    this.anyBulkPlan ??= [this.feedMapping, ...(this.options.sourceMappings?.values() ?? [])].some(
      (mapping) => this.bulkPlanOf(mapping).ok,
    );
    return this.anyBulkPlan;
  }

  /**
   * The bulk plan for this message, when it may take the bulk path: its mapping compiles to SQL and its bytes are
   * read alike by DuckDB and JSON.parse (bulk-eligible.ts). Otherwise undefined: normalize() it.
   */
  bulkPlanFor(chunk: Buffer, start: number, end: number, headers: MessageHeaders): BulkPlan | undefined {
    const result = this.bulkPlanOf(this.mappingOf(headers));
    if (!result.ok) return undefined;
    // What the masker could not mask is dead-lettered by normalize() (rejectUnmaskable, a top-level key): bulkEligible
    // refuses that key, and any key with escapes (another spelling of it).
    const { plan } = result;
    const kinds = bulkKinds(chunk, this.bulkLimits, plan.kindedTops, start, end, plan.classedSlots, plan.timedSlots);
    if (kinds < 0) return undefined;
    this.lastBulkKinds = kinds;
    this.lastBulkClasses = lastStringClasses();
    return plan;
  }

  /** The kinds of the values of the last message bulkPlanFor() gave a plan (bulk-eligible.ts bulkKinds). */
  lastBulkKinds = 0;
  /** The classes of its strings (bulk-eligible.ts lastStringClasses). */
  lastBulkClasses = 0;

  /**
   * A row the bulk path mapped and checked, by its natural key: the message as normalize() would have made it — the
   * key remembered, or a duplicate dead-lettered with the record path's own dead letter.
   */
  bulkRow(dataset: DatasetName, key: string, run: RecordRun, index: number): NormalizedMessage | undefined {
    if (!this.windowOf(dataset).seen(key)) return undefined;
    const value = run.value(index);
    // A personal feed's dead letter holds the payload masked field by field, as normalize() gives it: parsed again
    // (the bulk path took only well-formed objects without prototype keys). Others keep the payload's bytes.
    let payload: Record<string, unknown> = {};
    if (this.masker) {
      try {
        payload = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
      } catch {
        // Never expected (bulk-eligible.ts): should DuckDB ever take what JSON.parse refuses, the record path decides.
        return this.normalize(value, run.headers(index));
      }
    }
    const deadLetter = this.deadLetter(payload, value, {
      reason_code: 'duplicate',
      issues: this.duplicateIssue(dataset),
    });
    return { rows: [], deadLetters: [deadLetter], received: 1, landed: 0 };
  }

  /** The datasets whose natural keys this normalizer remembers (the ones a repeat is dead-lettered for). */
  get dedupedDatasets(): readonly DatasetName[] {
    return dedupedDatasets[this.feed];
  }

  /** How many natural keys per dataset it remembers, and the fields a dataset's key is made of. */
  get dedupeWindow(): number {
    return this.options.dedupeWindow ?? 200_000;
  }

  naturalKeyFields(dataset: DatasetName): readonly string[] {
    return this.rulesOf(dataset).naturalKey;
  }

  /**
   * Remembers natural keys of rows already in the lake (recent ones, oldest first; each built as the normalizer
   * builds it: the fields' text joined by U+0001, a missing field as empty text), so a repeat arriving after a
   * restart is a duplicate as it would have been in an uninterrupted run.
   */
  remember(dataset: DatasetName, keys: Iterable<string>): void {
    const window = this.windowOf(dataset);
    for (const key of keys) window.seen(key);
  }

  /**
   * Forgets every natural key seen. The worker calls this (through the lander) when it throws away what it read
   * since the last commit: those records come again and must not count as duplicates of themselves. Repeats of
   * earlier records then land and the staging models drop them, as after a restart.
   */
  forgetSeen(): void {
    this.dedupe.clear();
  }

  /**
   * The key text recallLanded() rebuilds from the lake for the same row: fields joined by U+0001, a missing optional
   * field (NULL in the lake) as empty text — never "undefined" — so a repeat is recognised after a restart too.
   */
  private naturalKey(dataset: DatasetName, row: Record<string, unknown>): string {
    const fields = this.rulesOf(dataset).naturalKey;
    let key = keyPart(row[fields[0]!]);
    for (let i = 1; i < fields.length; i++) key += `\u0001${keyPart(row[fields[i]!])}`;
    return key;
  }

  private windowOf(dataset: DatasetName): KeyWindow {
    let window = this.dedupe.get(dataset);
    if (!window) {
      window = new KeyWindow(this.dedupeWindow);
      this.dedupe.set(dataset, window);
    }
    return window;
  }

  private isDuplicate(dataset: DatasetName, row: Record<string, unknown>): boolean {
    return this.windowOf(dataset).seen(this.naturalKey(dataset, row));
  }

  private duplicateIssue(dataset: DatasetName): ReasonIssue[] {
    const fields = this.rulesOf(dataset).naturalKey;
    return [{ path: fields.join('+'), message: `duplicate of an earlier ${dataset} with the same natural key` }];
  }

  private dtOf(dataset: DatasetName, row: Record<string, unknown>): string {
    return shanghaiDate(Date.parse(row[this.rulesOf(dataset).eventTime] as string));
  }

  /**
   * Text that could not be parsed far enough to mask field by field (a payload, a parser's or an error's message
   * quoting it): for a personal feed every digit run and Chinese character goes, for others phones and ID numbers.
   */
  private scrubUnparsed(text: string): string {
    return this.personal ? scrubAll(text) : scrubPersonalText(text);
  }

  /** A personal message the masker could not parse before the bus: only its reason and a scrubbed preview came. */
  private rejectUnmaskable(object: Record<string, unknown>): NormalizedMessage {
    const inner = object[UNMASKABLE_KEY] as Record<string, unknown> | null;
    const text = (field: string, fallback: string) =>
      inner && typeof inner[field] === 'string' ? scrubAll(inner[field] as string) : fallback;
    const code = text('reason_code', 'malformed_json');
    const deadLetter: DeadLetter = {
      feed: this.feed,
      reason_code: code,
      issues: [{ path: '', message: `${text('message', 'could not be masked')} (masked before the bus)` }],
      raw: text('preview', '').slice(0, DEAD_LETTER_RAW_LIMIT),
      raw_truncated: false,
    };
    return { rows: [], deadLetters: [deadLetter], received: 1, landed: 0 };
  }

  private rejectWhole(value: Buffer, count: number, rejection: Rejection): NormalizedMessage {
    // Not parsed: a personal feed's text cannot be redacted field by field, so every name-like and digit run goes.
    const text = value.toString('utf8', 0, Math.min(value.length, DEAD_LETTER_RAW_LIMIT)).toWellFormed();
    const raw = this.scrubUnparsed(text);
    const deadLetter: DeadLetter = {
      feed: this.feed,
      reason_code: rejection.reason_code,
      issues: rejection.issues,
      raw,
      raw_truncated: value.length > DEAD_LETTER_RAW_LIMIT,
    };
    // One dead letter standing for every record of the message (a delivery), never `count` copies of it.
    if (count !== 1) deadLetter.records = count;
    return { rows: [], deadLetters: [deadLetter], received: count, landed: 0 };
  }

  /** Dead-letters `count` records of a parsed message; `perRecord` keeps each delivered record's own line. */
  private rejectParsed(
    payload: Record<string, unknown>,
    value: Buffer,
    count: number,
    rejection: Rejection,
    perRecord = false,
  ): NormalizedMessage {
    if (!perRecord) {
      // One dead letter for the whole message, standing for each of its records.
      const deadLetter = this.deadLetter(payload, value, rejection);
      if (count !== 1) deadLetter.records = count;
      return { rows: [], deadLetters: [deadLetter], received: count, landed: 0 };
    }
    const deadLetters: DeadLetter[] = [];
    const records = Array.isArray(payload.records) ? payload.records : [payload.records];
    for (let i = 0; i < count; i++) {
      deadLetters.push(
        this.deadLetter(payload, value, { ...rejection, line: i + 1, raw: JSON.stringify(records[i]) ?? 'undefined' }),
      );
    }
    return { rows: [], deadLetters, received: count, landed: 0 };
  }

  private deadLetter(payload: Record<string, unknown>, value: Buffer, rejection: Rejection): DeadLetter {
    let raw: string;
    if (rejection.raw !== undefined) raw = rejection.raw;
    else if (this.masker) raw = JSON.stringify(this.masker.maskValue(structuredClone(payload)));
    else raw = value.toString('utf8', 0, Math.min(value.length, DEAD_LETTER_RAW_LIMIT + 1));
    // Every string of a dead letter is redacted: personal data is masked before the bus, but a vendor's own field
    // names or free text can still carry a phone or an ID number the masker had no rule for.
    raw = scrubPersonalText(raw).toWellFormed();
    const truncated = raw.length > DEAD_LETTER_RAW_LIMIT;
    return {
      feed: this.feed,
      reason_code: rejection.reason_code,
      issues: rejection.issues,
      raw: truncated ? raw.slice(0, DEAD_LETTER_RAW_LIMIT) : raw,
      raw_truncated: truncated,
      ...(rejection.line !== undefined ? { line: rejection.line } : {}),
    };
  }
}
