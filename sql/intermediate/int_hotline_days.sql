-- name: int_hotline_days
-- description: The 12345 hotline facts of mart_hotline per counted day (docs/indicators.md), region in scope
--   (inclusive by code prefix) and breakdown (all | category_l1 | category_l2 | channel | request_type): cases
--   received that day — response within 2 hours, valid follow-ups with contacted / resolved / satisfied / basically
--   satisfied / unsatisfied — and cases whose DEADLINE is that day (due, closed on time), each case in its latest state
--   (int_hotline_cases_latest) as of the data cut-off (a time at or after it has not happened yet). One row where the
--   day, region and breakdown value have at least one case received or due; a day counts once it is over at the
--   cut-off. Every count is additive: mart_hotline sums these rows into its periods.
-- materialization: incremental
-- incremental_by: (grain, period)
-- period_facts: int_hotline_cases_latest(day: received_date; dates: received_date, deadline_date;
--     cutoff: responded_at, closed_at)
-- grain: (grain, period, region_code, breakdown, breakdown_value)
-- depends_on: int_periods, int_region_scope, int_hotline_cases_latest, hub_settings
-- tests: unique(grain, period, region_code, breakdown, breakdown_value); accepted_values(grain: day);
--   not_null(day, region_code, breakdown, breakdown_value, received_count, due_count);
--   expression(received_count > 0 or due_count > 0)

with

periods as (
    select * from int_periods
    where grain = 'day'
),

regions as (
    select * from int_region_scope
),
cases as (
    select * from int_hotline_cases_latest
),
settings as (
    select * from hub_settings
),
period_days as (
    -- A day counts once it is over at the data cut-off (its counted_end is the day itself).
    select
        grain,
        period,
        period_start as day
    from periods
    where counted_end >= period_start
),

case_measures as (
    -- A time at or after the data cut-off has not happened yet at this build: it never counts.
    select
        cases.received_date,
        cases.deadline_date,
        cases.region_code,
        cases.channel,
        cases.request_type,
        cases.category_l1,
        cases.category_l2,
        coalesce(
            cases.responded_at <= cases.received_at + interval 2 hour
            and cases.responded_at < settings.data_cutoff,
            false
        ) as is_responded_within_2h,
        (cases.is_contacted is not null or cases.is_resolved is not null or cases.satisfaction is not null)
            as is_followup,
        coalesce(cases.is_contacted, false) as is_contacted,
        coalesce(cases.is_resolved, false) as is_resolved,
        coalesce(cases.satisfaction = 'satisfied', false) as is_satisfied,
        coalesce(cases.satisfaction = 'basically_satisfied', false) as is_basically_satisfied,
        coalesce(cases.satisfaction = 'unsatisfied', false) as is_unsatisfied,
        coalesce(cases.closed_at <= cases.deadline_at and cases.closed_at < settings.data_cutoff, false)
            as is_closed_on_time
    from cases
    cross join settings
),
received_days as (
    select
        received_date as fact_date,
        region_code,
        channel,
        request_type,
        category_l1,
        category_l2,
        count(*) as received_count,
        count(*) filter (where is_responded_within_2h) as responded_within_2h_count,
        count(*) filter (where is_followup) as followup_count,
        count(*) filter (where is_followup and is_contacted) as contacted_count,
        count(*) filter (where is_followup and is_resolved) as resolved_count,
        count(*) filter (where is_followup and is_satisfied) as satisfied_count,
        count(*) filter (where is_followup and is_basically_satisfied) as basically_satisfied_count,
        count(*) filter (where is_followup and is_unsatisfied) as unsatisfied_count,
        0 as due_count,
        0 as closed_on_time_count
    from case_measures
    group by received_date, region_code, channel, request_type, category_l1, category_l2
),
due_days as (
    select
        deadline_date as fact_date,
        region_code,
        channel,
        request_type,
        category_l1,
        category_l2,
        0 as received_count,
        0 as responded_within_2h_count,
        0 as followup_count,
        0 as contacted_count,
        0 as resolved_count,
        0 as satisfied_count,
        0 as basically_satisfied_count,
        0 as unsatisfied_count,
        count(*) as due_count,
        count(*) filter (where is_closed_on_time) as closed_on_time_count
    from case_measures
    where deadline_date is not null
    group by deadline_date, region_code, channel, request_type, category_l1, category_l2
),
fact_days as (
    select * from received_days
    union all
    select * from due_days
),
breakdown_days as (
    -- One row per fact and breakdown: the whole (all) and each breakdown column's value.
    select
        fact_days.*,
        breakdowns.breakdown,
        case breakdowns.breakdown
            when 'all' then 'all'
            when 'category_l1' then fact_days.category_l1
            when 'category_l2' then fact_days.category_l2
            when 'channel' then fact_days.channel
            when 'request_type' then fact_days.request_type
        end as breakdown_value
    from fact_days
    cross join (
        select unnest(['all', 'category_l1', 'category_l2', 'channel', 'request_type']) as breakdown
    ) as breakdowns
),
prefix_lengths as (
    select distinct length(region_prefix) as prefix_length from regions
),
region_days as (
    -- Inclusive roll-up by code prefix (starts_with), as an equality join on each prefix length in scope.
    select
        regions.region_code as scope_region_code,
        breakdown_days.*
    from breakdown_days
    cross join prefix_lengths
    inner join regions
        on regions.region_prefix = left(breakdown_days.region_code, prefix_lengths.prefix_length)
),
aggregated as (
    select
        period_days.grain,
        period_days.period,
        period_days.day,
        region_days.scope_region_code as region_code,
        region_days.breakdown,
        region_days.breakdown_value,
        sum(region_days.received_count) as received_count,
        sum(region_days.responded_within_2h_count) as responded_within_2h_count,
        sum(region_days.followup_count) as followup_count,
        sum(region_days.contacted_count) as contacted_count,
        sum(region_days.resolved_count) as resolved_count,
        sum(region_days.satisfied_count) as satisfied_count,
        sum(region_days.basically_satisfied_count) as basically_satisfied_count,
        sum(region_days.unsatisfied_count) as unsatisfied_count,
        sum(region_days.due_count) as due_count,
        sum(region_days.closed_on_time_count) as closed_on_time_count
    from region_days
    inner join period_days on period_days.day = region_days.fact_date
    group by period_days.grain, period_days.period, period_days.day, region_days.scope_region_code,
        region_days.breakdown, region_days.breakdown_value
),
final as (
    select
        cast(grain as varchar) as grain,
        cast(period as varchar) as period,
        cast(day as date) as day,
        cast(region_code as varchar) as region_code,
        cast(breakdown as varchar) as breakdown,
        cast(breakdown_value as varchar) as breakdown_value,
        cast(received_count as bigint) as received_count,
        cast(responded_within_2h_count as bigint) as responded_within_2h_count,
        cast(followup_count as bigint) as followup_count,
        cast(contacted_count as bigint) as contacted_count,
        cast(resolved_count as bigint) as resolved_count,
        cast(satisfied_count as bigint) as satisfied_count,
        cast(basically_satisfied_count as bigint) as basically_satisfied_count,
        cast(unsatisfied_count as bigint) as unsatisfied_count,
        cast(due_count as bigint) as due_count,
        cast(closed_on_time_count as bigint) as closed_on_time_count
    from aggregated
)

select * from final
