-- name: int_sensor_presence_days
-- description: Which device types sent readings in which region on which Asia/Shanghai day (the readings' own
--   device_type and region_code, registered or not), with how many: the sensor presence key-scenario coverage
--   checks. One pass over the lake day's rows; incremental by that day.
-- materialization: incremental
-- incremental_by: observed_date
-- grain: (device_type, region_code, observed_date)
-- depends_on: stg_lake__sensor_reading
-- tests: unique(device_type, region_code, observed_date); not_null(device_type, region_code, observed_date, records)

with

landed as (
    select * from stg_lake__sensor_reading
),

final as (
    select
        cast(device_type as varchar) as device_type,
        cast(region_code as varchar) as region_code,
        cast(observed_date as date) as observed_date,
        cast(count(*) as bigint) as records
    from landed
    group by all
)

select * from final
