-- name: mart_scenario_coverage
-- description: 重点场景智能化应用覆盖率 — key-scenario coverage per region and period: applicable (scenario, region)
--   pairs whose region is within the row's region, how many are covered, and the rate (NULL without applicable pairs).
--   Every (grain, period, region in the hub's scope) has a row; is_complete and data_cutoff as in int_periods.
-- materialization: table
-- grain: (grain, period, region_code)
-- depends_on: int_periods, int_region_scope, int_scenario_status
-- tests: unique(grain, period, region_code);
--   not_null(grain, period, is_complete, data_cutoff, region_code, region_level, applicable_count, covered_count, target_rate);
--   accepted_values(grain: month|quarter|year); accepted_values(region_level: province|city|district);
--   relationships(region_code -> int_region_scope.region_code);
--   expression(covered_count <= applicable_count);
--   expression(coverage_rate is null or coverage_rate between 0 and 1);
--   expression((coverage_rate is null) = (applicable_count = 0));
--   expression((meets_target is null) = (coverage_rate is null))

with

periods as (
    -- Defined per month, quarter and year (docs/indicators.md): no day rows.
    select * from int_periods
    where grain <> 'day'
),

regions as (
    select * from int_region_scope
),

statuses as (
    select * from int_scenario_status
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

counts as (
    select
        {{ period_columns('period_regions') }},
        period_regions.region_code,
        period_regions.region_level,
        count(statuses.scenario_code) as applicable_count,
        count(statuses.scenario_code) filter (where statuses.is_covered) as covered_count
    from period_regions
    left join statuses
        on statuses.grain = period_regions.grain
        and statuses.period = period_regions.period
        and starts_with(statuses.region_code, period_regions.region_prefix)
    group by
        {{ period_columns('period_regions') }},
        period_regions.region_code,
        period_regions.region_level
),

rates as (
    select
        *,
        cast(covered_count as double) / nullif(applicable_count, 0) as coverage_rate,
        cast(0.9 as double) as target_rate
    from counts
),

final as (
    select
        {{ typed_period_columns() }},
        cast(region_code as varchar) as region_code,
        cast(region_level as varchar) as region_level,
        cast(applicable_count as bigint) as applicable_count,
        cast(covered_count as bigint) as covered_count,
        cast(coverage_rate as double) as coverage_rate,
        cast(target_rate as double) as target_rate,
        cast(coverage_rate >= target_rate as boolean) as meets_target
    from rates
)

select * from final
