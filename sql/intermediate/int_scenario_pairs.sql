-- name: int_scenario_pairs
-- description: Applicable (scenario, region) pairs: each region in the hub's scope of the scenario's level (city or
--   district) whose code starts with any entry of the scenario's `regions` list of codes and prefixes (an empty
--   list = every such region); a region matched by several entries is one pair.
-- materialization: table
-- grain: (scenario_code, region_code)
-- depends_on: seed_scenarios, int_region_scope
-- tests: unique(scenario_code, region_code); not_null(scenario_code, scenario_name, dimension, region_code, region_prefix);
--   accepted_values(scenario_level: city|district); relationships(region_code -> int_region_scope.region_code)

with

scenarios as (
    select * from seed_scenarios
),

scenario_region_prefixes as (
    select
        scenario_code,
        unnest(case when len(coalesce(regions, [])) = 0 then [''] else regions end) as scenario_prefix
    from scenarios
),

regions as (
    select * from int_region_scope
),

applicable as (
    select distinct
        scenario_region_prefixes.scenario_code,
        regions.region_code
    from scenario_region_prefixes
    inner join regions on starts_with(regions.region_code, scenario_region_prefixes.scenario_prefix)
),

pairs as (
    select
        scenarios.scenario_code,
        scenarios.name as scenario_name,
        scenarios.dimension,
        scenarios.level as scenario_level,
        regions.region_code,
        regions.region_prefix,
        scenarios.required_device_types,
        scenarios.required_video_event_types,
        scenarios.required_hotline_categories,
        scenarios.required_resources,
        scenarios.min_online_rate,
        scenarios.closed_loop,
        scenarios.event_classes
    from scenarios
    inner join applicable on applicable.scenario_code = scenarios.scenario_code
    inner join regions
        on regions.region_code = applicable.region_code
        and regions.region_level = scenarios.level
),

final as (
    select
        cast(scenario_code as varchar) as scenario_code,
        cast(scenario_name as varchar) as scenario_name,
        cast(dimension as varchar) as dimension,
        cast(scenario_level as varchar) as scenario_level,
        cast(region_code as varchar) as region_code,
        cast(region_prefix as varchar) as region_prefix,
        cast(coalesce(required_device_types, []) as varchar[]) as required_device_types,
        cast(coalesce(required_video_event_types, []) as varchar[]) as required_video_event_types,
        cast(coalesce(required_hotline_categories, []) as varchar[]) as required_hotline_categories,
        cast(coalesce(required_resources, []) as varchar[]) as required_resources,
        cast(min_online_rate as double) as min_online_rate,
        cast(coalesce(closed_loop, false) as boolean) as is_closed_loop_required,
        cast(coalesce(event_classes, []) as varchar[]) as event_classes
    from pairs
)

select * from final
