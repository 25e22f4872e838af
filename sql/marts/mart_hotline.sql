-- name: mart_hotline
-- description: 12345 hotline 接诉即办 indicators per region, period and breakdown (docs/indicators.md): received
--   cases, response within 2 hours, valid follow-up visits with contacted / resolved / satisfied / basically
--   satisfied, the 三率 (response, resolution, satisfaction) and their weighted composite, on-time closure. Each case
--   counts in its latest state (int_hotline_cases_latest), summed from its days (int_hotline_days). Received, response and follow-up figures count the cases
--   received in the period's counted days; due and on-time figures count the cases whose DEADLINE falls in them.
--   breakdown all | category_l1 | category_l2 | channel | request_type: every (grain, period, region in scope) has
--   its `all` row (breakdown_value 'all'), even with nothing to count; another breakdown has a row for a value only
--   where the region and period have at least one case received or due with that value. Rates are NULL when their
--   denominator is 0; composite_score is NULL when there is no follow-up. The weights used are on every row.
-- materialization: incremental
-- incremental_by: (grain, period)
-- grain: (grain, period, region_code, breakdown, breakdown_value)
-- depends_on: int_periods, int_region_scope, int_hotline_days, hub_settings
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

hotline_days as (
    select * from int_hotline_days
),

settings as (
    select * from hub_settings
),

period_days as (
    -- Each period's counted days (none for a period wholly after the cut-off), so day facts join periods by day.
    select
        grain,
        period,
        cast(unnest(generate_series(cast(period_start as timestamp), cast(counted_end as timestamp), interval 1 day))
            as date) as day
    from periods
    where counted_end >= period_start
),

aggregated as (
    select
        period_days.grain,
        period_days.period,
        hotline_days.region_code,
        hotline_days.breakdown,
        hotline_days.breakdown_value,
        sum(hotline_days.received_count) as received_count,
        sum(hotline_days.responded_within_2h_count) as responded_within_2h_count,
        sum(hotline_days.followup_count) as followup_count,
        sum(hotline_days.contacted_count) as contacted_count,
        sum(hotline_days.resolved_count) as resolved_count,
        sum(hotline_days.satisfied_count) as satisfied_count,
        sum(hotline_days.basically_satisfied_count) as basically_satisfied_count,
        sum(hotline_days.unsatisfied_count) as unsatisfied_count,
        sum(hotline_days.due_count) as due_count,
        sum(hotline_days.closed_on_time_count) as closed_on_time_count
    from hotline_days
    inner join period_days on period_days.day = hotline_days.day
    group by period_days.grain, period_days.period, hotline_days.region_code, hotline_days.breakdown,
        hotline_days.breakdown_value
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
        periods.grain,
        periods.period,
        periods.period_start,
        periods.period_end,
        periods.is_complete,
        periods.counted_end,
        periods.data_cutoff,
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
        cast(grain as varchar) as grain,
        cast(period as varchar) as period,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(is_complete as boolean) as is_complete,
        cast(counted_end as date) as counted_end,
        cast(data_cutoff as timestamptz) as data_cutoff,
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
