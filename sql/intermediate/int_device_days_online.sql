-- name: int_device_days_online
-- description: Online device-days: a registered device (installed_on <= day <= removed_on, open ends unbounded)
--   with at least one sensor reading of its device_id observed that Asia/Shanghai day.
-- materialization: table
-- grain: (device_id, online_date)
-- depends_on: seed_devices, stg_lake__sensor_reading
-- tests: unique(device_id, online_date); not_null(device_id, device_type, region_code, online_date)

with

devices as (
    select * from seed_devices
),

readings as (
    select * from stg_lake__sensor_reading
),

reading_days as (
    select distinct
        device_id,
        observed_date
    from readings
),

online_days as (
    select
        devices.device_id,
        devices.device_type,
        devices.region_code,
        reading_days.observed_date as online_date
    from devices
    inner join reading_days
        on reading_days.device_id = devices.device_id
        and (devices.installed_on is null or devices.installed_on <= reading_days.observed_date)
        and (devices.removed_on is null or devices.removed_on >= reading_days.observed_date)
),

final as (
    select
        cast(device_id as varchar) as device_id,
        cast(device_type as varchar) as device_type,
        cast(region_code as varchar) as region_code,
        cast(online_date as date) as online_date
    from online_days
)

select * from final
