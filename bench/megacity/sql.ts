/**
 * The generator's SQL, one query per dataset for a chunk of event days [d0, d1). Each query returns the dataset's
 * canonical columns (any order; the writer casts them to the landing's types) plus
 *   _source, _ingested_at, _topic, _partition   as the landing writes them (the offset is assigned by the writer),
 *   _key         a tie-break for the offset order within a partition,
 *   _version_ms  when the version happened (epoch ms): the writer keeps the versions in its time window, so a case
 *                closed after the cut-off has no closed version yet.
 * Every value is a function of (seed, day, sequence): the same options give the same lake. The rules that decide how
 * many records exist (offline device-days, dropped slots, missed deliveries) are the integer rules of plan.ts.
 */
import { deviceTypes, districts } from './catalogs.js';
import type { MegacityPlan } from './plan.js';

const dayMs = 86_400_000;
const hourMs = 3_600_000;

/** An epoch-ms BIGINT expression as a TIMESTAMPTZ (the session runs in UTC). */
export const ts = (ms: string) => `cast(make_timestamp(cast(${ms} as bigint) * 1000) as timestamptz)`;
/** A hash-derived BIGINT in [0, m). */
const mod = (h: string, m: number) => `cast(${h} % ${m} as bigint)`;
const list = (values: readonly string[]) => `[${values.map((v) => `'${v}'`).join(', ')}]`;

/** Re-landed copies: a share of versions land a second time, 1–3 days later, under another offset. */
function copies(h: string, perMille: number): string {
  return `unnest(case when ${mod(`hash(${h}, 'dup')`, 1000)} < ${perMille} then [0, 1] else [0] end)`;
}

/** _ingested_at: seconds after the version, a share landed late (hours to days), duplicates 1–3 days after that. */
function ingested(versionMs: string, h: string, lateShare: number, copy: string): string {
  const lag = `5000 + ${mod(`hash(${h}, 'lag')`, 60_000)}`;
  const late = `case when ${mod(`hash(${h}, 'late')`, 1000)} < ${lateShare} then ${30 * hourMs} + ${mod(`hash(${h}, 'late2')`, 36 * hourMs)} else 0 end`;
  const dup = `case when ${copy} = 1 then ${dayMs} + ${mod(`hash(${h}, 'dup2')`, 2 * dayMs)} else 0 end`;
  return ts(`${versionMs} + ${lag} + ${late} + ${dup}`);
}

const hotlineCategories = [
  '城市管理/市容环境/暴露垃圾',
  '城市管理/市容环境/占道经营',
  '城市管理/违法建设/私搭乱建',
  '公共服务/供水/停水',
  '公共服务/供暖/室温不达标',
  '公共服务/燃气/燃气异味',
  '交通出行/停车管理/违章停车',
  '交通出行/公共交通/公交线路',
  '住房保障/物业管理/物业服务',
  '社会保障/社保/社保缴费',
  '市场监管/消费维权/退换货',
  '生态环境/噪声污染/施工噪声',
];
const eventClasses = ['0101', '0102', '0201', '0301', '0502', '0601', '0701', '0803'];
/** A district picked by a hash: the same list (and order) as the region catalog. */
const district = (h: string) => `${list(districts.map((d) => d.code))}[${mod(h, districts.length)} + 1]`;

/**
 * 12345 cases. 30% are answered on the call (直接答复): one `closed` version at receipt. The rest are dispatched:
 * `received`, then `closed` when handled (on time for about 87%: the deadline is 3 days for complaints and reports,
 * 7 for the others), then for 90% a second `closed` version after the follow-up visit (回访) with contacted / resolved
 * / satisfaction. Responses within 2 hours for 85%.
 */
