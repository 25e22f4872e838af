/**
 * A small reference reader of the raw feeds, written from docs/feeds.md alone (test aid, not the pipeline's
 * normalizer): it parses, validates, de-duplicates by natural key and counts, yielding the same facts the simulator
 * planned. Tests compare the two, so a message that does not say what the plan thinks it says is caught.
 */
import type {
  CanonicalFacts,
  DeliveryFact,
  EventFact,
  Feed,
  FeedCounts,
  HotlineFact,
  RawMessage,
  SensorFact,
  VideoFact,
} from '../types.js';

export const MAX_RAW_BYTES = 1024 * 1024;

/** docs/feeds.md unit table, typed in again on purpose. */
const unitTable: Record<string, Record<string, number>> = {
  methane: { '%LEL': 1, ppm: 0.002, '%VOL': 20 },
  pressure: { MPa: 1, kPa: 0.001, bar: 0.1 },
  flow: { 'm3/h': 1, 'L/s': 3.6 },
  level: { cm: 1, m: 100, mm: 0.1 },
  strain: { με: 1, ue: 1 },
  crack_width: { mm: 1, cm: 10 },
  deflection: { mm: 1, cm: 10 },
  tilt: { '°': 1, deg: 1 },
  temperature: { '℃': 1, C: 1 },
  vibration: { Hz: 1 },
};
const channels: Record<string, string> = { 电话: 'phone', 网站: 'web', APP: 'app', 微信: 'wechat', 其他: 'other' };
const requestTypes: Record<string, string> = {
  咨询: 'consult',
  求助: 'help',
  投诉: 'complaint',
  举报: 'report',
  建议: 'suggestion',
  感谢: 'thanks',
  其他: 'other',
};
const hotlineStates: Record<string, string> = {
  受理: 'received',
  派单: 'dispatched',
  办理中: 'handling',
  办结: 'closed',
};
const satisfactions: Record<string, string> = {
  满意: 'satisfied',
  基本满意: 'basically_satisfied',
  不满意: 'unsatisfied',
};
const eventStates: Record<string, string> = {
  上报: 'reported',
  立案: 'registered',
  派遣: 'dispatched',
  处置: 'handled',
  核查: 'verified',
  结案: 'closed',
  作废: 'cancelled',
};
const eventSources = new Set(['video', 'sensor', 'grid', 'hotline', 'other']);
const videoStates = new Set(['new', 'confirmed', 'false_positive', 'dispatched', 'closed']);

/** Top-level keys a payload may carry, per docs/feeds.md (the examples list every field). */
export const documentedKeys: Record<Feed, string[]> = {
  sensor: ['dev', 'kind', 'metric', 'val', 'unit', 'ts', 'adcode', 'grid', 'lng', 'lat'],
  video: [
    'alarmId',
    'cameraId',
    'vendor',
    'eventCode',
    'score',
    'time',
    'areaCode',
    'lng',
    'lat',
    'picUrl',
    'state',
    'stateTime',
  ],
  hotline: [
    'orderNo',
    'acceptTime',
    'channel',
    'type',
    'category',
    'street',
    'dept',
    'state',
    'updateTime',
    'replyTime',
    'finishTime',
    'deadline',
    'visit',
    'caller',
  ],
  event: [
    'caseId',
    'source',
    'sourceRef',
    'eventClass',
    'adcode',
    'gridCode',
    'reportTime',
    'registerTime',
    'dispatchTime',
    'handleTime',
    'verifyTime',
    'closeTime',
    'deadline',
    'status',
  ],
  dept: ['deliveryId', 'resourceCode', 'dept', 'adcode', 'deliveredAt', 'file', 'checksum', 'records'],
};

export type Reason =
  | 'malformed_json'
  | 'invalid'
  | 'unknown_region'
  | 'implausible_time'
  | 'oversized'
  | 'unmapped_code'
  | 'duplicate';

export interface Outcome {
  /** Records counted, landed and dead-lettered for this message. */
  units: number;
  landed: number;
  /** Why the message (or, for dept, its header) was rejected; undefined when it landed. */
  reason?: Reason;
}

class Reject extends Error {
  constructor(readonly reason: Reason) {
    super(reason);
  }
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function civil(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = mo === 2 && !leap ? 28 : DAYS_IN_MONTH[mo - 1];
  return mo >= 1 && mo <= 12 && d >= 1 && dim !== undefined && d <= dim && h <= 23 && mi <= 59 && s <= 59;
}

/** Local Asia/Shanghai 'YYYY-MM-DD HH:mm:ss[.SSS]' → epoch ms. */
export function parseLocal(text: unknown): number {
  if (typeof text !== 'string') throw new Reject('invalid');
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?$/.exec(text);
  if (!m) throw new Reject('invalid');
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!civil(y, mo, d, h, mi, s)) throw new Reject('implausible_time');
  return Date.UTC(y, mo - 1, d, h, mi, s, Number(m[7] ?? 0)) - 8 * 3_600_000;
}

