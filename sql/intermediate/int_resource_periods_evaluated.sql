-- name: int_resource_periods_evaluated
-- description: For each required data resource in force during a period: shared (a delivery with valid_count >= 1
--   dated inside its sharing window), due (at least one cycle instance ends in the period), on time (every such
--   instance has a valid delivery within its own days) and hooked up (any delivery dated on or before the period's end).
--   is_required: counted in the period's required resources — always in a complete period; in an open period only
--   once shared or due (a resource whose first instance in the period is not over yet has not been missed).
-- materialization: table
-- grain: (grain, period, resource_code)
-- depends_on: int_resource_windows, int_resource_instances, stg_lake__dept_delivery
-- tests: unique(grain, period, resource_code); not_null(is_shared, is_due, is_on_time, is_hooked, is_required);
--   expression(not is_on_time or is_due); expression(is_required = (is_complete or is_shared or is_due))

with

windows as (
    select * from int_resource_windows
),

instances as (
    select * from int_resource_instances
),

deliveries as (
    select * from stg_lake__dept_delivery
),

valid_delivery_days as (
    select distinct
        resource_code,
        delivered_date
    from deliveries
    where valid_count >= 1
),

first_deliveries as (
    select
        resource_code,
        min(delivered_date) as first_delivered_date
    from deliveries
    group by resource_code
),

shared as (
    select
        windows.grain,
        windows.period,
        windows.resource_code,
        count(valid_delivery_days.delivered_date) > 0 as is_shared
    from windows
    left join valid_delivery_days
        on valid_delivery_days.resource_code = windows.resource_code
        and valid_delivery_days.delivered_date between windows.window_start and windows.window_end
    group by windows.grain, windows.period, windows.resource_code
),

timeliness as (
    select
        windows.grain,
        windows.period,
        windows.resource_code,
        count(*) as due_instance_count,
        bool_and(instances.is_delivered) as is_every_instance_delivered
    from windows
    inner join instances
        on instances.resource_code = windows.resource_code
        and instances.instance_end between windows.period_start and windows.period_end
    group by windows.grain, windows.period, windows.resource_code
),

evaluated as (
    select
        {{ period_columns('windows') }},
        windows.resource_code,
        windows.resource_region_code,
        windows.update_frequency,
        windows.window_start,
        windows.window_end,
        shared.is_shared,
        coalesce(timeliness.due_instance_count, 0) as due_instance_count,
        coalesce(timeliness.due_instance_count, 0) > 0 as is_due,
        coalesce(timeliness.is_every_instance_delivered, false) as is_on_time,
        coalesce(first_deliveries.first_delivered_date <= windows.period_end, false) as is_hooked
    from windows
    inner join shared
        on shared.grain = windows.grain
        and shared.period = windows.period
        and shared.resource_code = windows.resource_code
    left join timeliness
        on timeliness.grain = windows.grain
        and timeliness.period = windows.period
        and timeliness.resource_code = windows.resource_code
    left join first_deliveries
        on first_deliveries.resource_code = windows.resource_code
),

final as (
    select
        {{ typed_period_columns() }},
        cast(resource_code as varchar) as resource_code,
        cast(resource_region_code as varchar) as resource_region_code,
        cast(update_frequency as varchar) as update_frequency,
        cast(window_start as date) as window_start,
        cast(window_end as date) as window_end,
        cast(is_shared as boolean) as is_shared,
        cast(due_instance_count as bigint) as due_instance_count,
        cast(is_due as boolean) as is_due,
        cast(is_on_time as boolean) as is_on_time,
        cast(is_hooked as boolean) as is_hooked,
        cast(is_complete or is_shared or is_due as boolean) as is_required
    from evaluated
)

select * from final
