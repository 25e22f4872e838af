-- name: mart_indicators
-- description: The indicator catalog (sql/seeds/indicators.json, docs/indicators.md): every indicator the marts
--   compute, its names, dimension (operation 城市运行, management 城市管理, service 公众服务, effectiveness 工作效能),
--   kind (basic 基础型, advanced 提升型, local 特色指标), unit, and where its value, numerator and denominator live: the
--   mart, its columns and the row filter selecting the indicator's rows (row_filter, JSON). Unlike the other marts it
--   has no grain, period or region: `grains` lists the grains the indicator is computed at.
-- materialization: table
-- grain: (code)
-- depends_on: seed_indicators
-- tests: unique(code);
--   not_null(code, name_zh, name_en, dimension, kind, unit, mart, value_column, denominator_column, row_filter, grains,
--     higher_is_better, definition, formula, source);
--   accepted_values(dimension: operation|management|service|effectiveness);
--   accepted_values(kind: basic|advanced|local); accepted_values(unit: ratio|hours|score)

with

indicators as (
    select * from seed_indicators
),

final as (
    select
        cast(code as varchar) as code,
        cast(name_zh as varchar) as name_zh,
        cast(name_en as varchar) as name_en,
        cast(dimension as varchar) as dimension,
        cast(kind as varchar) as kind,
        cast(unit as varchar) as unit,
        cast(mart as varchar) as mart,
        cast(value_column as varchar) as value_column,
        cast(numerator_column as varchar) as numerator_column,
        cast(denominator_column as varchar) as denominator_column,
        cast(row_filter as varchar) as row_filter,
        cast(grains as varchar[]) as grains,
        cast(higher_is_better as boolean) as higher_is_better,
        cast(target as double) as target,
        cast(definition as varchar) as definition,
        cast(formula as varchar) as formula,
        cast(source as varchar) as source
    from indicators
)

select * from final
