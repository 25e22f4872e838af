-- name: stg_lake__video_alert
-- description: Landed video alert snapshots, one row per (alert_id, status) — the first landed copy
--   (lowest _ingested_at, then _topic, _partition, _offset) — with the Asia/Shanghai day the event occurred.
-- materialization: view
-- grain: (alert_id, status)
-- tests: unique(alert_id, status); not_null(occurred_date)

with

landed as (
    select * from {{ source('lake', 'video_alert') }}
),

deduplicated as (
    {{ first_landed('landed', 'alert_id, status') }}
),

final as (
    select
        cast(alert_id as varchar) as alert_id,
        cast(camera_id as varchar) as camera_id,
        cast(event_type as varchar) as event_type,
        cast(vendor_code as varchar) as vendor_code,
        cast(confidence as double) as confidence,
        cast(occurred_at as timestamptz) as occurred_at,
        {{ shanghai_date('occurred_at') }} as occurred_date,
        cast(region_code as varchar) as region_code,
        cast(lon as double) as lon,
        cast(lat as double) as lat,
        cast(image_url as varchar) as image_url,
        cast(status as varchar) as status,
        cast(status_at as timestamptz) as status_at,
        {{ lineage_columns() }}
    from deduplicated
)

select * from final
