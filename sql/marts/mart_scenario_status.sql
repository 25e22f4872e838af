-- name: mart_scenario_status
-- description: 重点场景 status — one row per period and applicable (scenario, region) pair: covered or not, the
--   reason codes of the failing conditions (sorted ascending, empty when covered), the same reasons in words with the
--   names of the event classes, resources and categories they concern (failed_reasons, in the same order), and the
--   online rate behind them (in a period open at the data cut-off, over the days before it: is_complete false,
--   data_cutoff).
-- materialization: table
-- grain: (grain, period, scenario_code, region_code)
-- depends_on: int_scenario_status, seed_event_classes, seed_data_resources, seed_regions
-- tests: unique(grain, period, scenario_code, region_code);
--   not_null(grain, period, is_complete, data_cutoff, scenario_code, scenario_name, dimension, region_code,
--     region_name, is_covered, failed_conditions, failed_reasons, online_device_days, registered_device_days);
--   accepted_values(grain: month|quarter|year); accepted_values(dimension: operation|management|service|effectiveness);
--   relationships(region_code -> int_region_scope.region_code);
--   expression(is_covered = (len(failed_conditions) = 0));
--   expression(failed_conditions = list_sort(failed_conditions));
--   expression(len(failed_reasons) = len(failed_conditions));
--   expression(online_rate is null or online_rate between 0 and 1);
--   expression(online_device_days <= registered_device_days)

with

statuses as (
    select * from int_scenario_status
),

event_classes as (
    select * from seed_event_classes
),

resources as (
    select * from seed_data_resources
),

regions as (
    select * from seed_regions
),

resource_names as (
    -- A resource code may be listed by several regions' catalogs: its names, distinct, in order.
    select
        resource_code,
        string_agg(distinct name, ' / ' order by name) as resource_name
    from resources
    group by resource_code
),

conditions as (
    select
        statuses.grain,
        statuses.period,
        statuses.scenario_code,
        statuses.region_code,
        unnest(statuses.failed_conditions) as reason_code,
        generate_subscripts(statuses.failed_conditions, 1) as position
    from statuses
),

split as (
    select
        *,
        split_part(reason_code, ':', 1) as reason_kind,
        nullif(substr(reason_code, length(split_part(reason_code, ':', 1)) + 2), '') as reason_subject
    from conditions
),

worded as (
    select
        split.grain,
        split.period,
        split.scenario_code,
        split.region_code,
        split.position,
        case split.reason_kind
            when 'no_sensor_data' then 'no sensor readings of device type ' || split.reason_subject
            when 'no_video_alerts' then 'no video alerts of event class ' || split.reason_subject
                || coalesce(' ' || event_classes.name_zh || ' (' || event_classes.name_en || ')', '')
            when 'no_hotline_cases' then 'no 12345 cases in category ' || split.reason_subject
            when 'no_resource_delivery' then 'no valid delivery of resource ' || split.reason_subject
                || coalesce(' ' || resource_names.resource_name, '')
            when 'no_registered_devices' then 'no registered devices of the required types'
            when 'online_rate_below_min' then 'sensor online rate below the scenario minimum'
            when 'no_closed_loop' then 'no automated event of the scenario''s classes closed'
            else split.reason_code
        end as reason
    from split
    left join event_classes
        on split.reason_kind = 'no_video_alerts'
        and event_classes.code = split.reason_subject
    left join resource_names
        on split.reason_kind = 'no_resource_delivery'
        and resource_names.resource_code = split.reason_subject
),

reasons as (
    select
        grain,
        period,
        scenario_code,
        region_code,
        list(reason order by position) as failed_reasons
    from worded
    group by grain, period, scenario_code, region_code
),

described as (
    select
        statuses.*,
        coalesce(regions.name, statuses.region_code) as region_name,
        coalesce(reasons.failed_reasons, []) as failed_reasons
    from statuses
    left join reasons
        on reasons.grain = statuses.grain
        and reasons.period = statuses.period
        and reasons.scenario_code = statuses.scenario_code
        and reasons.region_code = statuses.region_code
    left join regions on regions.code = statuses.region_code
),

final as (
    select
        {{ typed_period_columns() }},
        cast(scenario_code as varchar) as scenario_code,
        cast(scenario_name as varchar) as scenario_name,
        cast(dimension as varchar) as dimension,
        cast(region_code as varchar) as region_code,
        cast(region_name as varchar) as region_name,
        cast(is_covered as boolean) as is_covered,
        cast(failed_conditions as varchar[]) as failed_conditions,
        cast(failed_reasons as varchar[]) as failed_reasons,
        cast(online_rate as double) as online_rate,
        cast(online_device_days as bigint) as online_device_days,
        cast(registered_device_days as bigint) as registered_device_days
    from described
)

select * from final
