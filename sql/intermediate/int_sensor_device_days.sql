-- name: int_sensor_device_days
-- description: Sensor readings per device and Asia/Shanghai day — the one pass over stg_lake__sensor_reading that
--   sensor health aggregates from. A reading is one sensor_reading row (device_id, metric, observed_at). Its alarm
--   level is the highest level whose threshold (seed_alarm_thresholds of the registry's device type and the
--   reading's metric) it reaches: at_or_above when value >= at_or_above, at_or_below when value <= at_or_below,
--   either for a threshold giving both; levels 3 and above are counted together (alarm_readings_level_3). Readings
--   of a device not in the registry reach no threshold. device_type and region_code are the registry's, the
--   readings' own for a device not in it. is_registered: the device is in the registry and registered that day
--   (installed_on <= day <= removed_on, open ends unbounded); readings_expected = greatest(1, floor(86400 /
--   reporting_interval_s)) on a registered day, readings_counted = least(readings_received, readings_expected);
--   both 0 on a day not registered. Incremental: a build recomputes only the lake days whose files changed.
-- materialization: incremental
-- incremental_by: observed_date
-- grain: (device_id, observed_date)
-- depends_on: stg_lake__sensor_reading, seed_devices, seed_alarm_thresholds
-- tests: unique(device_id, observed_date);
--   not_null(device_id, observed_date, device_type, region_code, is_registered, readings_received, readings_expected,
--     readings_counted, alarm_readings, alarm_readings_level_1, alarm_readings_level_2, alarm_readings_level_3);
--   expression(readings_received >= 1);
--   expression(readings_counted <= readings_received and readings_counted <= readings_expected);
--   expression(is_registered or (readings_expected = 0 and readings_counted = 0));
--   expression(alarm_readings <= readings_received);
--   expression(alarm_readings = alarm_readings_level_1 + alarm_readings_level_2 + alarm_readings_level_3)

with

readings as (
    select * from stg_lake__sensor_reading
),

devices as (
    select * from seed_devices
),

thresholds as (
    select * from seed_alarm_thresholds
),

level_bands as (
    -- A reading's highest level is k or more exactly when it reaches one threshold of level k or more: it is at or
    -- above the lowest at_or_above of those levels, or at or below the highest at_or_below.
    select
        device_type,
        metric,
        min(at_or_above) filter (where level >= 1) as above_1,
        max(at_or_below) filter (where level >= 1) as below_1,
        min(at_or_above) filter (where level >= 2) as above_2,
        max(at_or_below) filter (where level >= 2) as below_2,
        min(at_or_above) filter (where level >= 3) as above_3,
        max(at_or_below) filter (where level >= 3) as below_3
    from thresholds
    group by device_type, metric
),

device_bands as (
    -- Keyed by device and metric, so each reading needs one small join, not one to the registry and one to the
    -- thresholds.
    select
        devices.device_id,
        level_bands.*
    from devices
    inner join level_bands on level_bands.device_type = devices.device_type
),

leveled_readings as (
    select
        readings.device_id,
        readings.device_type,
        readings.region_code,
        readings.observed_date,
        case
            when readings.value >= device_bands.above_3 or readings.value <= device_bands.below_3 then 3
            when readings.value >= device_bands.above_2 or readings.value <= device_bands.below_2 then 2
            when readings.value >= device_bands.above_1 or readings.value <= device_bands.below_1 then 1
        end as alarm_level
    from readings
    left join device_bands
        on device_bands.device_id = readings.device_id
        and device_bands.metric = readings.metric
),

reading_days as (
    select
        device_id,
        observed_date,
        min(device_type) as reading_device_type,
        min(region_code) as reading_region_code,
        count(*) as readings_received,
        count(*) filter (where alarm_level is not null) as alarm_readings,
        count(*) filter (where alarm_level = 1) as alarm_readings_level_1,
        count(*) filter (where alarm_level = 2) as alarm_readings_level_2,
        count(*) filter (where alarm_level = 3) as alarm_readings_level_3
    from leveled_readings
    group by device_id, observed_date
),

registered as (
    select
        reading_days.*,
        coalesce(devices.device_type, reading_days.reading_device_type) as device_type,
        coalesce(devices.region_code, reading_days.reading_region_code) as region_code,
        coalesce(
            devices.device_id is not null
            and (devices.installed_on is null or devices.installed_on <= reading_days.observed_date)
            and (devices.removed_on is null or devices.removed_on >= reading_days.observed_date),
            false
        ) as is_registered,
        greatest(1, floor(86400 / devices.reporting_interval_s)) as expected_per_day
    from reading_days
    left join devices on devices.device_id = reading_days.device_id
),

final as (
    select
        cast(device_id as varchar) as device_id,
        cast(observed_date as date) as observed_date,
        cast(device_type as varchar) as device_type,
        cast(region_code as varchar) as region_code,
        cast(is_registered as boolean) as is_registered,
        cast(readings_received as bigint) as readings_received,
        cast(case when is_registered then expected_per_day else 0 end as bigint) as readings_expected,
        cast(case when is_registered then least(readings_received, expected_per_day) else 0 end as bigint)
            as readings_counted,
        cast(alarm_readings as bigint) as alarm_readings,
        cast(alarm_readings_level_1 as bigint) as alarm_readings_level_1,
        cast(alarm_readings_level_2 as bigint) as alarm_readings_level_2,
        cast(alarm_readings_level_3 as bigint) as alarm_readings_level_3
    from registered
)

select * from final
