-- name: int_federated_indicator_values
-- description: A hub rolling up member hubs (config federation.members; a city hub has none and this is empty):
--   the indicator values pulled from each member within that member's own region (a member speaks for no other),
--   with their provenance (member_id, member_snapshot_id, pulled_at), and for every (indicator, grain, period) the
--   roll-up into this hub's own region: the numerators and denominators of the members' rows at their own regions
--   summed, the value recomputed from those sums (NULL for an indicator without a numerator, such as a composite
--   score), never an average of values. member_count says how many members' rows a roll-up sums; is_complete is true
--   only when all of them are; counted_end and data_cutoff are the earliest of theirs.
-- materialization: table
-- grain: (indicator_code, grain, period, region_code)
-- depends_on: hub_member_values, hub_members, hub_settings, seed_regions
-- tests: unique(indicator_code, grain, period, region_code); not_null(indicator_code, grain, period, region_code, source);
--   accepted_values(source: member|rollup);
--   expression(source <> 'rollup' or member_count >= 1)

with

pulled as (
    select * from hub_member_values
),

members as (
    select * from hub_members
),

hub as (
    select region_code from hub_settings
),

regions as (
    select * from seed_regions
),

member_rows as (
    select
        pulled.*,
        'member' as source,
        cast(null as bigint) as member_count
    from pulled
    inner join members
        on members.member_id = pulled.member_id
        and starts_with(pulled.region_code, {{ region_prefix('members.region_code') }})
),

summed as (
    select
        pulled.indicator_code,
        pulled.grain,
        pulled.period,
        min(pulled.period_start) as period_start,
        max(pulled.period_end) as period_end,
        bool_and(pulled.is_complete) as is_complete,
        min(pulled.counted_end) as counted_end,
        min(pulled.data_cutoff) as data_cutoff,
        any_value(pulled.unit) as unit,
        sum(pulled.numerator) as numerator,
        sum(pulled.denominator) as denominator,
        count(pulled.numerator) = count(*) as every_numerator,
        count(*) as member_count
    from pulled
    inner join members
        on members.member_id = pulled.member_id
        and members.region_code = pulled.region_code
    group by pulled.indicator_code, pulled.grain, pulled.period
),

rolled_up as (
    select
        summed.grain,
        summed.period,
        summed.period_start,
        summed.period_end,
        summed.is_complete,
        summed.counted_end,
        summed.data_cutoff,
        hub.region_code,
        coalesce(regions.level, 'national') as region_level,
        summed.indicator_code,
        summed.unit,
        case when summed.every_numerator then summed.numerator / nullif(summed.denominator, 0) end as value,
        case when summed.every_numerator then summed.numerator end as numerator,
        summed.denominator,
        cast(null as varchar) as member_id,
        cast(null as varchar) as member_snapshot_id,
        cast(null as timestamptz) as pulled_at,
        'rollup' as source,
        summed.member_count
    from summed
    cross join hub
    left join regions on regions.code = hub.region_code
),

unioned as (
    select * from member_rows
    union all by name
    select * from rolled_up
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
        cast(member_id as varchar) as member_id,
        cast(member_snapshot_id as varchar) as member_snapshot_id,
        cast(pulled_at as timestamptz) as pulled_at,
        cast(source as varchar) as source,
        cast(member_count as bigint) as member_count
    from unioned
)

select * from final
