-- name: int_scenario_status
-- description: 重点场景 status — one row per period and applicable (scenario, region) pair: covered or not, the
--   reason codes of the failing conditions (sorted ascending, empty when covered) and the online rate behind them
--   (in a period open at the data cut-off, over the days before it: is_complete false, data_cutoff). Served as
--   mart_scenario_status and counted by mart_scenario_coverage (marts read intermediates, never other marts).
-- materialization: table
-- grain: (grain, period, scenario_code, region_code)
-- depends_on: int_periods, int_scenario_pairs, int_scenario_conditions_evaluated, int_scenario_online_rates
-- tests: unique(grain, period, scenario_code, region_code);
--   not_null(grain, period, is_complete, data_cutoff, scenario_code, scenario_name, dimension, region_code, is_covered, failed_conditions,
--     online_device_days, registered_device_days);
--   accepted_values(grain: month|quarter|year); accepted_values(dimension: operation|management|service|effectiveness);
--   relationships(region_code -> int_region_scope.region_code);
--   expression(is_covered = (len(failed_conditions) = 0));
--   expression(failed_conditions = list_sort(failed_conditions));
--   expression(online_rate is null or online_rate between 0 and 1);
--   expression(online_device_days <= registered_device_days)

with

periods as (
    -- Defined per month, quarter and year (docs/indicators.md): no day rows.
    select * from int_periods
    where grain <> 'day'
),

pairs as (
    select * from int_scenario_pairs
),

conditions as (
    select * from int_scenario_conditions_evaluated
),

online_rates as (
    select * from int_scenario_online_rates
),

pair_periods as (
    select
        {{ period_columns('periods') }},
        pairs.scenario_code,
        pairs.scenario_name,
        pairs.dimension,
        pairs.region_code
    from pairs
    cross join periods
),

failures as (
    select
        grain,
        period,
        scenario_code,
        region_code,
        list_sort(list(reason_code)) as failed_conditions
    from conditions
    where not is_met
    group by grain, period, scenario_code, region_code
),

joined as (
    select
        {{ period_columns('pair_periods') }},
        pair_periods.scenario_code,
        pair_periods.scenario_name,
        pair_periods.dimension,
        pair_periods.region_code,
        coalesce(failures.failed_conditions, cast([] as varchar[])) as failed_conditions,
        online_rates.online_rate,
        online_rates.online_device_days,
        online_rates.registered_device_days
    from pair_periods
    left join failures
        on failures.grain = pair_periods.grain
        and failures.period = pair_periods.period
        and failures.scenario_code = pair_periods.scenario_code
        and failures.region_code = pair_periods.region_code
    inner join online_rates
        on online_rates.grain = pair_periods.grain
        and online_rates.period = pair_periods.period
        and online_rates.scenario_code = pair_periods.scenario_code
        and online_rates.region_code = pair_periods.region_code
),

final as (
    select
        {{ typed_period_columns() }},
        cast(scenario_code as varchar) as scenario_code,
        cast(scenario_name as varchar) as scenario_name,
        cast(dimension as varchar) as dimension,
        cast(region_code as varchar) as region_code,
        cast(len(failed_conditions) = 0 as boolean) as is_covered,
        cast(failed_conditions as varchar[]) as failed_conditions,
        cast(online_rate as double) as online_rate,
        cast(online_device_days as bigint) as online_device_days,
        cast(registered_device_days as bigint) as registered_device_days
    from joined
)

select * from final
