-- name: stg_lake__sensor_reading
-- description: Landed sensor readings, one row per (device_id, metric, observed_at) — the first landed copy
--   (lowest _ingested_at, then _topic, _partition, _offset) — with the Asia/Shanghai day of the observation.
-- materialization: view
-- grain: (device_id, metric, observed_at)
-- tests: unique(device_id, metric, observed_at); not_null(observed_date)

with

landed as (
    select * from {{ source('lake', 'sensor_reading') }}
),

deduplicated as (
    select *
    from landed
    qualify row_number() over (
        partition by device_id, metric, observed_at
        order by _ingested_at, _topic, _partition, _offset
    ) = 1
),

final as (
    select
        cast(device_id as varchar) as device_id,
        cast(device_type as varchar) as device_type,
        cast(metric as varchar) as metric,
        cast(value as double) as value,
        cast(unit as varchar) as unit,
        cast(observed_at as timestamptz) as observed_at,
        cast(timezone('UTC', cast(observed_at as timestamptz)) + interval 8 hour as date) as observed_date,
        cast(region_code as varchar) as region_code,
        cast(grid_code as varchar) as grid_code,
        cast(lon as double) as lon,
        cast(lat as double) as lat,
        cast(_source as varchar) as _source,
        cast(_ingested_at as timestamptz) as _ingested_at,
        cast(_topic as varchar) as _topic,
        cast(_partition as integer) as _partition,
        cast(_offset as bigint) as _offset
    from deduplicated
)

select * from final
