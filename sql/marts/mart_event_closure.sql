-- name: mart_event_closure
-- description: City event handling and closure (GB/T 30428-style) per region, period and breakdown
--   (docs/indicators.md): 处置率, 按期处置率, 结案率, 按期结案率 and handling/closure hours, each rate beside its own
--   numerator and denominator (NULL when the denominator is 0). Events count once, in the period of their reported_date
--   (Asia/Shanghai), within a region by code prefix, as of the data cut-off (int_city_event_lifecycle); an open period
--   counts only events reported on its days before the cut-off. Cancelled (作废) events count in reported_count and
--   cancelled_count only. Every (grain, period, region in scope) has its breakdown 'all' row; event_class and
--   source_kind rows exist where the region and period have at least one reported event (cancelled included) of
--   that value. breakdown_name: the event class's name (seed_event_classes) on event_class rows, NULL otherwise or
--   for a class the catalog does not name.
-- materialization: incremental
-- incremental_by: (grain, period)
-- period_facts: int_city_event_lifecycle(day: reported_date; dates: reported_date;
--     cutoff: registered_at, dispatched_at, handled_at, verified_at, closed_at)
-- grain: (grain, period, region_code, breakdown, breakdown_value)
-- depends_on: int_periods, int_region_scope, int_city_event_lifecycle, seed_event_classes
-- tests: unique(grain, period, region_code, breakdown, breakdown_value);
--   not_null(grain, period, period_start, period_end, is_complete, data_cutoff, region_code, region_level, breakdown,
--     breakdown_value, reported_count, cancelled_count, registered_count, to_handle_count, handled_count,
--     handled_on_time_count, to_close_count, closed_count, closed_on_time_count, no_deadline_count,
--     handling_timed_count, handling_hours_sum, closure_timed_count, closure_hours_sum);
--   accepted_values(grain: day|month|quarter|year); accepted_values(region_level: province|city|district);
--   accepted_values(breakdown: all|event_class|source_kind);
--   relationships(region_code -> int_region_scope.region_code);
--   expression((breakdown = 'all') = (breakdown_value = 'all'));
--   expression(breakdown = 'all' or reported_count >= 1);
--   expression(cancelled_count <= reported_count and registered_count <= reported_count - cancelled_count);
--   expression(to_close_count = registered_count and to_handle_count <= to_close_count);
--   expression(handled_on_time_count <= handled_count and handled_count <= to_handle_count);
--   expression(closed_on_time_count <= closed_count and closed_count <= to_close_count);
--   expression(closed_count <= handled_count and no_deadline_count <= to_close_count);
--   expression(handling_timed_count <= handled_count and closure_timed_count <= closed_count);
--   expression(handling_rate is null or handling_rate between 0 and 1);
--   expression(on_time_handling_rate is null or on_time_handling_rate between 0 and 1);
--   expression(closure_rate is null or closure_rate between 0 and 1);
--   expression(on_time_closure_rate is null or on_time_closure_rate between 0 and 1);
--   expression((handling_rate is null) = (to_handle_count = 0));
--   expression((on_time_handling_rate is null) = (to_handle_count = 0));
--   expression((closure_rate is null) = (to_close_count = 0));
--   expression((on_time_closure_rate is null) = (to_close_count = 0));
--   expression((handling_hours_avg is null) = (handling_timed_count = 0));
--   expression((closure_hours_avg is null) = (closure_timed_count = 0));
--   expression(breakdown = 'event_class' or breakdown_name is null);
--   warn: expression(handling_hours_sum >= 0 and closure_hours_sum >= 0)

with

event_classes as (
    select * from seed_event_classes
),

periods as (
    select * from int_periods
),

regions as (
    select * from int_region_scope
),

events as (
    select * from int_city_event_lifecycle
),

breakdowns as (
    select breakdown
    from (values ('all'), ('event_class'), ('source_kind')) as breakdowns (breakdown)
),

