-- name: mart_hotline
-- description: 12345 hotline 接诉即办 indicators per region, period and breakdown (docs/indicators.md): received
--   cases, response within 2 hours, valid follow-up visits with contacted / resolved / satisfied / basically
--   satisfied, the 三率 (response, resolution, satisfaction) and their weighted composite, on-time closure. Each case
--   counts in its latest state (int_hotline_cases_latest). Received, response and follow-up figures count the cases
--   received in the period's counted days; due and on-time figures count the cases whose DEADLINE falls in them.
--   breakdown all | category_l1 | category_l2 | channel | request_type: every (grain, period, region in scope) has
--   its `all` row (breakdown_value 'all'), even with nothing to count; another breakdown has a row for a value only
--   where the region and period have at least one case received or due with that value. Rates are NULL when their
--   denominator is 0; composite_score is NULL when there is no follow-up. The weights used are on every row.
-- materialization: incremental
-- incremental_by: (grain, period)
-- period_facts: int_hotline_cases_latest(day: received_date; dates: received_date, deadline_date;
--     cutoff: responded_at, closed_at)
-- grain: (grain, period, region_code, breakdown, breakdown_value)
-- depends_on: int_periods, int_region_scope, int_hotline_cases_latest, hub_settings
-- tests: unique(grain, period, region_code, breakdown, breakdown_value);
--   not_null(grain, period, period_start, period_end, is_complete, counted_end, data_cutoff, region_code, region_level,
--     breakdown, breakdown_value, received_count, responded_within_2h_count, followup_count, contacted_count,
--     resolved_count, satisfied_count, basically_satisfied_count, unsatisfied_count, satisfaction_score, due_count,
--     closed_on_time_count, weight_response, weight_resolution, weight_satisfaction, basically_satisfied_weight);
--   accepted_values(grain: day|month|quarter|year); accepted_values(region_level: province|city|district);
--   accepted_values(breakdown: all|category_l1|category_l2|channel|request_type);
--   relationships(region_code -> int_region_scope.region_code);
--   expression(breakdown <> 'all' or breakdown_value = 'all');
--   expression(breakdown = 'all' or received_count > 0 or due_count > 0);
--   expression(responded_within_2h_count <= received_count and followup_count <= received_count);
--   expression(contacted_count <= followup_count and resolved_count <= followup_count);
--   expression(satisfied_count + basically_satisfied_count + unsatisfied_count <= followup_count);
--   expression(satisfaction_score <= followup_count);
--   expression(closed_on_time_count <= due_count);
--   expression(response_2h_rate is null or response_2h_rate between 0 and 1);
--   expression(response_rate is null or response_rate between 0 and 1);
--   expression(resolution_rate is null or resolution_rate between 0 and 1);
--   expression(satisfaction_rate is null or satisfaction_rate between 0 and 1);
--   expression(composite_score is null or composite_score between 0 and 1 + 1e-9);
--   expression(on_time_rate is null or on_time_rate between 0 and 1);
--   expression((response_2h_rate is null) = (received_count = 0));
--   expression((response_rate is null) = (followup_count = 0));
--   expression((resolution_rate is null) = (followup_count = 0));
--   expression((satisfaction_rate is null) = (followup_count = 0));
--   expression((composite_score is null) = (followup_count = 0));
--   expression((on_time_rate is null) = (due_count = 0))

with

periods as (
    select * from int_periods
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
    -- Each period's counted days (none for a period wholly after the cut-off), so facts join periods by day.
    select
        grain,
        period,
        cast(unnest(generate_series(cast(period_start as timestamp), cast(counted_end as timestamp), interval 1 day))
            as date) as day
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
    group by period_days.grain, period_days.period, region_days.scope_region_code, region_days.breakdown,
        region_days.breakdown_value
),

row_keys as (
    -- Every (period, region) has its `all` row; other breakdowns only where a case was received or due.
    select
        periods.grain,
        periods.period,
        regions.region_code,
        'all' as breakdown,
        'all' as breakdown_value
    from periods
    cross join regions
    union all
    select
        grain,
        period,
        region_code,
        breakdown,
        breakdown_value
    from aggregated
    where breakdown <> 'all'
),

