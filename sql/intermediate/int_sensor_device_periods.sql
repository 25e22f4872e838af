-- name: int_sensor_device_periods
-- description: The registry's side of sensor health per period (all grains), device type and device region:
--   devices registered on at least one day of the period (period_devices: they give the device type its mart rows)
--   or of its counted days (registered_devices), registered device-days over the counted days (period_start to
--   counted_end: an open period counts no day from the data cut-off on; registered = installed_on <= day <= removed_on,
--   open ends unbounded) and the readings those days are expected to bring: greatest(1, floor(86400 /
--   reporting_interval_s)) per registered device-day. 'all' is not a device type: mart_sensor_health's total row.
-- materialization: incremental
-- incremental_by: (grain, period)
-- grain: (grain, period, device_type, region_code)
-- depends_on: int_periods, seed_devices
-- tests: unique(grain, period, device_type, region_code);
--   not_null(grain, period, device_type, region_code, period_devices, registered_devices, registered_device_days,
--     readings_expected);
--   expression(period_devices >= 1 and registered_devices <= period_devices);
--   expression(registered_device_days >= registered_devices);
--   expression(readings_expected >= registered_device_days);
--   expression(device_type <> 'all')

with

periods as (
    select * from int_periods
),

devices as (
    select * from seed_devices
),

device_periods as (
    -- Each device in each period it is registered on at least one day of.
    select
        periods.grain,
        periods.period,
        devices.device_type,
        devices.region_code,
        {{ registered_days('periods', 'devices') }} as registered_days,
        greatest(1, floor(86400 / devices.reporting_interval_s)) as expected_per_day
    from periods
    inner join devices
        on (devices.installed_on is null or devices.installed_on <= periods.period_end)
        and (devices.removed_on is null or devices.removed_on >= periods.period_start)
),

summed as (
    select
        grain,
        period,
        device_type,
        region_code,
        count(*) as period_devices,
        count(*) filter (where registered_days > 0) as registered_devices,
        sum(registered_days) as registered_device_days,
        sum(registered_days * expected_per_day) as readings_expected
    from device_periods
    group by grain, period, device_type, region_code
),

final as (
    select
        cast(grain as varchar) as grain,
        cast(period as varchar) as period,
        cast(device_type as varchar) as device_type,
        cast(region_code as varchar) as region_code,
        cast(period_devices as bigint) as period_devices,
        cast(registered_devices as bigint) as registered_devices,
        cast(registered_device_days as bigint) as registered_device_days,
        cast(readings_expected as bigint) as readings_expected
    from summed
)

select * from final