export function hotlineSql(plan: MegacityPlan, d0: number, d1: number): string {
  const C = plan.casesPerDay;
  return `
with cases as (
    select
        d, j, h,
        ${plan.startMs} + d * ${dayMs} + (cast(j as bigint) * ${dayMs} // ${C} + ${mod('hash(h, 0)', 60_000)}) % ${dayMs} as received_ms,
        ${mod('h', 100)} < 30 as is_direct,
        ${mod('hash(h, 1)', 100)} as r_type,
        ${mod('hash(h, 3)', 100)} < 90 as has_follow_up,
        hash(h, 4) as h4
    from (select d, j, hash(${plan.seed}, 'hotline', d, j) as h from range(${d0}, ${d1}) t(d), range(0, ${C}) s(j))
),
shaped as (
    select
        *,
        'HL' || strftime(date '${plan.startDate}' + cast(d as integer), '%Y%m%d') || '-' || lpad(cast(j as varchar), 7, '0') as case_id,
        case
            when is_direct then 'consult'
            when r_type < 40 then 'complaint'
            when r_type < 65 then 'help'
            when r_type < 80 then 'report'
            when r_type < 90 then 'suggestion'
            when r_type < 95 then 'consult'
            when r_type < 98 then 'thanks'
            else 'other'
        end as request_type,
        received_ms + case
            when is_direct then 0
            when ${mod('hash(h, 5)', 100)} < 85 then 300000 + ${mod('hash(h, 6)', 6_300_000)}
            else ${2 * hourMs} + ${mod('hash(h, 6)', 28 * hourMs)}
        end as responded_ms
    from cases
),
timed as (
    select
        *,
        case when is_direct then null
            else received_ms + case when request_type in ('complaint', 'report') then ${3 * dayMs} else ${7 * dayMs} end
        end as deadline_ms,
        case when is_direct then received_ms
            else greatest(
                responded_ms + 600000,
                received_ms + ${hourMs} + case when request_type in ('complaint', 'report')
                    then ${mod('hash(h, 2)', Math.round(3 * dayMs * 1.15))}
                    else ${mod('hash(h, 2)', Math.round(7 * dayMs * 1.15))} end
            )
        end as closed_ms
    from shaped
),
versions as (
    select
        *,
        unnest(case when is_direct then [3] when has_follow_up then [1, 3, 4] else [1, 3] end) as v
    from timed
),
versioned as (
    select
        *,
        case v when 1 then received_ms when 3 then closed_ms else closed_ms + ${hourMs} + ${mod('hash(h, 7)', 47 * hourMs)} end as version_ms,
        hash(h, v) as hv
    from versions
),
landed as (
    select *, ${copies('hv', 3)} as copy from versioned
)
select
    case_id,
    ${ts('received_ms')} as received_at,
    case when ${mod('hash(h, 8)', 100)} < 70 then 'phone'
        when ${mod('hash(h, 8)', 100)} < 78 then 'web'
        when ${mod('hash(h, 8)', 100)} < 88 then 'app'
        when ${mod('hash(h, 8)', 100)} < 98 then 'wechat'
        else 'other' end as channel,
    request_type,
    ${list(hotlineCategories)}[${mod('hash(h, 9)', hotlineCategories.length)} + 1] as category,
    ${district('hash(h, 10)')} as region_code,
    case when is_direct then null else 'dept_' || lpad(cast(${mod('hash(h, 11)', 24)} + 1 as varchar), 2, '0') end as department_code,
    case when v = 1 then 'received' else 'closed' end as status,
    ${ts('version_ms')} as updated_at,
    case when v = 1 then null else ${ts('responded_ms')} end as responded_at,
    case when v = 1 then null else ${ts('closed_ms')} end as closed_at,
    ${ts('deadline_ms')} as deadline_at,
    case when v = 4 then ${mod('h4', 100)} < 95 end as contacted,
    case when v = 4 then ${mod('h4', 100)} < 95 and ${mod('hash(h4, 1)', 100)} < 80 end as resolved,
    case when v = 4 and ${mod('h4', 100)} < 95 then
        case when ${mod('hash(h4, 2)', 100)} < 70 then 'satisfied'
            when ${mod('hash(h4, 2)', 100)} < 90 then 'basically_satisfied'
            else 'unsatisfied' end
    end as satisfaction,
    md5('caller' || ${mod('hash(h, 12)', Math.max(1, Math.round(C * plan.days * 0.8)))}) || md5(${mod('hash(h, 12)', Math.max(1, Math.round(C * plan.days * 0.8)))} || 'caller') as caller_hash,
    '2026a' as caller_key_id,
    'hotline-rest' as _source,
    ${ingested('version_ms', 'hv', 10, 'copy')} as _ingested_at,
    'raw.hotline' as _topic,
    cast(${mod('h', plan.partitions)} as integer) as _partition,
    case_id || '/' || v || '/' || copy as _key,
    version_ms as _version_ms
from landed`;
}

