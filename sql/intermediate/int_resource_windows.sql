-- name: int_resource_windows
-- description: Required data resources (share_type unconditional or conditional) in force during each period, with
--   their sharing window: the period itself for realtime/daily/weekly/monthly resources; for quarterly (yearly)
--   resources the period extended to the whole calendar quarter (year) that contains the period's last day.
-- materialization: table
-- grain: (grain, period, resource_code)
-- depends_on: int_periods, seed_data_resources
-- tests: unique(grain, period, resource_code); not_null(resource_region_code, window_start, window_end);
--   expression(window_start <= period_start and window_end >= period_end);
--   relationships(period -> int_periods.period)

with

periods as (
    -- Data sharing and scenario coverage are defined per month, quarter and year (docs/indicators.md).
    select * from int_periods
    where grain <> 'day'
),

resources as (
    select * from seed_data_resources
),

required_resources as (
    select *
    from resources
    where share_type in ('unconditional', 'conditional')
),

in_force as (
    select
        {{ period_columns('periods') }},
        required_resources.resource_code,
        required_resources.region_code as resource_region_code,
        required_resources.update_frequency,
        required_resources.valid_from,
        required_resources.valid_to
    from periods
    inner join required_resources
        on (required_resources.valid_from is null or required_resources.valid_from <= periods.period_end)
        and (required_resources.valid_to is null or required_resources.valid_to >= periods.period_start)
),

calendars as (
    select
        *,
        case update_frequency
            when 'quarterly' then cast(date_trunc('quarter', period_end) as date)
            when 'yearly' then cast(date_trunc('year', period_end) as date)
        end as calendar_start,
        case update_frequency
            when 'quarterly' then cast(date_trunc('quarter', period_end) + interval 3 month - interval 1 day as date)
            when 'yearly' then cast(date_trunc('year', period_end) + interval 1 year - interval 1 day as date)
        end as calendar_end
    from in_force
),

final as (
    select
        {{ typed_period_columns() }},
        cast(resource_code as varchar) as resource_code,
        cast(resource_region_code as varchar) as resource_region_code,
        cast(update_frequency as varchar) as update_frequency,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        cast(coalesce(least(period_start, calendar_start), period_start) as date) as window_start,
        cast(coalesce(greatest(period_end, calendar_end), period_end) as date) as window_end
    from calendars
)

select * from final
