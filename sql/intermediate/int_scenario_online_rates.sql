-- name: int_scenario_online_rates
-- description: Registered and online device-days of each applicable (scenario, region) pair per period, over the
--   registry devices whose device_type is in the scenario's required_device_types and whose region is within the
--   pair's region; online_rate = online / registered device-days, NULL without registered device-days (always so
--   when the scenario requires no device type). is_online_rate_required: min_online_rate set and device types
--   required, i.e. the online conditions apply.
-- materialization: table
-- grain: (grain, period, scenario_code, region_code)
-- depends_on: int_periods, int_scenario_pairs, int_device_periods_aggregated
-- tests: unique(grain, period, scenario_code, region_code); not_null(registered_device_days, online_device_days);
--   expression(online_rate is null or online_rate between 0 and 1);
--   expression(online_device_days <= registered_device_days)

with

periods as (
    -- Data sharing and scenario coverage are defined per month, quarter and year (docs/indicators.md).
    select * from int_periods
    where grain <> 'day'
),

pairs as (
    select * from int_scenario_pairs
),

device_periods as (
    select * from int_device_periods_aggregated
),

pair_periods as (
    select
        periods.grain,
        periods.period,
        pairs.scenario_code,
        pairs.region_code,
        pairs.region_prefix,
        pairs.required_device_types,
        pairs.min_online_rate
    from pairs
    cross join periods
),

device_days as (
    select
        pair_periods.grain,
        pair_periods.period,
        pair_periods.scenario_code,
        pair_periods.region_code,
        pair_periods.required_device_types,
        pair_periods.min_online_rate,
        coalesce(sum(device_periods.registered_device_days), 0) as registered_device_days,
        coalesce(sum(device_periods.online_device_days), 0) as online_device_days
    from pair_periods
    left join device_periods
        on device_periods.grain = pair_periods.grain
        and device_periods.period = pair_periods.period
        and list_contains(pair_periods.required_device_types, device_periods.device_type)
        and starts_with(device_periods.region_code, pair_periods.region_prefix)
    group by
        pair_periods.grain,
        pair_periods.period,
        pair_periods.scenario_code,
        pair_periods.region_code,
        pair_periods.required_device_types,
        pair_periods.min_online_rate
),

final as (
    select
        cast(grain as varchar) as grain,
        cast(period as varchar) as period,
        cast(scenario_code as varchar) as scenario_code,
        cast(region_code as varchar) as region_code,
        cast(min_online_rate as double) as min_online_rate,
        cast(min_online_rate is not null and len(required_device_types) > 0 as boolean) as is_online_rate_required,
        cast(online_device_days as bigint) as online_device_days,
        cast(registered_device_days as bigint) as registered_device_days,
        cast(
            case
                when registered_device_days > 0 then cast(online_device_days as double) / registered_device_days
            end as double
        ) as online_rate
    from device_days
)

select * from final