joined as (
    select
        {{ period_columns('periods') }},
        regions.region_code,
        regions.region_level,
        row_keys.breakdown,
        row_keys.breakdown_value,
        coalesce(aggregated.received_count, 0) as received_count,
        coalesce(aggregated.responded_within_2h_count, 0) as responded_within_2h_count,
        coalesce(aggregated.followup_count, 0) as followup_count,
        coalesce(aggregated.contacted_count, 0) as contacted_count,
        coalesce(aggregated.resolved_count, 0) as resolved_count,
        coalesce(aggregated.satisfied_count, 0) as satisfied_count,
        coalesce(aggregated.basically_satisfied_count, 0) as basically_satisfied_count,
        coalesce(aggregated.unsatisfied_count, 0) as unsatisfied_count,
        coalesce(aggregated.due_count, 0) as due_count,
        coalesce(aggregated.closed_on_time_count, 0) as closed_on_time_count,
        settings.hotline_weight_response as weight_response,
        settings.hotline_weight_resolution as weight_resolution,
        settings.hotline_weight_satisfaction as weight_satisfaction,
        settings.basically_satisfied_weight
    from row_keys
    inner join periods
        on periods.grain = row_keys.grain
        and periods.period = row_keys.period
    inner join regions on regions.region_code = row_keys.region_code
    cross join settings
    left join aggregated
        on aggregated.grain = row_keys.grain
        and aggregated.period = row_keys.period
        and aggregated.region_code = row_keys.region_code
        and aggregated.breakdown = row_keys.breakdown
        and aggregated.breakdown_value = row_keys.breakdown_value
),

scored as (
    select
        *,
        satisfied_count + basically_satisfied_weight * basically_satisfied_count as satisfaction_score
    from joined
),

rates as (
    select
        *,
        cast(responded_within_2h_count as double) / nullif(received_count, 0) as response_2h_rate,
        cast(contacted_count as double) / nullif(followup_count, 0) as response_rate,
        cast(resolved_count as double) / nullif(followup_count, 0) as resolution_rate,
        satisfaction_score / nullif(followup_count, 0) as satisfaction_rate,
        cast(closed_on_time_count as double) / nullif(due_count, 0) as on_time_rate
    from scored
),

final as (
    select
        {{ typed_period_columns() }},
        cast(region_code as varchar) as region_code,
        cast(region_level as varchar) as region_level,
        cast(breakdown as varchar) as breakdown,
        cast(breakdown_value as varchar) as breakdown_value,
        cast(received_count as bigint) as received_count,
        cast(responded_within_2h_count as bigint) as responded_within_2h_count,
        cast(response_2h_rate as double) as response_2h_rate,
        cast(followup_count as bigint) as followup_count,
        cast(contacted_count as bigint) as contacted_count,
        cast(response_rate as double) as response_rate,
        cast(resolved_count as bigint) as resolved_count,
        cast(resolution_rate as double) as resolution_rate,
        cast(satisfied_count as bigint) as satisfied_count,
        cast(basically_satisfied_count as bigint) as basically_satisfied_count,
        cast(unsatisfied_count as bigint) as unsatisfied_count,
        cast(satisfaction_score as double) as satisfaction_score,
        cast(satisfaction_rate as double) as satisfaction_rate,
        cast(
            weight_response * response_rate
            + weight_resolution * resolution_rate
            + weight_satisfaction * satisfaction_rate
            as double
        ) as composite_score,
        cast(due_count as bigint) as due_count,
        cast(closed_on_time_count as bigint) as closed_on_time_count,
        cast(on_time_rate as double) as on_time_rate,
        cast(weight_response as double) as weight_response,
        cast(weight_resolution as double) as weight_resolution,
        cast(weight_satisfaction as double) as weight_satisfaction,
        cast(basically_satisfied_weight as double) as basically_satisfied_weight
    from rates
)

select * from final
