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
        periods.grain,
        periods.period,
        periods.period_start,
        periods.period_end,
        pairs.*
    from pairs
    cross join periods
),

sensor_presence as (
    select distinct
        device_type,
        region_code,
        cast(date_trunc('month', observed_date) as date) as observed_month
    from sensor_days
),

video_presence as (
    select distinct
        event_type,
        region_code,
        cast(date_trunc('month', occurred_date) as date) as occurred_month
    from video_days
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

hotline_presence as (
    select distinct
        category_matches.category_prefix,
        hotline_days.region_code,
        cast(date_trunc('month', hotline_days.received_date) as date) as received_month
    from hotline_days
    inner join category_matches on category_matches.category = hotline_days.category
),

delivery_presence as (
    select distinct
        resource_code,
        region_code,
        cast(date_trunc('month', delivered_date) as date) as delivered_month
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

sensor_requirements as (
    select
        grain,
        period,
        period_start,
        period_end,
        scenario_code,
        region_code,
        region_prefix,
        unnest(required_device_types) as device_type,
        generate_subscripts(required_device_types, 1) as requirement_index
    from pair_periods
),

sensor_conditions as (
    select
        sensor_requirements.grain,
        sensor_requirements.period,
        sensor_requirements.scenario_code,
        sensor_requirements.region_code,
        'sensor' as condition_kind,
        sensor_requirements.requirement_index,
        'no_sensor_data:' || sensor_requirements.device_type as reason_code,
        count(sensor_presence.observed_month) > 0 as is_met
    from sensor_requirements
    left join sensor_presence
        on sensor_presence.device_type = sensor_requirements.device_type
        and starts_with(sensor_presence.region_code, sensor_requirements.region_prefix)
        and sensor_presence.observed_month between sensor_requirements.period_start and sensor_requirements.period_end
    group by all
),

video_requirements as (
    select
        grain,
        period,
        period_start,
        period_end,
        scenario_code,
        region_code,
        region_prefix,
        unnest(required_video_event_types) as event_type,
        generate_subscripts(required_video_event_types, 1) as requirement_index
    from pair_periods
),

video_conditions as (
    select
        video_requirements.grain,
        video_requirements.period,
        video_requirements.scenario_code,
        video_requirements.region_code,
        'video' as condition_kind,
        video_requirements.requirement_index,
        'no_video_alerts:' || video_requirements.event_type as reason_code,
        count(video_presence.occurred_month) > 0 as is_met
    from video_requirements
    left join video_presence
        on video_presence.event_type = video_requirements.event_type
        and starts_with(video_presence.region_code, video_requirements.region_prefix)
        and video_presence.occurred_month between video_requirements.period_start and video_requirements.period_end
    group by all
),

hotline_requirements as (
    select
        grain,
        period,
        period_start,
        period_end,
        scenario_code,
        region_code,
        region_prefix,
        unnest(required_hotline_categories) as category_prefix,
        generate_subscripts(required_hotline_categories, 1) as requirement_index
    from pair_periods
),

hotline_conditions as (
    select
        hotline_requirements.grain,
        hotline_requirements.period,
        hotline_requirements.scenario_code,
        hotline_requirements.region_code,
        'hotline' as condition_kind,
        hotline_requirements.requirement_index,
        'no_hotline_cases:' || hotline_requirements.category_prefix as reason_code,
        count(hotline_presence.received_month) > 0 as is_met
    from hotline_requirements
    left join hotline_presence
        on hotline_presence.category_prefix = hotline_requirements.category_prefix
        and starts_with(hotline_presence.region_code, hotline_requirements.region_prefix)
        and hotline_presence.received_month between hotline_requirements.period_start and hotline_requirements.period_end
    group by all
),

resource_requirements as (
    select
        grain,
        period,
        period_start,
        period_end,
        scenario_code,
        region_code,
        region_prefix,
        unnest(required_resources) as resource_code,
        generate_subscripts(required_resources, 1) as requirement_index
    from pair_periods
),

resource_conditions as (
    select
        resource_requirements.grain,
        resource_requirements.period,
        resource_requirements.scenario_code,
        resource_requirements.region_code,
        'resource' as condition_kind,
        resource_requirements.requirement_index,
        'no_resource_delivery:' || resource_requirements.resource_code as reason_code,
        count(delivery_presence.delivered_month) > 0 as is_met
    from resource_requirements
    left join delivery_presence
        on delivery_presence.resource_code = resource_requirements.resource_code
        and starts_with(delivery_presence.region_code, resource_requirements.region_prefix)
        and delivery_presence.delivered_month between resource_requirements.period_start and resource_requirements.period_end
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
    select * from sensor_conditions
    union all
    select * from video_conditions
    union all
    select * from hotline_conditions
    union all
    select * from resource_conditions
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
