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
    {{ first_landed('landed', 'device_id, metric, observed_at') }}
),

final as (
    select
        cast(device_id as varchar) as device_id,
        cast(device_type as varchar) as device_type,
        cast(metric as varchar) as metric,
        cast(value as double) as value,
        cast(unit as varchar) as unit,
        cast(observed_at as timestamptz) as observed_at,
        {{ shanghai_date('observed_at') }} as observed_date,
        cast(region_code as varchar) as region_code,
        cast(grid_code as varchar) as grid_code,
        cast(lon as double) as lon,
        cast(lat as double) as lat,
        {{ lineage_columns() }}
    from deduplicated
)

select * from final
