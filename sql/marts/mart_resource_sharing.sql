-- name: mart_resource_sharing
-- description: 数据共享 drill-down — one row per data resource of the catalog in force during a period (any share
--   type), in the resource's own region: whether it counts as required in that period (is_required: unconditional or
--   conditional, and in an open period only once shared or due, exactly as mart_data_sharing counts it) and, when it
--   does, whether it was shared, due, on time and hooked up; for every resource its deliveries dated in the period's
--   counted days with their received and valid records, and its last delivery up to the period's end (before the data
--   cut-off). Summing is_required / is_shared over the rows whose region_code starts with a region's prefix gives that
--   region's required_count / shared_count in mart_data_sharing.
-- materialization: table
-- grain: (grain, period, resource_code)
-- depends_on: int_periods, int_region_scope, int_resource_periods_evaluated, seed_data_resources, stg_lake__dept_delivery
-- tests: unique(grain, period, resource_code);
--   not_null(grain, period, is_complete, data_cutoff, resource_code, resource_name, region_code, share_type,
--     update_frequency, is_required, deliveries, received_records, valid_records);
--   accepted_values(grain: month|quarter|year); accepted_values(share_type: unconditional|conditional|not_shared);
--   expression(valid_records <= received_records);
--   expression(is_required or (is_shared is null and is_due is null and is_on_time is null and is_hooked is null));
--   expression(not is_required or share_type <> 'not_shared');
--   expression(last_delivered_at is null or last_delivered_at < data_cutoff)

with

periods as (
    -- Data sharing is defined per month, quarter and year (docs/indicators.md).
    select * from int_periods
    where grain <> 'day'
),

regions as (
    select * from int_region_scope
),

evaluated as (
    select * from int_resource_periods_evaluated
),

resources as (
    select * from seed_data_resources
),

deliveries as (
    select * from stg_lake__dept_delivery
),

in_force as (
    -- Resources within the hub's scope (their region's code starts with a prefix in scope) in force in the period.
    select
        {{ period_columns('periods') }},
        resources.*
    from periods
    inner join resources
        on (resources.valid_from is null or resources.valid_from <= periods.period_end)
        and (resources.valid_to is null or resources.valid_to >= periods.period_start)
    where exists (
        select 1 from regions
        where starts_with(resources.region_code, regions.region_prefix)
    )
),

delivered as (
    select
        in_force.grain,
        in_force.period,
        in_force.resource_code,
        count(deliveries.delivery_id) as deliveries,
        coalesce(sum(deliveries.record_count), 0) as received_records,
        coalesce(sum(deliveries.valid_count), 0) as valid_records
    from in_force
    left join deliveries
        on deliveries.resource_code = in_force.resource_code
        and deliveries.delivered_date between in_force.period_start and in_force.counted_end
    group by in_force.grain, in_force.period, in_force.resource_code
),

last_delivered as (
    select
        in_force.grain,
        in_force.period,
        in_force.resource_code,
        max(deliveries.delivered_at) as last_delivered_at
    from in_force
    inner join deliveries
        on deliveries.resource_code = in_force.resource_code
        and deliveries.delivered_date <= in_force.period_end
        and deliveries.delivered_at < in_force.data_cutoff
    group by in_force.grain, in_force.period, in_force.resource_code
),

joined as (
    select
        {{ period_columns('in_force') }},
        in_force.resource_code,
        in_force.name as resource_name,
        in_force.department_code,
        in_force.region_code,
        in_force.share_type,
        in_force.update_frequency,
        coalesce(evaluated.is_required, false) as is_required,
        case when evaluated.is_required then evaluated.is_shared end as is_shared,
        case when evaluated.is_required then evaluated.is_due end as is_due,
        case when evaluated.is_required then evaluated.is_on_time end as is_on_time,
        case when evaluated.is_required then evaluated.is_hooked end as is_hooked,
        delivered.deliveries,
        delivered.received_records,
        delivered.valid_records,
        last_delivered.last_delivered_at
    from in_force
    inner join delivered
        on delivered.grain = in_force.grain
        and delivered.period = in_force.period
        and delivered.resource_code = in_force.resource_code
    left join evaluated
        on evaluated.grain = in_force.grain
        and evaluated.period = in_force.period
        and evaluated.resource_code = in_force.resource_code
    left join last_delivered
        on last_delivered.grain = in_force.grain
        and last_delivered.period = in_force.period
        and last_delivered.resource_code = in_force.resource_code
),

final as (
    select
        {{ typed_period_columns() }},
        cast(resource_code as varchar) as resource_code,
        cast(resource_name as varchar) as resource_name,
        cast(department_code as varchar) as department_code,
        cast(region_code as varchar) as region_code,
        cast(share_type as varchar) as share_type,
        cast(update_frequency as varchar) as update_frequency,
        cast(is_required as boolean) as is_required,
        cast(is_shared as boolean) as is_shared,
        cast(is_due as boolean) as is_due,
        cast(is_on_time as boolean) as is_on_time,
        cast(is_hooked as boolean) as is_hooked,
        cast(deliveries as bigint) as deliveries,
        cast(received_records as bigint) as received_records,
        cast(valid_records as bigint) as valid_records,
        cast(last_delivered_at as timestamptz) as last_delivered_at
    from joined
)

select * from final
