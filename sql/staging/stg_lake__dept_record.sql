-- name: stg_lake__dept_record
-- description: Landed department records (JSON text), one row per (delivery_id, line) — the first landed copy
--   (lowest _ingested_at, then _topic, _partition, _offset) — with the Asia/Shanghai day of their delivery.
-- materialization: view
-- grain: (delivery_id, line)
-- tests: unique(delivery_id, line); not_null(delivered_date)

with

landed as (
    select * from {{ source('lake', 'dept_record') }}
),

deduplicated as (
    {{ first_landed('landed', 'delivery_id, line') }}
),

final as (
    select
        cast(delivery_id as varchar) as delivery_id,
        cast(resource_code as varchar) as resource_code,
        cast(region_code as varchar) as region_code,
        cast(delivered_at as timestamptz) as delivered_at,
        {{ shanghai_date('delivered_at') }} as delivered_date,
        cast(line as bigint) as line,
        cast(record as varchar) as record,
        {{ lineage_columns() }}
    from deduplicated
)

select * from final
