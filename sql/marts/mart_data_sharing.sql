-- name: mart_data_sharing
-- description: 数据共享率 — data-sharing, timeliness, quality and hookup rates per region and period
--   (docs/indicators.md). Every (grain, period, region in the hub's scope) has a row; rates are NULL when their
--   denominator is 0. is_complete is false for a period not over at the data cut-off (data_cutoff): it counts only
--   the days before the cut-off, and only resources already shared or due.
-- materialization: table
-- grain: (grain, period, region_code)
-- depends_on: int_periods, int_region_scope, int_resource_periods_evaluated, stg_lake__dept_delivery
-- tests: unique(grain, period, region_code);
--   not_null(grain, period, is_complete, data_cutoff, region_code, region_level, required_count, shared_count, due_count, on_time_count,
--     received_records, valid_records, hooked_count, target_rate);
--   accepted_values(grain: month|quarter|year); accepted_values(region_level: province|city|district);
--   relationships(region_code -> int_region_scope.region_code);
--   expression(shared_count <= required_count and hooked_count <= required_count);
--   expression(on_time_count <= due_count and due_count <= required_count);
--   expression(valid_records <= received_records);
--   expression(sharing_rate is null or sharing_rate between 0 and 1);
--   expression(timeliness_rate is null or timeliness_rate between 0 and 1);
--   expression(quality_rate is null or quality_rate between 0 and 1);
--   expression(hookup_rate is null or hookup_rate between 0 and 1);
--   expression((sharing_rate is null) = (required_count = 0));
--   expression((meets_target is null) = (sharing_rate is null))

with

periods as (
    -- Defined per month, quarter and year (docs/indicators.md): no day rows.
    select * from int_periods
    where grain <> 'day'
),

regions as (
    select * from int_region_scope
),

resources as (
    select * from int_resource_periods_evaluated
),

deliveries as (
    select * from stg_lake__dept_delivery
),

period_regions as (
    select
        {{ period_columns('periods') }},
        regions.region_code,
        regions.region_level,
        regions.region_prefix
    from periods
    cross join regions
),

resource_counts as (
    select
        period_regions.grain,
        period_regions.period,
        period_regions.region_code,
        count(resources.resource_code) as required_count,
        count(resources.resource_code) filter (where resources.is_shared) as shared_count,
        count(resources.resource_code) filter (where resources.is_due) as due_count,
        count(resources.resource_code) filter (where resources.is_due and resources.is_on_time) as on_time_count,
        count(resources.resource_code) filter (where resources.is_hooked) as hooked_count
    from period_regions
    left join resources
        on resources.grain = period_regions.grain
        and resources.period = period_regions.period
        and resources.is_required
        and starts_with(resources.resource_region_code, period_regions.region_prefix)
    group by period_regions.grain, period_regions.period, period_regions.region_code
),

delivery_days as (
    select
        region_code,
        delivered_date,
        sum(record_count) as record_count,
        sum(valid_count) as valid_count
    from deliveries
    group by region_code, delivered_date
),

record_counts as (
    select
        period_regions.grain,
        period_regions.period,
        period_regions.region_code,
        coalesce(sum(delivery_days.record_count), 0) as received_records,
        coalesce(sum(delivery_days.valid_count), 0) as valid_records
    from period_regions
    left join delivery_days
        on starts_with(delivery_days.region_code, period_regions.region_prefix)
        and delivery_days.delivered_date between period_regions.period_start and period_regions.period_end
    group by period_regions.grain, period_regions.period, period_regions.region_code
),

joined as (
    select
        {{ period_columns('period_regions') }},
        period_regions.region_code,
        period_regions.region_level,
        resource_counts.required_count,
        resource_counts.shared_count,
        resource_counts.due_count,
        resource_counts.on_time_count,
        resource_counts.hooked_count,
        record_counts.received_records,
        record_counts.valid_records
    from period_regions
    inner join resource_counts
        on resource_counts.grain = period_regions.grain
        and resource_counts.period = period_regions.period
        and resource_counts.region_code = period_regions.region_code
    inner join record_counts
        on record_counts.grain = period_regions.grain
        and record_counts.period = period_regions.period
        and record_counts.region_code = period_regions.region_code
),

rates as (
    select
        *,
        cast(shared_count as double) / nullif(required_count, 0) as sharing_rate,
        cast(on_time_count as double) / nullif(due_count, 0) as timeliness_rate,
        cast(valid_records as double) / nullif(received_records, 0) as quality_rate,
        cast(hooked_count as double) / nullif(required_count, 0) as hookup_rate,
        cast(0.9 as double) as target_rate
    from joined
),

final as (
    select
        {{ typed_period_columns() }},
        cast(region_code as varchar) as region_code,
        cast(region_level as varchar) as region_level,
        cast(required_count as bigint) as required_count,
        cast(shared_count as bigint) as shared_count,
        cast(sharing_rate as double) as sharing_rate,
        cast(due_count as bigint) as due_count,
        cast(on_time_count as bigint) as on_time_count,
        cast(timeliness_rate as double) as timeliness_rate,
        cast(received_records as bigint) as received_records,
        cast(valid_records as bigint) as valid_records,
        cast(quality_rate as double) as quality_rate,
        cast(hooked_count as bigint) as hooked_count,
        cast(hookup_rate as double) as hookup_rate,
        cast(target_rate as double) as target_rate,
        cast(sharing_rate >= target_rate as boolean) as meets_target
    from rates
)

select * from final
