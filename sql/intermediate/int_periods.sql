-- name: int_periods
-- description: The days, months, quarters and years (Asia/Shanghai calendar dates) that intersect the data span —
--   the earliest to the latest event day (lake day folder) over sensor readings, video alerts, hotline cases, city
--   events and deliveries; a day period is `YYYY-MM-DD`.
--   No landed data gives no periods. Against the build's data cut-off (hub_settings: 00:00 Asia/Shanghai of the
--   build's day): is_complete when the period ended before it; counted_end is the last day the period counts
--   (period_end, or the day before the cut-off for an open period — before period_start when none of it is over).
-- materialization: table
-- grain: (grain, period)
-- depends_on: hub_lake_days, hub_settings
-- tests: unique(grain, period); not_null(grain, period, period_start, period_end, is_complete, counted_end, data_cutoff);
--   accepted_values(grain: day|month|quarter|year); expression(period_start <= period_end);
--   expression(counted_end <= period_end); expression(is_complete = (counted_end = period_end))

with

settings as (
    select * from hub_settings
),

lake_days as (
    -- The lake's day folders (dt = the event day in Asia/Shanghai), listed by the runner: no pass over the data.
    select * from hub_lake_days
    where dataset in ('sensor_reading', 'video_alert', 'hotline_case', 'city_event', 'dept_delivery')
),

data_span as (
    select
        min(day) as span_start,
        max(day) as span_end
    from lake_days
),

months as (
    select
        cast(
            unnest(
                generate_series(
                    cast(date_trunc('month', span_start) as timestamp),
                    cast(date_trunc('month', span_end) as timestamp),
                    interval 1 month
                )
            ) as date
        ) as month_start
    from data_span
    where span_start is not null
),

days as (
    select
        cast(
            unnest(
                generate_series(
                    cast(span_start as timestamp),
                    cast(span_end as timestamp),
                    interval 1 day
                )
            ) as date
        ) as day_start
    from data_span
    where span_start is not null
),

day_periods as (
    select
        'day' as grain,
        strftime(day_start, '%Y-%m-%d') as period,
        day_start as period_start,
        day_start as period_end
    from days
),

month_periods as (
    select
        'month' as grain,
        strftime(month_start, '%Y-%m') as period,
        month_start as period_start,
        cast(month_start + interval 1 month - interval 1 day as date) as period_end
    from months
),

quarter_periods as (
    select distinct
        'quarter' as grain,
        strftime(month_start, '%Y') || '-Q' || cast(quarter(month_start) as varchar) as period,
        cast(date_trunc('quarter', month_start) as date) as period_start,
        cast(date_trunc('quarter', month_start) + interval 3 month - interval 1 day as date) as period_end
    from months
),

year_periods as (
    select distinct
        'year' as grain,
        strftime(month_start, '%Y') as period,
        cast(date_trunc('year', month_start) as date) as period_start,
        cast(date_trunc('year', month_start) + interval 1 year - interval 1 day as date) as period_end
    from months
),

all_periods as (
    select * from day_periods
    union all
    select * from month_periods
    union all
    select * from quarter_periods
    union all
    select * from year_periods
),

against_cutoff as (
    select
        all_periods.*,
        all_periods.period_end < settings.cutoff_date as is_complete,
        least(all_periods.period_end, settings.cutoff_date - interval 1 day) as counted_end,
        settings.data_cutoff
    from all_periods
    cross join settings
),

final as (
    select
        {{ typed_period_columns() }}
    from against_cutoff
)

select * from final
