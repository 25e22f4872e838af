-- name: int_scenario_conditions_evaluated
-- description: Every coverage condition of every applicable (scenario, region) pair in every period, one row each,
--   with the reason code it adds when it fails (docs/indicators.md, key-scenario coverage). A requirement listed
--   twice in the catalog is two conditions. Periods are whole calendar months (or unions of them), so a day lies in a
--   period exactly when its month does: presence is checked per month.
-- materialization: table
-- grain: (grain, period, scenario_code, region_code, condition_kind, requirement_index)
-- depends_on: int_periods, int_scenario_pairs, int_scenario_online_rates, int_city_events_latest,
--   int_sensor_presence_days, int_video_presence_days, int_hotline_presence_days, stg_lake__dept_delivery
-- tests: unique(grain, period, scenario_code, region_code, condition_kind, requirement_index);
--   not_null(reason_code, is_met);
--   accepted_values(condition_kind: sensor|video|hotline|resource|registered_devices|online_rate|closed_loop)

with

periods as (
    -- Data sharing and scenario coverage are defined per month, quarter and year (docs/indicators.md).
    select * from int_periods
    where grain <> 'day'
),

pairs as (
    select * from int_scenario_pairs
),

online_rates as (
    select * from int_scenario_online_rates
),

latest_events as (
    select * from int_city_events_latest
),

sensor_days as (
    select * from int_sensor_presence_days
),

video_days as (
    select * from int_video_presence_days
),

hotline_days as (
    select * from int_hotline_presence_days
),

deliveries as (
    select * from stg_lake__dept_delivery
),

pair_periods as (
    select
        {{ period_columns('periods') }},
        pairs.*
    from pairs
    cross join periods
),

category_prefixes as (
    select distinct unnest(required_hotline_categories) as category_prefix
    from pairs
),

categories as (
    select distinct category
    from hotline_days
),

category_matches as (
    select
        category_prefixes.category_prefix,
        categories.category
    from category_prefixes
    inner join categories on starts_with(categories.category, category_prefixes.category_prefix)
),

presence as (
    -- Which requirement keys had data, by kind, region and month: a device type's readings, an event type's video
    -- alerts, a category prefix's hotline cases, a resource's valid deliveries.
    select distinct
        'sensor' as condition_kind,
        device_type as requirement_key,
        region_code,
        cast(date_trunc('month', observed_date) as date) as presence_month
    from sensor_days
    union all
    select distinct
        'video' as condition_kind,
        event_type as requirement_key,
        region_code,
        cast(date_trunc('month', occurred_date) as date) as presence_month
    from video_days
    union all
    select distinct
        'hotline' as condition_kind,
        category_matches.category_prefix as requirement_key,
        hotline_days.region_code,
        cast(date_trunc('month', hotline_days.received_date) as date) as presence_month
    from hotline_days
    inner join category_matches on category_matches.category = hotline_days.category
    union all
    select distinct
        'resource' as condition_kind,
        resource_code as requirement_key,
        region_code,
        cast(date_trunc('month', delivered_date) as date) as presence_month
    from deliveries
    where valid_count >= 1
),

closed_loop_presence as (
    select distinct
        event_class,
        region_code,
        cast(date_trunc('month', closed_date) as date) as closed_month
    from latest_events
    where source_kind in ('video', 'sensor')
        and closed_at is not null
),

requirement_lists as (
    -- Each kind's required keys, in catalog order (a key listed twice is two conditions).
    select
        pair_periods.*,
        unnest([
            {'kind': 'sensor', 'reason': 'no_sensor_data:', 'keys': required_device_types},
            {'kind': 'video', 'reason': 'no_video_alerts:', 'keys': required_video_event_types},
            {'kind': 'hotline', 'reason': 'no_hotline_cases:', 'keys': required_hotline_categories},
            {'kind': 'resource', 'reason': 'no_resource_delivery:', 'keys': required_resources}
        ]) as requirement_list
    from pair_periods
),

requirements as (
    select
        grain,
        period,
        period_start,
        period_end,
        scenario_code,
        region_code,
        region_prefix,
        requirement_list.kind as condition_kind,
        requirement_list.reason as reason_prefix,
        unnest(requirement_list.keys) as requirement_key,
        generate_subscripts(requirement_list.keys, 1) as requirement_index
    from requirement_lists
),

presence_conditions as (
    -- Met when the key had data in the pair's region (by code prefix) in a month of the period.
    select
        requirements.grain,
        requirements.period,
        requirements.scenario_code,
        requirements.region_code,
        requirements.condition_kind,
        requirements.requirement_index,
        requirements.reason_prefix || requirements.requirement_key as reason_code,
        count(presence.presence_month) > 0 as is_met
    from requirements
    left join presence
        on presence.condition_kind = requirements.condition_kind
        and presence.requirement_key = requirements.requirement_key
        and starts_with(presence.region_code, requirements.region_prefix)
        and presence.presence_month between requirements.period_start and requirements.period_end
    group by all
),

registered_device_conditions as (
    select
        grain,
        period,
        scenario_code,
        region_code,
        'registered_devices' as condition_kind,
        1 as requirement_index,
        'no_registered_devices' as reason_code,
        registered_device_days > 0 as is_met
    from online_rates
    where is_online_rate_required
),

online_rate_conditions as (
    select
        grain,
        period,
        scenario_code,
        region_code,
        'online_rate' as condition_kind,
        1 as requirement_index,
        'online_rate_below_min' as reason_code,
        online_rate >= min_online_rate as is_met
    from online_rates
    where is_online_rate_required
        and registered_device_days > 0
),

closed_loop_requirements as (
    select
        grain,
        period,
        period_start,
        period_end,
        scenario_code,
        region_code,
        region_prefix,
        unnest(event_classes) as event_class
    from pair_periods
    where is_closed_loop_required
),

closed_loop_hits as (
    select distinct
        closed_loop_requirements.grain,
        closed_loop_requirements.period,
        closed_loop_requirements.scenario_code,
        closed_loop_requirements.region_code
    from closed_loop_requirements
    inner join closed_loop_presence
        on closed_loop_presence.event_class = closed_loop_requirements.event_class
        and starts_with(closed_loop_presence.region_code, closed_loop_requirements.region_prefix)
        and closed_loop_presence.closed_month between closed_loop_requirements.period_start
        and closed_loop_requirements.period_end
),

closed_loop_conditions as (
    select
        pair_periods.grain,
        pair_periods.period,
        pair_periods.scenario_code,
        pair_periods.region_code,
        'closed_loop' as condition_kind,
        1 as requirement_index,
        'no_closed_loop' as reason_code,
        closed_loop_hits.scenario_code is not null as is_met
    from pair_periods
    left join closed_loop_hits
        on closed_loop_hits.grain = pair_periods.grain
        and closed_loop_hits.period = pair_periods.period
        and closed_loop_hits.scenario_code = pair_periods.scenario_code
        and closed_loop_hits.region_code = pair_periods.region_code
    where pair_periods.is_closed_loop_required
),

all_conditions as (
    select * from presence_conditions
    union all
    select * from registered_device_conditions
    union all
    select * from online_rate_conditions
    union all
    select * from closed_loop_conditions
),

final as (
    select
        cast(grain as varchar) as grain,
        cast(period as varchar) as period,
        cast(scenario_code as varchar) as scenario_code,
        cast(region_code as varchar) as region_code,
        cast(condition_kind as varchar) as condition_kind,
        cast(requirement_index as bigint) as requirement_index,
        cast(reason_code as varchar) as reason_code,
        cast(is_met as boolean) as is_met
    from all_conditions
)

select * from final
