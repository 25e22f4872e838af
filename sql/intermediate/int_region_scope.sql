-- name: int_region_scope
-- description: The catalog regions (province, city, district) within the hub's own region, with the code prefix
--   each one rolls up by: province → first 2 digits, city → first 4, district → all 6.
--   The hub's own prefix comes from its catalog level; a hub region missing from the catalog falls back to the
--   shape of its code (XX0000 → 2 digits, XXXX00 → 4, else 6).
-- materialization: table
-- grain: (region_code)
-- depends_on: seed_regions, hub_settings
-- tests: unique(region_code); not_null(region_code, region_level, region_prefix);
--   accepted_values(region_level: province|city|district); expression(starts_with(region_code, region_prefix))

with

regions as (
    select * from seed_regions
),

hub as (
    select region_code from hub_settings
),

region_prefixes as (
    select
        code as region_code,
        name as region_name,
        level as region_level,
        parent_code,
        case level
            when 'province' then left(code, 2)
            when 'city' then left(code, 4)
            else code
        end as region_prefix
    from regions
),

hub_prefix as (
    select
        coalesce(
            region_prefixes.region_prefix,
            {{ region_prefix('hub.region_code') }}
        ) as hub_prefix
    from hub
    left join region_prefixes on region_prefixes.region_code = hub.region_code
),

in_scope as (
    select region_prefixes.*
    from region_prefixes
    inner join hub_prefix on starts_with(region_prefixes.region_code, hub_prefix.hub_prefix)
),

final as (
    select
        cast(region_code as varchar) as region_code,
        cast(region_name as varchar) as region_name,
        cast(region_level as varchar) as region_level,
        cast(parent_code as varchar) as parent_code,
        cast(region_prefix as varchar) as region_prefix
    from in_scope
)

select * from final
