-- name: int_indicator_values
-- description: Every indicator of the catalog (sql/seeds/indicators.json) at every row of its mart that holds it
--   (its grains, its row_filter): value, numerator and denominator as DOUBLE. The runner expands
--   {{ indicator_values() }} from the catalog and adds the marts it names to depends_on.
-- materialization: table
-- grain: (indicator_code, grain, period, region_code)
-- depends_on: seed_indicators
-- tests: unique(indicator_code, grain, period, region_code); not_null(indicator_code, grain, period, region_code);
--   relationships(indicator_code -> seed_indicators.code)

with

indicator_values as (
    select * from {{ indicator_values() }}
),

final as (
    select
        cast(indicator_code as varchar) as indicator_code,
        cast(grain as varchar) as grain,
        cast(period as varchar) as period,
        cast(region_code as varchar) as region_code,
        cast(value as double) as value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator
    from indicator_values
)

select * from final
