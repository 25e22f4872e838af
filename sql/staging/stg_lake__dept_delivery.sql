-- name: stg_lake__dept_delivery
-- description: Landed department deliveries of catalogued data resources, one row per delivery_id — the first
--   landed copy (lowest _ingested_at, then _topic, _partition, _offset) — with the Asia/Shanghai day of the delivery.
-- materialization: view
-- grain: (delivery_id)
-- tests: unique(delivery_id); not_null(delivered_date)

with

landed as (
    select * from {{ source('lake', 'dept_delivery') }}
),

deduplicated as (
    {{ first_landed('landed', 'delivery_id') }}
),

final as (
    select
        cast(delivery_id as varchar) as delivery_id,
        cast(resource_code as varchar) as resource_code,
        cast(department_code as varchar) as department_code,
        cast(region_code as varchar) as region_code,
        cast(delivered_at as timestamptz) as delivered_at,
        {{ shanghai_date('delivered_at') }} as delivered_date,
        cast(source_file as varchar) as source_file,
        cast(record_count as bigint) as record_count,
        cast(valid_count as bigint) as valid_count,
        cast(checksum as varchar) as checksum,
        {{ lineage_columns() }}
    from deduplicated
)

select * from final