/** Sensor ts: local time, epoch ms, or ISO 8601 with an offset. */
export function parseSensorTs(ts: unknown): number {
  if (typeof ts === 'number') {
    if (!Number.isInteger(ts)) throw new Reject('invalid');
    return ts;
  }
  if (typeof ts !== 'string') throw new Reject('invalid');
  const iso = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!iso) return parseLocal(ts);
  const [y, mo, d, h, mi, s] = iso.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!civil(y, mo, d, h, mi, s)) throw new Reject('implausible_time');
  const zone = iso[8]!;
  const offsetMin =
    zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return Date.UTC(y, mo - 1, d, h, mi, s, Number((iso[7] ?? '0').padEnd(3, '0'))) - offsetMin * 60_000;
}

const str = (v: unknown): string => {
  if (typeof v !== 'string' || v.length === 0) throw new Reject('invalid');
  return v;
};
const num = (v: unknown): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Reject('invalid');
  return v;
};
const optional = <T>(v: unknown, parse: (x: unknown) => T): T | undefined => (v === undefined ? undefined : parse(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class RawReader {
  readonly facts: CanonicalFacts = {
    sensor_reading: [],
    video_alert: [],
    hotline_case: [],
    city_event: [],
    dept_delivery: [],
  };
  readonly counts: Record<Feed, FeedCounts> = {
    sensor: { received: 0, landed: 0, dead_lettered: 0 },
    video: { received: 0, landed: 0, dead_lettered: 0 },
    hotline: { received: 0, landed: 0, dead_lettered: 0 },
    event: { received: 0, landed: 0, dead_lettered: 0 },
    dept: { received: 0, landed: 0, dead_lettered: 0 },
  };
  private readonly seen = new Set<string>();

  constructor(
    private readonly regions: ReadonlySet<string>,
    private readonly videoCodes: readonly { vendor: string; code: string; event_class: string }[],
  ) {}

  read(message: RawMessage): Outcome {
    const outcome = this.outcome(message);
    const c = this.counts[message.feed];
    c.received += outcome.units;
    c.landed += outcome.landed;
    c.dead_lettered += outcome.units - outcome.landed;
    return outcome;
  }

  private outcome({ feed, value }: RawMessage): Outcome {
    if (Buffer.byteLength(value, 'utf8') > MAX_RAW_BYTES) return { units: 1, landed: 0, reason: 'oversized' };
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return { units: 1, landed: 0, reason: 'malformed_json' };
    }
    if (feed === 'dept') return this.dept(parsed);
    try {
      if (!isObject(parsed)) throw new Reject('invalid');
      const land = this[feed](parsed);
      land();
      return { units: 1, landed: 1 };
    } catch (error) {
      if (error instanceof Reject) return { units: 1, landed: 0, reason: error.reason };
      throw error;
    }
  }

  private region(code: unknown): string {
    const c = str(code);
    if (!/^\d{6}$/.test(c)) throw new Reject('invalid');
    if (!this.regions.has(c)) throw new Reject('unknown_region');
    return c;
  }

  /** Claims a natural key; returns the function that lands the row (after every check passed). */
  private unique(key: string, land: () => void): () => void {
    if (this.seen.has(key)) throw new Reject('duplicate');
    return () => {
      this.seen.add(key);
      land();
    };
  }

  private sensor(p: Record<string, unknown>): () => void {
    const fact: SensorFact = {
      device_id: str(p.dev),
      device_type: str(p.kind),
      metric: str(p.metric),
      region_code: '',
      observed_at_ms: 0,
    };
    num(p.val);
    const unit = str(p.unit);
    fact.observed_at_ms = parseSensorTs(p.ts);
    fact.region_code = this.region(p.adcode);
    if (p.grid !== undefined && !/^\d{15}$/.test(str(p.grid))) throw new Reject('invalid');
    optional(p.lng, num);
    optional(p.lat, num);
    if (unitTable[fact.metric]?.[unit] === undefined) throw new Reject('unmapped_code');
    return this.unique(`sensor|${fact.device_id}|${fact.metric}|${fact.observed_at_ms}`, () =>
      this.facts.sensor_reading.push(fact),
    );
  }

  private video(p: Record<string, unknown>): () => void {
    const alertId = str(p.alarmId);
    str(p.cameraId);
    const vendor = str(p.vendor);
    const code = str(p.eventCode);
    const score = num(p.score);
    if (score < 0 || score > 100) throw new Reject('invalid');
    const occurred = num(p.time);
    const status = str(p.state);
    if (!videoStates.has(status)) throw new Reject('invalid');
    num(p.stateTime);
    const region = this.region(p.areaCode);
    optional(p.lng, num);
    optional(p.lat, num);
    optional(p.picUrl, str);
    const mapped = this.videoCodes.find((r) => r.vendor === vendor && r.code === code);
    if (!mapped) throw new Reject('unmapped_code');
    const fact: VideoFact = {
      alert_id: alertId,
      status,
      event_type: mapped.event_class,
      region_code: region,
      occurred_at_ms: occurred,
    };
    return this.unique(`video|${alertId}|${status}`, () => this.facts.video_alert.push(fact));
  }

  private hotline(p: Record<string, unknown>): () => void {
    const caseId = str(p.orderNo);
    const received = parseLocal(p.acceptTime);
    if (!channels[str(p.channel)] || !requestTypes[str(p.type)]) throw new Reject('invalid');
    const category = str(p.category);
    const region = this.region(p.street);
    const status = hotlineStates[str(p.state)];
    if (!status) throw new Reject('invalid');
    optional(p.dept, str);
    optional(p.updateTime, parseLocal);
    optional(p.replyTime, parseLocal);
    optional(p.finishTime, parseLocal);
    optional(p.deadline, parseLocal);
    if (p.visit !== undefined) {
      if (!isObject(p.visit)) throw new Reject('invalid');
      for (const k of ['contacted', 'resolved'] as const) {
        if (p.visit[k] !== undefined && typeof p.visit[k] !== 'boolean') throw new Reject('invalid');
      }
      if (p.visit.satisfaction !== undefined && !satisfactions[str(p.visit.satisfaction)]) throw new Reject('invalid');
    }
    if (!isObject(p.caller)) throw new Reject('invalid');
    str(p.caller.phone);
    const fact: HotlineFact = { case_id: caseId, status, category, region_code: region, received_at_ms: received };
    return this.unique(`hotline|${caseId}|${status}`, () => this.facts.hotline_case.push(fact));
  }

  private event(p: Record<string, unknown>): () => void {
    const eventId = str(p.caseId);
    const source = str(p.source);
    if (!eventSources.has(source)) throw new Reject('invalid');
    str(p.sourceRef);
    const eventClass = str(p.eventClass);
    if (!/^\d{4}$/.test(eventClass)) throw new Reject('invalid');
    const region = this.region(p.adcode);
    if (p.gridCode !== undefined && !/^\d{15}$/.test(str(p.gridCode))) throw new Reject('invalid');
    const reported = parseLocal(p.reportTime);
    for (const k of ['registerTime', 'dispatchTime', 'handleTime', 'verifyTime', 'deadline'])
      optional(p[k], parseLocal);
    const closed = optional(p.closeTime, parseLocal);
    const status = eventStates[str(p.status)];
    if (!status) throw new Reject('invalid');
    const fact: EventFact = {
      event_id: eventId,
      status,
      source_kind: source,
      event_class: eventClass,
      region_code: region,
      reported_at_ms: reported,
      closed_at_ms: closed ?? null,
    };
    return this.unique(`event|${eventId}|${status}`, () => this.facts.city_event.push(fact));
  }

  private dept(parsed: unknown): Outcome {
    const records = isObject(parsed) && Array.isArray(parsed.records) ? (parsed.records as unknown[]) : undefined;
    const units = records ? records.length : 1;
    try {
      if (!isObject(parsed) || !records) throw new Reject('invalid');
      const p = parsed;
      const deliveryId = str(p.deliveryId);
      const resource = str(p.resourceCode);
      str(p.dept);
      str(p.file);
      str(p.checksum);
      const delivered = parseLocal(p.deliveredAt);
      const region = this.region(p.adcode);
      const valid = records.filter((r) => isObject(r) && Object.values(r).some((v) => v !== '' && v !== null)).length;
      const fact: DeliveryFact = {
        delivery_id: deliveryId,
        resource_code: resource,
        region_code: region,
        delivered_at_ms: delivered,
        record_count: records.length,
        valid_count: valid,
      };
      this.unique(`dept|${deliveryId}`, () => this.facts.dept_delivery.push(fact))();
      return { units, landed: valid };
    } catch (error) {
      if (error instanceof Reject) return { units, landed: 0, reason: error.reason };
      throw error;
    }
  }
}