-- Every event once per breakdown: under 'all' and under its own event class and source kind.
event_breakdowns as (
    select
        events.*,
        breakdowns.breakdown,
        case breakdowns.breakdown
            when 'all' then 'all'
            when 'event_class' then events.event_class
            when 'source_kind' then events.source_kind
        end as breakdown_value
    from events
    cross join breakdowns
),

-- Additive day facts, so that each period sums its days rather than re-reading every event.
event_days as (
    select
        region_code,
        reported_date,
        breakdown,
        breakdown_value,
        count(*) as reported_count,
        count(*) filter (where is_cancelled) as cancelled_count,
        count(*) filter (where is_registered) as registered_count,
        count(*) filter (where is_dispatched) as to_handle_count,
        count(*) filter (where is_handled) as handled_count,
        count(*) filter (where is_handled_on_time) as handled_on_time_count,
        count(*) filter (where is_closed) as closed_count,
        count(*) filter (where is_closed_on_time) as closed_on_time_count,
        count(*) filter (where is_registered and not has_deadline) as no_deadline_count,
        count(handling_hours) as handling_timed_count,
        coalesce(sum(handling_hours), 0) as handling_hours_sum,
        count(closure_hours) as closure_timed_count,
        coalesce(sum(closure_hours), 0) as closure_hours_sum
    from event_breakdowns
    group by region_code, reported_date, breakdown, breakdown_value
),

period_regions as (
    select
        {{ period_columns('periods') }},
        regions.region_code,
        regions.region_level
    from periods
    cross join regions
),

-- Which periods count each day: an open period stops at counted_end (the day before the cut-off). Each period's own
-- days, not int_periods' day rows: an incremental build reads only the recomputed periods, so a recomputed month
-- whose other days did not change has no day rows beside it. Day and region maps are small, so the event days join
-- them on equality (fast at megacity scale) instead of by range and prefix.
day_periods as (
    select
        grain,
        period,
        cast(unnest(generate_series(cast(period_start as timestamp), cast(counted_end as timestamp), interval 1 day))
            as date) as reported_date
    from periods
    where counted_end >= period_start
),

-- Inclusive roll-up: an event's region counts for every region in scope whose prefix it starts with.
event_regions as (
    select distinct region_code from event_days
),

region_rollups as (
    select
        event_regions.region_code as event_region_code,
        regions.region_code
    from event_regions
    inner join regions on starts_with(event_regions.region_code, regions.region_prefix)
),

counted as (
    select
        day_periods.grain,
        day_periods.period,
        region_rollups.region_code,
        event_days.breakdown,
        event_days.breakdown_value,
        sum(event_days.reported_count) as reported_count,
        sum(event_days.cancelled_count) as cancelled_count,
        sum(event_days.registered_count) as registered_count,
        sum(event_days.to_handle_count) as to_handle_count,
        sum(event_days.handled_count) as handled_count,
        sum(event_days.handled_on_time_count) as handled_on_time_count,
        sum(event_days.closed_count) as closed_count,
        sum(event_days.closed_on_time_count) as closed_on_time_count,
        sum(event_days.no_deadline_count) as no_deadline_count,
        sum(event_days.handling_timed_count) as handling_timed_count,
        sum(event_days.handling_hours_sum) as handling_hours_sum,
        sum(event_days.closure_timed_count) as closure_timed_count,
        sum(event_days.closure_hours_sum) as closure_hours_sum
    from event_days
    inner join day_periods on day_periods.reported_date = event_days.reported_date
    inner join region_rollups on region_rollups.event_region_code = event_days.region_code
    group by
        day_periods.grain,
        day_periods.period,
        region_rollups.region_code,
        event_days.breakdown,
        event_days.breakdown_value
),

-- Silence is not 'no row': every period and region has its 'all' row; the other breakdowns only where events exist.
slots as (
    select
        grain,
        period,
        region_code,
        'all' as breakdown,
        'all' as breakdown_value
    from period_regions
    union all
    select
        grain,
        period,
        region_code,
        breakdown,
        breakdown_value
    from counted
    where breakdown <> 'all'
),

