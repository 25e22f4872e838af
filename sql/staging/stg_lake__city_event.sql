-- name: stg_lake__city_event
-- description: Landed city event snapshots, one row per (event_id, status) — the first landed copy
--   (lowest _ingested_at, then _topic, _partition, _offset) — with the Asia/Shanghai days it was reported and closed.
-- materialization: view
-- grain: (event_id, status)
-- tests: unique(event_id, status); not_null(reported_date)

with

landed as (
    select * from {{ source('lake', 'city_event') }}
),

deduplicated as (
    {{ first_landed('landed', 'event_id, status') }}
),

final as (
    select
        cast(event_id as varchar) as event_id,
        cast(source_kind as varchar) as source_kind,
        cast(source_ref as varchar) as source_ref,
        cast(event_class as varchar) as event_class,
        cast(region_code as varchar) as region_code,
        cast(grid_code as varchar) as grid_code,
        cast(reported_at as timestamptz) as reported_at,
        {{ shanghai_date('reported_at') }} as reported_date,
        cast(registered_at as timestamptz) as registered_at,
        cast(dispatched_at as timestamptz) as dispatched_at,
        cast(handled_at as timestamptz) as handled_at,
        cast(verified_at as timestamptz) as verified_at,
        cast(closed_at as timestamptz) as closed_at,
        {{ shanghai_date('closed_at') }} as closed_date,
        cast(deadline_at as timestamptz) as deadline_at,
        cast(status as varchar) as status,
        {{ lineage_columns() }}
    from deduplicated
)

select * from final