/** Sensor readings: every registered (and a few unregistered) device, one reading per reporting slot. */
export function sensorSql(plan: MegacityPlan, d0: number, d1: number): string {
  const s = plan.seed;
  return `
with device_days as (
    select dev.*, t.d
    from megacity_devices as dev, range(${d0}, ${d1}) t(d)
    where t.d between dev.from_day and dev.to_day
        and (dev.device_index * 7 + t.d * 3 + ${s}) % 20 <> 0
),
slots as (
    select *, unnest(range(slot_count)) as k from device_days
),
readings as (
    select
        *,
        ${plan.startMs} + d * ${dayMs} + (k * interval_s + (device_index * 7919) % interval_s) * 1000 as observed_ms,
        hash(${s}, 'sensor', device_index, d, k) as h
    from slots
    where (device_index + d * 5 + k * 3 + ${s}) % 50 <> 0
),
landed as (
    select *, ${copies('h', 5)} as copy from readings
)
select
    device_id,
    device_type,
    metric,
    round(case when ${mod('hash(h, 1)', 2000)} = 0 then peak else base + spread * ${mod('hash(h, 2)', 10_000)} / 10000.0 end, 3) as value,
    unit,
    ${ts('observed_ms')} as observed_at,
    region_code,
    grid_code,
    lon,
    lat,
    'sensor-mqtt' as _source,
    ${ingested('observed_ms', 'h', 5, 'copy')} as _ingested_at,
    'raw.sensor' as _topic,
    cast(device_index % ${plan.partitions} as integer) as _partition,
    lpad(cast(device_index as varchar), 6, '0') || '/' || lpad(cast(k as varchar), 5, '0') || '/' || copy as _key,
    observed_ms as _version_ms
from landed`;
}

/** The device table the sensor SQL reads (from the plan: registered ones and the few unregistered). */
export function deviceTableRows(plan: MegacityPlan): Record<string, unknown>[] {
  return plan.devices.map((d) => {
    const t = deviceTypes[d.typeIndex]!;
    return {
      device_index: d.index,
      device_id: d.deviceId,
      device_type: t.type,
      metric: t.metric,
      unit: t.unit,
      interval_s: t.intervalS,
      slot_count: 86_400 / t.intervalS,
      base: t.base,
      spread: t.spread,
      peak: t.peak,
      region_code: d.regionCode,
      grid_code: `${d.regionCode}00${String(d.index % 10_000).padStart(4, '0')}${String(d.index % 1000).padStart(3, '0')}`,
      lon: 116 + ((d.index * 37) % 1000) / 1000,
      lat: 39.6 + ((d.index * 53) % 800) / 1000,
      from_day: d.installedDay ?? 0,
      to_day: d.removedDay ?? plan.days + 366,
    };
  });
}

/** Video-AI alerts: `new`, then `confirmed` (75%, of which 80% are `closed` hours later) or `false_positive`. */
export function videoSql(plan: MegacityPlan, d0: number, d1: number): string {
  const A = plan.alertsPerDay;
  return `
with alerts as (
    select
        d, j, h,
        ${plan.startMs} + d * ${dayMs} + (cast(j as bigint) * ${dayMs} // ${A} + ${mod('hash(h, 0)', 600_000)}) % ${dayMs} as occurred_ms,
        'VA' || strftime(date '${plan.startDate}' + cast(d as integer), '%Y%m%d') || '-' || lpad(cast(j as varchar), 6, '0') as alert_id
    from (select d, j, hash(${plan.seed}, 'video', d, j) as h from range(${d0}, ${d1}) t(d), range(0, ${A}) s(j))
),
versions as (
    select
        *,
        unnest(case when ${mod('h', 100)} < 75 then (case when ${mod('hash(h, 1)', 100)} < 80 then [0, 1, 3] else [0, 1] end) else [0, 2] end) as v
    from alerts
),
versioned as (
    select
        *,
        occurred_ms + case v when 0 then 0 when 3 then ${hourMs} + ${mod('hash(h, 2)', 11 * hourMs)} else 60000 + ${mod('hash(h, 3)', 540_000)} end as status_ms,
        hash(h, v) as hv
    from versions
),
landed as (
    select *, ${copies('hv', 3)} as copy from versioned
)
select
    alert_id,
    'cam-' || lpad(cast(${mod('hash(h, 4)', Math.max(10, A * 4))} as varchar), 6, '0') as camera_id,
    ${list(eventClasses.slice(0, 6))}[${mod('hash(h, 5)', 6)} + 1] as event_type,
    'HIK-' || ${list(eventClasses.slice(0, 6))}[${mod('hash(h, 5)', 6)} + 1] as vendor_code,
    0.5 + ${mod('hash(h, 6)', 500)} / 1000.0 as confidence,
    ${ts('occurred_ms')} as occurred_at,
    ${district('hash(h, 7)')} as region_code,
    116 + ${mod('hash(h, 8)', 1000)} / 1000.0 as lon,
    39.6 + ${mod('hash(h, 9)', 800)} / 1000.0 as lat,
    case when ${mod('hash(h, 10)', 2)} = 0 then 'https://vms.example.gov.cn/snap/' || alert_id || '.jpg' end as image_url,
    ['new', 'confirmed', 'false_positive', 'closed'][v + 1] as status,
    ${ts('status_ms')} as status_at,
    'video-webhook' as _source,
    ${ingested('status_ms', 'hv', 5, 'copy')} as _ingested_at,
    'raw.video' as _topic,
    cast(${mod('h', plan.partitions)} as integer) as _partition,
    alert_id || '/' || v || '/' || copy as _key,
    status_ms as _version_ms
from landed`;
}