joined as (
    select
        {{ period_columns('period_regions') }},
        period_regions.region_code,
        period_regions.region_level,
        slots.breakdown,
        slots.breakdown_value,
        coalesce(counted.reported_count, 0) as reported_count,
        coalesce(counted.cancelled_count, 0) as cancelled_count,
        coalesce(counted.registered_count, 0) as registered_count,
        coalesce(counted.to_handle_count, 0) as to_handle_count,
        coalesce(counted.handled_count, 0) as handled_count,
        coalesce(counted.handled_on_time_count, 0) as handled_on_time_count,
        coalesce(counted.registered_count, 0) as to_close_count,
        coalesce(counted.closed_count, 0) as closed_count,
        coalesce(counted.closed_on_time_count, 0) as closed_on_time_count,
        coalesce(counted.no_deadline_count, 0) as no_deadline_count,
        coalesce(counted.handling_timed_count, 0) as handling_timed_count,
        coalesce(counted.handling_hours_sum, 0) as handling_hours_sum,
        coalesce(counted.closure_timed_count, 0) as closure_timed_count,
        coalesce(counted.closure_hours_sum, 0) as closure_hours_sum
    from slots
    inner join period_regions
        on period_regions.grain = slots.grain
        and period_regions.period = slots.period
        and period_regions.region_code = slots.region_code
    left join counted
        on counted.grain = slots.grain
        and counted.period = slots.period
        and counted.region_code = slots.region_code
        and counted.breakdown = slots.breakdown
        and counted.breakdown_value = slots.breakdown_value
),

rates as (
    select
        *,
        cast(handled_count as double) / nullif(to_handle_count, 0) as handling_rate,
        cast(handled_on_time_count as double) / nullif(to_handle_count, 0) as on_time_handling_rate,
        cast(closed_count as double) / nullif(to_close_count, 0) as closure_rate,
        cast(closed_on_time_count as double) / nullif(to_close_count, 0) as on_time_closure_rate,
        handling_hours_sum / nullif(handling_timed_count, 0) as handling_hours_avg,
        closure_hours_sum / nullif(closure_timed_count, 0) as closure_hours_avg
    from joined
),

named as (
    select
        rates.*,
        event_classes.name_zh as breakdown_name
    from rates
    left join event_classes
        on rates.breakdown = 'event_class'
        and event_classes.code = rates.breakdown_value
),

final as (
    select
        {{ typed_period_columns() }},
        cast(region_code as varchar) as region_code,
        cast(region_level as varchar) as region_level,
        cast(breakdown as varchar) as breakdown,
        cast(breakdown_value as varchar) as breakdown_value,
        cast(breakdown_name as varchar) as breakdown_name,
        cast(reported_count as bigint) as reported_count,
        cast(cancelled_count as bigint) as cancelled_count,
        cast(registered_count as bigint) as registered_count,
        cast(to_handle_count as bigint) as to_handle_count,
        cast(handled_count as bigint) as handled_count,
        cast(handling_rate as double) as handling_rate,
        cast(handled_on_time_count as bigint) as handled_on_time_count,
        cast(on_time_handling_rate as double) as on_time_handling_rate,
        cast(to_close_count as bigint) as to_close_count,
        cast(closed_count as bigint) as closed_count,
        cast(closure_rate as double) as closure_rate,
        cast(closed_on_time_count as bigint) as closed_on_time_count,
        cast(on_time_closure_rate as double) as on_time_closure_rate,
        cast(no_deadline_count as bigint) as no_deadline_count,
        cast(handling_timed_count as bigint) as handling_timed_count,
        cast(handling_hours_sum as double) as handling_hours_sum,
        cast(handling_hours_avg as double) as handling_hours_avg,
        cast(closure_timed_count as bigint) as closure_timed_count,
        cast(closure_hours_sum as double) as closure_hours_sum,
        cast(closure_hours_avg as double) as closure_hours_avg
    from named
)

select * from final
