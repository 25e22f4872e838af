/** Shared state while planning the history: options, calendar, random streams, the message list and the facts. */
import type { Region } from '../../schemas/index.js';
import type { MonthDay } from './layout.js';
import { hash32, Rng } from './rng.js';
import { dayStartMs, monthStartDay } from './time.js';
import type {
  CanonicalFacts,
  DemoOptions,
  DeptFile,
  Feed,
  Flaw,
  History,
  MessageKind,
  PlannedMessage,
} from './types.js';

export type SourceKind = 'video' | 'sensor' | 'grid' | 'hotline' | 'other';

/** Times of a city event's lifecycle steps and where it ends. */
export interface Lifecycle {
  /** Instants (ms, whole seconds) of reported, registered, dispatched, handled, verified, closed — as far as reached. */
  times: number[];
  /** Index of the last step reached (5 = closed), or 'cancelled' after registration. */
  final: number | 'cancelled';
  cancelMs?: number;
  deadlineMs: number;
  /** The closed snapshot is sent before the verified one. */
  swap: boolean;
}

export interface EventSpec {
  source: SourceKind;
  sourceRef: string;
  eventClass: string;
  region: string;
  grid?: string;
  life: Lifecycle;
}

export function makeHistory(startMonth: string, months: number): History {
  const m = /^(\d{4})-(\d{2})$/.exec(startMonth);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new Error(`startMonth must be 'YYYY-MM', got ${startMonth}`);
  if (!Number.isInteger(months) || months < 1) throw new Error(`months must be a positive integer, got ${months}`);
  const year = Number(m[1]);
  const month0 = Number(m[2]) - 1;
  const monthStarts = Array.from({ length: months + 1 }, (_, i) => monthStartDay(year, month0 + i));
  const startDay = monthStarts[0]!;
  const endDay = monthStarts[months]!;
  return { startDay, endDay, startMs: dayStartMs(startDay), endMs: dayStartMs(endDay), monthStarts };
}

export class SimContext {
  readonly hist: History;
  readonly months: number;
  readonly scale: number;
  readonly regions: Map<string, Region>;
  readonly messages: PlannedMessage[] = [];
  /** `dept: 'files'`: the delivery files (dept-files.ts), instead of raw.dept messages. */
  readonly deptFiles: DeptFile[] = [];
  readonly facts: CanonicalFacts = {
    sensor_reading: [],
    video_alert: [],
    hotline_case: [],
    city_event: [],
    dept_delivery: [],
  };
  readonly events: EventSpec[] = [];
  /** Observed instants of every planned reading per device (keeps invalid messages off real natural keys). */
  readonly sensorKeys = new Map<string, Set<number>>();
  phones: string[] = [];
  private readonly seedHash: number;
  private readonly startYear: number;
  private readonly startMonth0: number;
  private seq = 0;

  constructor(readonly options: DemoOptions) {
    if (!(options.scale > 0) || !Number.isFinite(options.scale)) throw new Error('scale must be a positive number');
    this.hist = makeHistory(options.startMonth, options.months);
    this.months = options.months;
    this.scale = options.scale;
    this.regions = new Map(options.regions.map((r) => [r.code, r]));
    this.seedHash = hash32('cityhub-demo', options.seed);
    this.startYear = Number(options.startMonth.slice(0, 4));
    this.startMonth0 = Number(options.startMonth.slice(5, 7)) - 1;
  }

  /** An independent random stream per label, so that one part of the plan does not shift another. */
  rng(...labels: (string | number)[]): Rng {
    return new Rng(hash32(this.seedHash, ...labels));
  }

  has(region: string): boolean {
    return this.regions.has(region);
  }

  /** Day number of a history-relative month day (may lie outside the history). */
  day(md: MonthDay): number {
    return monthStartDay(this.startYear, this.startMonth0 + md.month) + md.day - 1;
  }

  monthIndexOf(day: number): number {
    let i = 0;
    while (i + 1 < this.hist.monthStarts.length && this.hist.monthStarts[i + 1]! <= day) i++;
    return i;
  }

  monthDays(month: number): number {
    return this.hist.monthStarts[month + 1]! - this.hist.monthStarts[month]!;
  }

  inHistory(ms: number): boolean {
    return ms >= this.hist.startMs && ms < this.hist.endMs;
  }

  /** A random instant of a day between two local hours, whole seconds. */
  timeOfDay(rng: Rng, day: number, fromHour: number, toHour: number): number {
    return dayStartMs(day) + rng.int(fromHour * 3600, toHour * 3600 - 1) * 1000;
  }

  private push(
    feed: Feed,
    key: string,
    emitMs: number,
    kind: MessageKind,
    value: string,
    flaw: Flaw | undefined,
    units: number,
    landed: number,
  ): PlannedMessage {
    // A class instance, not a spread literal: one stable object shape keeps sorting and filtering fast.
    const planned = new Message(feed, key, emitMs, this.seq++, kind, value, flaw, units, landed);
    this.messages.push(planned);
    return planned;
  }

  /** A valid message: `units` records received, `landed` of them land (dept: valid records). */
  valid(feed: Feed, key: string, emitMs: number, payload: unknown, units = 1, landed = units): PlannedMessage {
    return this.push(feed, key, emitMs, 'valid', JSON.stringify(payload), undefined, units, landed);
  }

  /** A deliberately invalid message: a payload to serialize, or raw text. */
  invalid(feed: Feed, key: string, emitMs: number, flaw: Flaw, body: { payload?: unknown; text?: string }, units = 1) {
    return this.push(feed, key, emitMs, 'invalid', body.text ?? JSON.stringify(body.payload), flaw, units, 0);
  }

  /** An exact re-send of an earlier message. */
  duplicate(of: PlannedMessage, emitMs: number): PlannedMessage {
    return this.push(of.feed, of.key, emitMs, 'duplicate', of.value, undefined, of.units, 0);
  }
}

class Message implements PlannedMessage {
  constructor(
    readonly feed: Feed,
    readonly key: string,
    readonly emitMs: number,
    readonly seq: number,
    readonly kind: MessageKind,
    readonly value: string,
    readonly flaw: Flaw | undefined,
    readonly units: number,
    readonly landed: number,
  ) {}
}