/**
 * City events through the GB/T 30428.8 lifecycle, one snapshot per status: reported → registered → dispatched →
 * handled (1–96 h: some after the 24 h / 72 h deadline) → verified → closed; 3% cancelled after being reported.
 */
export function eventSql(plan: MegacityPlan, d0: number, d1: number): string {
  const E = plan.eventsPerDay;
  return `
with events as (
    select
        d, j, h,
        ${plan.startMs} + d * ${dayMs} + (cast(j as bigint) * ${dayMs} // ${E} + ${mod('hash(h, 0)', 600_000)}) % ${dayMs} as t0,
        'EV' || strftime(date '${plan.startDate}' + cast(d as integer), '%Y%m%d') || '-' || lpad(cast(j as varchar), 6, '0') as event_id,
        ${list(eventClasses)}[${mod('hash(h, 1)', eventClasses.length)} + 1] as event_class,
        ${mod('hash(h, 2)', 100)} as kind
    from (select d, j, hash(${plan.seed}, 'event', d, j) as h from range(${d0}, ${d1}) t(d), range(0, ${E}) s(j))
),
timed as (
    select
        *,
        t0 + 300000 + ${mod('hash(h, 3)', 3_300_000)} as t1,
        t0 + case when event_class like '01%' then ${24 * hourMs} else ${72 * hourMs} end as deadline_ms
    from events
),
timed2 as (
    select *, t1 + 600000 + ${mod('hash(h, 4)', 6_600_000)} as t2 from timed
),
timed3 as (
    select *, t2 + ${hourMs} + ${mod('hash(h, 5)', 95 * hourMs)} as t3 from timed2
),
timed4 as (
    select *, t3 + ${hourMs} + ${mod('hash(h, 6)', 5 * hourMs)} as t4 from timed3
),
timed5 as (
    select *, t4 + 1800000 + ${mod('hash(h, 7)', Math.round(3.5 * hourMs))} as t5 from timed4
),
versions as (
    select *, unnest(case when ${mod('h', 100)} < 3 then [0, 6] else [0, 1, 2, 3, 4, 5] end) as v from timed5
),
versioned as (
    select
        *,
        case v when 0 then t0 when 1 then t1 when 2 then t2 when 3 then t3 when 4 then t4 when 5 then t5 else t0 + 1800000 end as version_ms,
        hash(h, v) as hv
    from versions
),
landed as (
    select *, ${copies('hv', 3)} as copy from versioned
)
select
    event_id,
    case when kind < 40 then 'video' when kind < 50 then 'sensor' when kind < 80 then 'grid' when kind < 95 then 'hotline' else 'other' end as source_kind,
    case when kind < 40 then 'VA-' when kind < 50 then 'DEV-' when kind < 80 then 'GRID-' when kind < 95 then 'HL-' else 'OTHER-' end || lpad(cast(${mod('hash(h, 8)', 1_000_000)} as varchar), 6, '0') as source_ref,
    event_class,
    ${district('hash(h, 9)')} as region_code,
    ${district('hash(h, 9)')} || lpad(cast(${mod('hash(h, 10)', 1_000_000)} as varchar), 6, '0') || lpad(cast(${mod('hash(h, 11)', 1000)} as varchar), 3, '0') as grid_code,
    ${ts('t0')} as reported_at,
    case when v between 1 and 5 then ${ts('t1')} end as registered_at,
    case when v between 2 and 5 then ${ts('t2')} end as dispatched_at,
    case when v between 3 and 5 then ${ts('t3')} end as handled_at,
    case when v between 4 and 5 then ${ts('t4')} end as verified_at,
    case when v = 5 then ${ts('t5')} end as closed_at,
    case when v between 1 and 5 then ${ts('deadline_ms')} end as deadline_at,
    ['reported', 'registered', 'dispatched', 'handled', 'verified', 'closed', 'cancelled'][v + 1] as status,
    'case-system' as _source,
    ${ingested('version_ms', 'hv', 5, 'copy')} as _ingested_at,
    'raw.event' as _topic,
    cast(${mod('h', plan.partitions)} as integer) as _partition,
    event_id || '/' || v || '/' || copy as _key,
    version_ms as _version_ms
from landed`;
}

