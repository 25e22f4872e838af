-- name: stg_lake__hotline_case
-- description: Landed 12345 hotline case versions, one row per (case_id, status) — the latest version: the newest
--   updated_at (the source's update time), then, for equal or missing update times, the first landed copy (lowest
--   _ingested_at, then _topic, _partition, _offset) — with the Asia/Shanghai day the case was received.
-- materialization: view
-- grain: (case_id, status)
-- tests: unique(case_id, status); not_null(received_date)

with

landed as (
    select * from {{ source('lake', 'hotline_case') }}
),

deduplicated as (
    select *
    from landed
    qualify row_number() over (
        partition by case_id, status
        order by updated_at desc nulls last, _ingested_at, _topic, _partition, _offset
    ) = 1
),

final as (
    select
        cast(case_id as varchar) as case_id,
        cast(received_at as timestamptz) as received_at,
        {{ shanghai_date('received_at') }} as received_date,
        cast(channel as varchar) as channel,
        cast(request_type as varchar) as request_type,
        cast(category as varchar) as category,
        cast(region_code as varchar) as region_code,
        cast(department_code as varchar) as department_code,
        cast(status as varchar) as status,
        cast(updated_at as timestamptz) as updated_at,
        cast(responded_at as timestamptz) as responded_at,
        cast(closed_at as timestamptz) as closed_at,
        cast(deadline_at as timestamptz) as deadline_at,
        cast(contacted as boolean) as is_contacted,
        cast(resolved as boolean) as is_resolved,
        cast(satisfaction as varchar) as satisfaction,
        cast(caller_hash as varchar) as caller_hash,
        {{ lineage_columns() }}
    from deduplicated
)

select * from final
