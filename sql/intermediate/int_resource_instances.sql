-- name: int_resource_instances
-- description: Cycle instances of each required data resource that end within the periods' calendar and inside the
--   resource's validity (valid_from <= last day <= valid_to, open ends unbounded) and that are over by the data
--   cut-off (last day before hub_settings.cutoff_date: an instance still running is not due yet): days (realtime,
--   daily), ISO weeks Monday–Sunday (weekly), calendar months, quarters and years; and whether a delivery with
--   valid_count >= 1 is dated within the instance's own days.
-- materialization: table
-- grain: (resource_code, instance_start)
-- depends_on: int_periods, seed_data_resources, stg_lake__dept_delivery, hub_settings
-- tests: unique(resource_code, instance_start); not_null(instance_start, instance_end, is_delivered);
--   expression(instance_start <= instance_end)

with

settings as (
    select * from hub_settings
),

periods as (
    -- Data sharing and scenario coverage are defined per month, quarter and year (docs/indicators.md).
    select * from int_periods
    where grain <> 'day'
),

resources as (
    select * from seed_data_resources
),

deliveries as (
    select * from stg_lake__dept_delivery
),

required_resources as (
    select
        resource_code,
        valid_from,
        valid_to,
        case update_frequency when 'realtime' then 'daily' else update_frequency end as cycle
    from resources
    where share_type in ('unconditional', 'conditional')
),

calendar_range as (
    select
        min(period_start) as range_start,
        max(period_end) as range_end
    from periods
),

calendar_days as (
    select
        cast(
            unnest(
                generate_series(cast(range_start as timestamp), cast(range_end as timestamp), interval 1 day)
            ) as date
        ) as day_date
    from calendar_range
    where range_start is not null
),

day_instances as (
    select
        'daily' as cycle,
        day_date as instance_start,
        day_date as instance_end
    from calendar_days
),

week_instances as (
    select distinct
        'weekly' as cycle,
        cast(date_trunc('week', day_date) as date) as instance_start,
        cast(date_trunc('week', day_date) + interval 6 day as date) as instance_end
    from calendar_days
),

month_instances as (
    select distinct
        'monthly' as cycle,
        cast(date_trunc('month', day_date) as date) as instance_start,
        cast(date_trunc('month', day_date) + interval 1 month - interval 1 day as date) as instance_end
    from calendar_days
),

quarter_instances as (
    select distinct
        'quarterly' as cycle,
        cast(date_trunc('quarter', day_date) as date) as instance_start,
        cast(date_trunc('quarter', day_date) + interval 3 month - interval 1 day as date) as instance_end
    from calendar_days
),

year_instances as (
    select distinct
        'yearly' as cycle,
        cast(date_trunc('year', day_date) as date) as instance_start,
        cast(date_trunc('year', day_date) + interval 1 year - interval 1 day as date) as instance_end
    from calendar_days
),

calendar_instances as (
    select all_instances.*
    from (
        select * from day_instances
        union all
        select * from week_instances
        union all
        select * from month_instances
        union all
        select * from quarter_instances
        union all
        select * from year_instances
    ) as all_instances
    cross join calendar_range
    cross join settings
    where all_instances.instance_end <= calendar_range.range_end
        and all_instances.instance_end < settings.cutoff_date
),

resource_instances as (
    select
        required_resources.resource_code,
        required_resources.cycle,
        calendar_instances.instance_start,
        calendar_instances.instance_end
    from required_resources
    inner join calendar_instances
        on calendar_instances.cycle = required_resources.cycle
        and (required_resources.valid_from is null or required_resources.valid_from <= calendar_instances.instance_end)
        and (required_resources.valid_to is null or calendar_instances.instance_end <= required_resources.valid_to)
),

valid_delivery_days as (
    select distinct
        resource_code,
        delivered_date
    from deliveries
    where valid_count >= 1
),

delivered_instances as (
    select
        resource_instances.resource_code,
        resource_instances.cycle,
        resource_instances.instance_start,
        resource_instances.instance_end,
        count(valid_delivery_days.delivered_date) > 0 as is_delivered
    from resource_instances
    left join valid_delivery_days
        on valid_delivery_days.resource_code = resource_instances.resource_code
        and valid_delivery_days.delivered_date between resource_instances.instance_start and resource_instances.instance_end
    group by
        resource_instances.resource_code,
        resource_instances.cycle,
        resource_instances.instance_start,
        resource_instances.instance_end
),

final as (
    select
        cast(resource_code as varchar) as resource_code,
        cast(cycle as varchar) as cycle,
        cast(instance_start as date) as instance_start,
        cast(instance_end as date) as instance_end,
        cast(is_delivered as boolean) as is_delivered
    from delivered_instances
)

select * from final