/**
 * Departmental deliveries by the resources' update cycles (plan.ts rules): 4% of scheduled deliveries missed, 2% of
 * files broken (a problem, no record), 1% re-delivered an hour later (the same bytes: no record), a fifth of the
 * resources delivering at 23:30 Asia/Shanghai.
 */
export function deliverySql(plan: MegacityPlan, d0: number, d1: number): string {
  const s = plan.seed;
  return `
with days as (
    select d, date '${plan.startDate}' + cast(d as integer) as day from range(${d0}, ${d1}) t(d)
),
scheduled as (
    select res.*, days.d, days.day, hash(${s}, 'delivery', res.resource_index, days.d) as h
    from megacity_resources as res, days
    where case res.frequency
            when 'daily' then true
            when 'weekly' then isodow(days.day) = res.resource_index % 7 + 1
            when 'monthly' then day(days.day) = res.resource_index % 28 + 1
            when 'quarterly' then month(days.day) % 3 = 2 and day(days.day) = res.resource_index % 28 + 1
            when 'yearly' then month(days.day) = res.resource_index % 12 + 1 and day(days.day) = res.resource_index % 28 + 1
            else false
        end
        and (res.resource_index * 7 + days.d * 13 + ${s}) % 25 <> 0
),
originals as (
    select
        *,
        resource_code || '-' || strftime(day, '%Y%m%d') as first_id,
        ${plan.startMs} + d * ${dayMs} + case when resource_index % 5 = 0 then ${23.5 * hourMs}
            else ${2 * hourMs} + (resource_index * 17) % 600 * 60000 end as first_ms,
        (resource_index * 11 + d * 3 + ${s}) % 50 = 0 as is_broken,
        20 + ${mod('hash(h, 1)', 181)} as rows_in_file
    from scheduled
),
deliveries as (
    select *, unnest(case when (resource_index * 5 + d * 7 + ${s}) % 100 = 0 then [0, 1] else [0] end) as redelivery
    from originals
),
shaped as (
    select
        *,
        case when redelivery = 1 then first_id || '-R' else first_id end as delivery_id,
        first_ms + redelivery * ${hourMs} as delivered_ms,
        case when redelivery = 1 or is_broken then 0 else rows_in_file end as record_count,
        case when redelivery = 1 or is_broken then 0
            when ${mod('hash(h, 2)', 100)} < 10 then rows_in_file - 1 - ${mod('hash(h, 3)', 5)}
            else rows_in_file end as valid_count
    from deliveries
),
landed as (
    select *, ${copies('hash(h, redelivery)', 10)} as copy from shaped
)
select
    delivery_id,
    resource_code,
    department_code,
    region_code,
    ${ts('delivered_ms')} as delivered_at,
    'inbox/' || department_code || '/' || resource_code || '_' || strftime(day, '%Y%m%d') || '.csv' as source_file,
    record_count,
    valid_count,
    'sha256:' || md5(first_id) || md5(first_id || '#') as checksum,
    case when is_broken and redelivery = 0 then 'truncated: the file ends inside a quoted field' end as problem,
    case when redelivery = 1 then first_id end as redelivery_of,
    'bureaus' as _source,
    ${ingested('delivered_ms', 'hash(h, redelivery)', 5, 'copy')} as _ingested_at,
    'raw.dept' as _topic,
    cast(${mod('hash(delivery_id)', plan.partitions)} as integer) as _partition,
    delivery_id || '/' || copy as _key,
    delivered_ms as _version_ms
from landed`;
}

/** The valid records of the deliveries in `chunk` (one bus message per file: the records share its offset). */
export const recordsOfChunkSql = `
with lines as (
    select *, unnest(range(2, cast(valid_count as bigint) + 2)) as line from chunk where valid_count > 0
)
select
    delivery_id,
    resource_code,
    region_code,
    delivered_at,
    line,
    cast(json_object(
        '统一社会信用代码', '9111' || lpad(cast(hash(delivery_id, line) % 100000000000000 as varchar), 14, '0'),
        '日期', strftime(timezone('UTC', delivered_at) + interval 8 hour, '%Y-%m-%d'),
        '数量', line * 3
    ) as varchar) as record,
    _source,
    _ingested_at,
    _topic,
    _partition,
    _offset,
    dt_key,
    part_key,
    flush_key
from lines`;
