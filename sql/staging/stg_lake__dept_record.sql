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
    select *
    from landed
    qualify row_number() over (
        partition by delivery_id, line
        order by _ingested_at, _topic, _partition, _offset
    ) = 1
),

final as (
    select
        cast(delivery_id as varchar) as delivery_id,
        cast(resource_code as varchar) as resource_code,
        cast(region_code as varchar) as region_code,
        cast(delivered_at as timestamptz) as delivered_at,
        cast(timezone('UTC', cast(delivered_at as timestamptz)) + interval 8 hour as date) as delivered_date,
        cast(line as bigint) as line,
        cast(record as varchar) as record,
        cast(_source as varchar) as _source,
        cast(_ingested_at as timestamptz) as _ingested_at,
        cast(_topic as varchar) as _topic,
        cast(_partition as integer) as _partition,
        cast(_offset as bigint) as _offset
    from deduplicated
)

select * from final
