-- name: mart_indicator_values
-- description: 指标值 — every indicator of the catalog (mart_indicators) at every (grain, period, region) of the mart
--   that holds it: its value, numerator and denominator (DOUBLE; numerator NULL for an indicator without one, such as
--   an average), with the period columns, the region level and the indicator's unit. What the tier API serves
--   (GET /api/v1/aggregates) and what an upper tier recomputes its roll-ups from: sum the numerators and the
--   denominators, never average the values. A hub rolling up member hubs also holds their rows (source member, with
--   member_id, member_snapshot_id, pulled_at) and its own region's roll-up of them (source rollup, member_count);
--   its own rows (source self) are those no member covers.
-- materialization: table
-- grain: (indicator_code, grain, period, region_code)
-- depends_on: int_indicator_values, int_federated_indicator_values, int_periods, int_region_scope, seed_indicators,
--   hub_members
-- tests: unique(indicator_code, grain, period, region_code);
--   not_null(indicator_code, grain, period, period_start, period_end, is_complete, counted_end, data_cutoff,
--     region_code, region_level, unit, source);
--   accepted_values(grain: day|month|quarter|year); accepted_values(region_level: national|province|city|district);
--   accepted_values(source: self|member|rollup);
--   relationships(indicator_code -> seed_indicators.code);
--   expression(unit <> 'ratio' or value is null or value between 0 and 1)

with

indicator_values as (
    select * from int_indicator_values
),

periods as (
    select * from int_periods
),

regions as (
    select * from int_region_scope
),

indicators as (
    select * from seed_indicators
),

federated as (
    select * from int_federated_indicator_values
),

members as (
    select * from hub_members
),

own as (
    select
        {{ period_columns('periods') }},
        indicator_values.region_code,
        regions.region_level,
        indicator_values.indicator_code,
        indicators.unit,
        indicator_values.value,
        indicator_values.numerator,
        indicator_values.denominator
    from indicator_values
    inner join periods
        on periods.grain = indicator_values.grain
        and periods.period = indicator_values.period
    inner join indicators on indicators.code = indicator_values.indicator_code
    left join regions on regions.region_code = indicator_values.region_code
),

-- A region a member covers, and this hub's own region once it rolls members up, are the members' to report.
own_uncovered as (
    select own.*
    from own
    where not exists (
        select 1 from members where starts_with(own.region_code, {{ region_prefix('members.region_code') }})
    )
    and not exists (
        select 1
        from federated
        where federated.source = 'rollup'
            and federated.region_code = own.region_code
    )
),

joined as (
    select
        own_uncovered.*,
        cast(null as varchar) as member_id,
        cast(null as varchar) as member_snapshot_id,
        cast(null as timestamptz) as pulled_at,
        'self' as source,
        cast(null as bigint) as member_count
    from own_uncovered
    union all by name
    select *
    from federated
),

final as (
    select
        {{ typed_period_columns() }},
        cast(region_code as varchar) as region_code,
        cast(region_level as varchar) as region_level,
        cast(indicator_code as varchar) as indicator_code,
        cast(unit as varchar) as unit,
        cast(value as double) as value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(source as varchar) as source,
        cast(member_id as varchar) as member_id,
        cast(member_snapshot_id as varchar) as member_snapshot_id,
        cast(pulled_at as timestamptz) as pulled_at,
        cast(member_count as bigint) as member_count
    from joined
    -- Stored in the API's order: a query for one indicator, grain and period reads only the row groups holding it.
    order by indicator_code, grain, period, region_code
)

select * from final
