-- name: int_device_days_online
-- description: Online device-days: a registered device (installed_on <= day <= removed_on, open ends unbounded)
--   with at least one sensor reading of its device_id observed that Asia/Shanghai day (int_sensor_device_days).
-- materialization: table
-- grain: (device_id, online_date)
-- depends_on: int_sensor_device_days
-- tests: unique(device_id, online_date); not_null(device_id, device_type, region_code, online_date)

with

device_days as (
    select * from int_sensor_device_days
),

online_days as (
    select
        device_id,
        device_type,
        region_code,
        observed_date as online_date
    from device_days
    where is_registered
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
