-- name: mart_sensor_health
-- description: Sensor health — online rate (device-days), completeness (readings received / expected from the
--   registry's reporting intervals) and alarm readings by level, per period (day, month, quarter, year), region
--   (inclusive by code prefix) and device type (docs/indicators.md). device_type 'all' is every type together:
--   every (grain, period, region in the hub's scope) has that row, with zero counts and NULL rates when there is
--   nothing to count; a device type has a row where devices of that type within the region are registered on at
--   least one day of the period. Only registered device-days count (readings of devices not in the registry, or
--   outside their registration, are unregistered_readings, by the readings' own region and type); an open period
--   (is_complete false) counts only its days before the data cut-off (data_cutoff).
-- materialization: incremental
-- incremental_by: (grain, period)
-- period_facts: int_sensor_device_days(day: observed_date; dates: observed_date)
-- grain: (grain, period, region_code, device_type)
-- depends_on: int_periods, int_region_scope, int_sensor_device_periods, int_sensor_device_days
-- tests: unique(grain, period, region_code, device_type);
--   not_null(grain, period, period_start, period_end, is_complete, data_cutoff, region_code, region_level,
--     device_type, registered_devices, registered_device_days, online_device_days, readings_expected,
--     readings_received, readings_counted, alarm_readings, alarm_readings_level_1, alarm_readings_level_2,
--     alarm_readings_level_3, alarm_device_days, unregistered_readings);
--   accepted_values(grain: day|month|quarter|year); accepted_values(region_level: province|city|district);
--   relationships(region_code -> int_region_scope.region_code);
--   expression(online_device_days <= registered_device_days);
--   expression(readings_counted <= readings_expected and readings_counted <= readings_received);
--   expression(alarm_readings <= readings_received and alarm_device_days <= online_device_days);
--   expression(alarm_readings = alarm_readings_level_1 + alarm_readings_level_2 + alarm_readings_level_3);
--   expression(registered_devices <= registered_device_days and registered_device_days <= readings_expected);
--   expression(online_rate is null or online_rate between 0 and 1);
--   expression(completeness_rate is null or completeness_rate between 0 and 1);
--   expression((online_rate is null) = (registered_device_days = 0));
--   expression((completeness_rate is null) = (readings_expected = 0))

with

periods as (
    select * from int_periods
),

regions as (
    select * from int_region_scope
),

device_periods as (
    select * from int_sensor_device_periods
),

device_days as (
    select * from int_sensor_device_days
),

period_regions as (
    select
        {{ period_columns('periods') }},
        regions.region_code,
        regions.region_level,
        regions.region_prefix
    from periods
    cross join regions
),

day_totals as (
    -- Device-days summed per day, device type and device region: small, whatever the number of readings.
    select
        observed_date,
        device_type,
        region_code,
        count(*) filter (where is_registered) as online_device_days,
        coalesce(sum(readings_received) filter (where is_registered), 0) as readings_received,
        coalesce(sum(readings_counted) filter (where is_registered), 0) as readings_counted,
        coalesce(sum(alarm_readings) filter (where is_registered), 0) as alarm_readings,
        coalesce(sum(alarm_readings_level_1) filter (where is_registered), 0) as alarm_readings_level_1,
        coalesce(sum(alarm_readings_level_2) filter (where is_registered), 0) as alarm_readings_level_2,
        coalesce(sum(alarm_readings_level_3) filter (where is_registered), 0) as alarm_readings_level_3,
        count(*) filter (where is_registered and alarm_readings > 0) as alarm_device_days,
        coalesce(sum(readings_received) filter (where not is_registered), 0) as unregistered_readings
    from device_days
    group by observed_date, device_type, region_code
),

period_day_totals as (
    select
        periods.grain,
        periods.period,
        day_totals.device_type,
        day_totals.region_code,
        sum(day_totals.online_device_days) as online_device_days,
        sum(day_totals.readings_received) as readings_received,
        sum(day_totals.readings_counted) as readings_counted,
        sum(day_totals.alarm_readings) as alarm_readings,
        sum(day_totals.alarm_readings_level_1) as alarm_readings_level_1,
        sum(day_totals.alarm_readings_level_2) as alarm_readings_level_2,
        sum(day_totals.alarm_readings_level_3) as alarm_readings_level_3,
        sum(day_totals.alarm_device_days) as alarm_device_days,
        sum(day_totals.unregistered_readings) as unregistered_readings
    from periods
    inner join day_totals
        on day_totals.observed_date between periods.period_start and periods.counted_end
    group by periods.grain, periods.period, day_totals.device_type, day_totals.region_code
),

facts as (
    -- The registry's side and the readings' side of each (period, device type, device region), side by side.
    select
        grain,
        period,
        device_type,
        region_code,
        period_devices,
        registered_devices,
        registered_device_days,
        readings_expected,
        0 as online_device_days,
        0 as readings_received,
        0 as readings_counted,
        0 as alarm_readings,
        0 as alarm_readings_level_1,
        0 as alarm_readings_level_2,
        0 as alarm_readings_level_3,
        0 as alarm_device_days,
        0 as unregistered_readings
    from device_periods
    union all
    select
        grain,
        period,
        device_type,
        region_code,
        0 as period_devices,
        0 as registered_devices,
        0 as registered_device_days,
        0 as readings_expected,
        online_device_days,
        readings_received,
        readings_counted,
        alarm_readings,
        alarm_readings_level_1,
        alarm_readings_level_2,
        alarm_readings_level_3,
        alarm_device_days,
        unregistered_readings
    from period_day_totals
),

type_counts as (
    -- Rolled up by region prefix: a region counts the devices and readings of its own code and of every region
    -- within it.
    select
        period_regions.grain,
        period_regions.period,
        period_regions.region_code,
        facts.device_type,
        sum(facts.period_devices) as period_devices,
        sum(facts.registered_devices) as registered_devices,
        sum(facts.registered_device_days) as registered_device_days,
        sum(facts.online_device_days) as online_device_days,
        sum(facts.readings_expected) as readings_expected,
        sum(facts.readings_received) as readings_received,
        sum(facts.readings_counted) as readings_counted,
        sum(facts.alarm_readings) as alarm_readings,
        sum(facts.alarm_readings_level_1) as alarm_readings_level_1,
        sum(facts.alarm_readings_level_2) as alarm_readings_level_2,
        sum(facts.alarm_readings_level_3) as alarm_readings_level_3,
        sum(facts.alarm_device_days) as alarm_device_days,
        sum(facts.unregistered_readings) as unregistered_readings
    from period_regions
    inner join facts
        on facts.grain = period_regions.grain
        and facts.period = period_regions.period
        and starts_with(facts.region_code, period_regions.region_prefix)
    group by period_regions.grain, period_regions.period, period_regions.region_code, facts.device_type
),

all_type_counts as (
    select
        period_regions.grain,
        period_regions.period,
        period_regions.region_code,
        'all' as device_type,
        coalesce(sum(type_counts.registered_devices), 0) as registered_devices,
        coalesce(sum(type_counts.registered_device_days), 0) as registered_device_days,
        coalesce(sum(type_counts.online_device_days), 0) as online_device_days,
        coalesce(sum(type_counts.readings_expected), 0) as readings_expected,
        coalesce(sum(type_counts.readings_received), 0) as readings_received,
        coalesce(sum(type_counts.readings_counted), 0) as readings_counted,
        coalesce(sum(type_counts.alarm_readings), 0) as alarm_readings,
        coalesce(sum(type_counts.alarm_readings_level_1), 0) as alarm_readings_level_1,
        coalesce(sum(type_counts.alarm_readings_level_2), 0) as alarm_readings_level_2,
        coalesce(sum(type_counts.alarm_readings_level_3), 0) as alarm_readings_level_3,
        coalesce(sum(type_counts.alarm_device_days), 0) as alarm_device_days,
        coalesce(sum(type_counts.unregistered_readings), 0) as unregistered_readings
    from period_regions
    left join type_counts
        on type_counts.grain = period_regions.grain
        and type_counts.period = period_regions.period
        and type_counts.region_code = period_regions.region_code
    group by period_regions.grain, period_regions.period, period_regions.region_code
),

counts as (
    select * exclude (period_devices)
    from type_counts
    where period_devices > 0
    union all
    select * from all_type_counts
),

joined as (
    select
        {{ period_columns('period_regions') }},
        period_regions.region_code,
        period_regions.region_level,
        counts.* exclude (grain, period, region_code)
    from period_regions
    inner join counts
        on counts.grain = period_regions.grain
        and counts.period = period_regions.period
        and counts.region_code = period_regions.region_code
),

rates as (
    select
        *,
        cast(online_device_days as double) / nullif(registered_device_days, 0) as online_rate,
        cast(readings_counted as double) / nullif(readings_expected, 0) as completeness_rate
    from joined
),

final as (
    select
        {{ typed_period_columns() }},
        cast(region_code as varchar) as region_code,
        cast(region_level as varchar) as region_level,
        cast(device_type as varchar) as device_type,
        cast(registered_devices as bigint) as registered_devices,
        cast(registered_device_days as bigint) as registered_device_days,
        cast(online_device_days as bigint) as online_device_days,
        cast(online_rate as double) as online_rate,
        cast(readings_expected as bigint) as readings_expected,
        cast(readings_received as bigint) as readings_received,
        cast(readings_counted as bigint) as readings_counted,
        cast(completeness_rate as double) as completeness_rate,
        cast(alarm_readings as bigint) as alarm_readings,
        cast(alarm_readings_level_1 as bigint) as alarm_readings_level_1,
        cast(alarm_readings_level_2 as bigint) as alarm_readings_level_2,
        cast(alarm_readings_level_3 as bigint) as alarm_readings_level_3,
        cast(alarm_device_days as bigint) as alarm_device_days,
        cast(unregistered_readings as bigint) as unregistered_readings
    from rates
)

select * from final
