-- name: mart_evaluation
-- description: 四维评价 — the four-dimension evaluation (城市运行 operation, 城市管理 management, 公众服务 service,
--   工作效能 effectiveness) per region and month (monitoring), quarter (assessment) and year (summary), from the
--   evaluation scheme (config models.indicators.evaluation; default: every ratio indicator of the catalog where higher
--   is better, weight 1). level 'indicator': one row per scored indicator with its value, numerator, denominator and
--   score = 100 × min(1, value / full_score_at) (NULL when the value is NULL); level 'dimension' (indicator_code
--   'all'): the weighted mean of the dimension's indicator scores that are not NULL (NULL when none is); level
--   'composite' (dimension and indicator_code 'all'): the weighted mean of the dimension scores that are not NULL, by
--   dimension weight. scored_count / indicator_count say how many indicators had a value.
-- materialization: table
-- grain: (grain, period, region_code, level, dimension, indicator_code)
-- depends_on: int_periods, int_region_scope, int_indicator_values, seed_evaluation, seed_indicators
-- tests: unique(grain, period, region_code, level, dimension, indicator_code);
--   not_null(grain, period, is_complete, data_cutoff, region_code, region_level, level, dimension, indicator_code,
--     weight, scored_count, indicator_count);
--   accepted_values(grain: month|quarter|year); accepted_values(level: indicator|dimension|composite);
--   accepted_values(dimension: operation|management|service|effectiveness|all);
--   expression(score is null or score between 0 and 100);
--   expression((score is null) = (scored_count = 0));
--   expression(scored_count <= indicator_count);
--   expression((level = 'composite') = (dimension = 'all'));
--   expression((level = 'indicator') = (indicator_code <> 'all'))

with

periods as (
    -- Monthly monitoring, quarterly assessment, yearly summary.
    select * from int_periods
    where grain in ('month', 'quarter', 'year')
),

regions as (
    select * from int_region_scope
),

indicator_values as (
    select * from int_indicator_values
),

scheme as (
    select * from seed_evaluation
),

indicators as (
    select * from seed_indicators
),

indicator_rows as (
    select
        {{ period_columns('periods') }},
        regions.region_code,
        regions.region_level,
        scheme.dimension,
        scheme.indicator_code,
        indicators.name_zh as indicator_name,
        scheme.weight,
        scheme.full_score_at,
        scheme.dimension_weight,
        indicator_values.value,
        indicator_values.numerator,
        indicator_values.denominator,
        -- least() skips NULLs: a missing value must stay a missing score, not 100.
        case
            when indicator_values.value is not null then 100 * least(1, indicator_values.value / scheme.full_score_at)
        end as score
    from periods
    cross join regions
    cross join scheme
    inner join indicators
        on indicators.code = scheme.indicator_code
        and list_contains(indicators.grains, periods.grain)
    left join indicator_values
        on indicator_values.indicator_code = scheme.indicator_code
        and indicator_values.grain = periods.grain
        and indicator_values.period = periods.period
        and indicator_values.region_code = regions.region_code
),

dimension_rows as (
    select
        grain,
        period,
        region_code,
        any_value(region_level) as region_level,
        dimension,
        any_value(dimension_weight) as weight,
        sum(weight * score) / nullif(sum(weight) filter (where score is not null), 0) as score,
        count(score) as scored_count,
        count(*) as indicator_count
    from indicator_rows
    group by grain, period, region_code, dimension
),

composite_rows as (
    select
        grain,
        period,
        region_code,
        any_value(region_level) as region_level,
        sum(weight * score) filter (where weight > 0)
            / nullif(sum(weight) filter (where score is not null and weight > 0), 0) as score,
        sum(scored_count) as scored_count,
        sum(indicator_count) as indicator_count
    from dimension_rows
    group by grain, period, region_code
),

unioned as (
    select
        grain,
        period,
        region_code,
        region_level,
        'indicator' as level,
        dimension,
        indicator_code,
        indicator_name,
        value,
        numerator,
        denominator,
        weight,
        full_score_at,
        score,
        case when score is null then 0 else 1 end as scored_count,
        1 as indicator_count
    from indicator_rows
    union all
    select
        grain,
        period,
        region_code,
        region_level,
        'dimension' as level,
        dimension,
        'all' as indicator_code,
        null as indicator_name,
        null as value,
        null as numerator,
        null as denominator,
        weight,
        null as full_score_at,
        score,
        scored_count,
        indicator_count
    from dimension_rows
    union all
    select
        grain,
        period,
        region_code,
        region_level,
        'composite' as level,
        'all' as dimension,
        'all' as indicator_code,
        null as indicator_name,
        null as value,
        null as numerator,
        null as denominator,
        1 as weight,
        null as full_score_at,
        score,
        scored_count,
        indicator_count
    from composite_rows
),

final as (
    select
        {{ typed_period_columns() }},
        cast(region_code as varchar) as region_code,
        cast(region_level as varchar) as region_level,
        cast(level as varchar) as level,
        cast(dimension as varchar) as dimension,
        cast(indicator_code as varchar) as indicator_code,
        cast(indicator_name as varchar) as indicator_name,
        cast(value as double) as value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(weight as double) as weight,
        cast(full_score_at as double) as full_score_at,
        cast(score as double) as score,
        cast(scored_count as bigint) as scored_count,
        cast(indicator_count as bigint) as indicator_count
    from unioned
    inner join periods using (grain, period)
)

select * from final
