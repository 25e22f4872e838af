-- name: int_device_periods_aggregated
-- description: Registered and online device-days per period, device type and device region: a device is registered
--   on each counted day of the period (up to counted_end: an open period counts no day from the data cut-off on)
--   between installed_on and removed_on (open ends unbounded), online on the registered days with a reading.
-- materialization: table
-- grain: (grain, period, device_type, region_code)
-- depends_on: int_periods, seed_devices, int_device_days_online
-- tests: unique(grain, period, device_type, region_code); not_null(registered_device_days, online_device_days);
--   expression(online_device_days <= registered_device_days)

with

periods as (
    select * from int_periods
),

devices as (
    select * from seed_devices
),

online_days as (
    select * from int_device_days_online
),

registered as (
    select
        periods.grain,
        periods.period,
        devices.device_type,
        devices.region_code,
        {{ registered_days('periods', 'devices') }} as registered_days
    from periods
    cross join devices
),

registered_summed as (
    select
        grain,
        period,
        device_type,
        region_code,
        sum(registered_days) as registered_device_days
    from registered
    group by grain, period, device_type, region_code
),

online_dates as (
    select
        device_type,
        region_code,
        online_date,
        count(*) as online_device_days
    from online_days
    group by device_type, region_code, online_date
),

online_summed as (
    select
        periods.grain,
        periods.period,
        online_dates.device_type,
        online_dates.region_code,
        sum(online_dates.online_device_days) as online_device_days
    from periods
    inner join online_dates
        on online_dates.online_date between periods.period_start and periods.counted_end
    group by periods.grain, periods.period, online_dates.device_type, online_dates.region_code
),

final as (
    select
        cast(registered_summed.grain as varchar) as grain,
        cast(registered_summed.period as varchar) as period,
        cast(registered_summed.device_type as varchar) as device_type,
        cast(registered_summed.region_code as varchar) as region_code,
        cast(registered_summed.registered_device_days as bigint) as registered_device_days,
        cast(coalesce(online_summed.online_device_days, 0) as bigint) as online_device_days
    from registered_summed
    left join online_summed
        on online_summed.grain = registered_summed.grain
        and online_summed.period = registered_summed.period
        and online_summed.device_type = registered_summed.device_type
        and online_summed.region_code = registered_summed.region_code
)

select * from final
